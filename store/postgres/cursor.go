package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

var _ payments.CursorStore = (*Store)(nil)

// Cursor implements payments.CursorStore: the cursor saved under name, ""
// when none was.
func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	if err := s.usable(); err != nil {
		return "", err
	}
	var value string
	err := s.pool.QueryRow(ctx, s.sql(`SELECT value FROM {cursors} WHERE name = $1`), name).Scan(&value)
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fail("cursor "+name, err)
	}
	return value, nil
}

// SaveCursor implements payments.CursorStore: it moves the cursor name from
// prev to next in one statement, and is payments.ErrConflict when the
// cursor is no longer at prev ("" for one never saved), so that of two
// processes saving from the same prev only one moves it.
func (s *Store) SaveCursor(ctx context.Context, name, prev, next string) error {
	if name == "" {
		return fmt.Errorf("postgres: cursor without a name: %w", payments.ErrInvalidInput)
	}
	if err := s.usable(); err != nil {
		return err
	}
	query := `UPDATE {cursors} SET value = $3, updated_at = now() WHERE name = $1 AND value = $2`
	if prev == "" {
		query = `INSERT INTO {cursors} AS c (name, value, updated_at) VALUES ($1, $3, now())
			ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
			WHERE c.value = $2`
	}
	tag, err := s.pool.Exec(ctx, s.sql(query), name, prev, next)
	if err != nil {
		return fail("save cursor "+name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: cursor %s is no longer at %q: %w", name, prev, payments.ErrConflict)
	}
	return nil
}
