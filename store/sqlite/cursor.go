package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

var _ payments.CursorStore = (*Store)(nil)

// Cursor implements payments.CursorStore: the cursor saved under name, ""
// when none was.
func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	q, err := s.read()
	if err != nil {
		return "", err
	}
	var value string
	err = q.queryRow(ctx, `SELECT value FROM {{p}}cursors WHERE name = ?`, name).Scan(&value)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return "", nil
	case err != nil:
		return "", fmt.Errorf("sqlite: cursor %s: %w", name, err)
	}
	return value, nil
}

// SaveCursor implements payments.CursorStore: it moves the cursor name from
// prev to next, and is payments.ErrConflict when the cursor is no longer at
// prev ("" for one never saved).
func (s *Store) SaveCursor(ctx context.Context, name, prev, next string) error {
	if name == "" {
		return fmt.Errorf("sqlite: cursor without a name: %w", payments.ErrInvalidInput)
	}
	now := time.Now().UnixMicro()
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		var res sql.Result
		var err error
		if prev == "" {
			res, err = tx.exec(ctx, `INSERT INTO {{p}}cursors (name, value, updated_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
				WHERE {{p}}cursors.value = ''`, name, next, now)
		} else {
			res, err = tx.exec(ctx, `UPDATE {{p}}cursors SET value = ?, updated_at = ? WHERE name = ? AND value = ?`,
				next, now, name, prev)
		}
		if err != nil {
			return fmt.Errorf("sqlite: save cursor %s: %w", name, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: save cursor %s: %w", name, err)
		}
		if n == 0 {
			return fmt.Errorf("sqlite: cursor %s is no longer at %q: %w", name, prev, payments.ErrConflict)
		}
		return nil
	})
}
