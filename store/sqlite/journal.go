package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/payrail/payments"
)

const notificationColumns = `id, gateway, received_at, remote_addr, header, body, verified, outcome,
	event_id, event_type, detail`

// AppendNotification implements payments.Store: it journals n as given,
// outside any batch. n.ID is required; a taken ID is payments.ErrConflict.
func (s *Store) AppendNotification(ctx context.Context, n *payments.Notification) error {
	if n.ID == "" {
		return fmt.Errorf("sqlite: notification without id: %w", payments.ErrInvalidInput)
	}
	header, err := encodeHeader(n.Header)
	if err != nil {
		return err
	}
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		return s.insertNotification(ctx, tx, n, header)
	})
}

// insertNotification journals n with its header as encodeHeader returned
// it, encoded before the write so that the writer does not spend its time
// on it; a taken id is ErrConflict.
func (s *Store) insertNotification(ctx context.Context, q querier, n *payments.Notification, header any) error {
	res, err := q.exec(ctx, `INSERT INTO {{p}}notifications (`+notificationColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Gateway, micros(n.ReceivedAt), n.RemoteAddr, header, n.Body, n.Verified, string(n.Outcome),
		n.EventID, n.EventType, n.Detail)
	if err != nil {
		return fmt.Errorf("sqlite: journal notification %s: %w", n.ID, err)
	}
	if rows, err := res.RowsAffected(); err != nil {
		return fmt.Errorf("sqlite: journal notification %s: %w", n.ID, err)
	} else if rows == 0 {
		return fmt.Errorf("sqlite: notification %s exists: %w", n.ID, payments.ErrConflict)
	}
	return nil
}

// Notification implements payments.Store; an unknown id is
// payments.ErrNotFound.
func (s *Store) Notification(ctx context.Context, id string) (*payments.Notification, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	row := q.queryRow(ctx, `SELECT `+notificationColumns+` FROM {{p}}notifications WHERE id = ?`, id)
	n, err := scanNotification(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: notification %s: %w", id, payments.ErrNotFound)
	}
	return n, err
}

// Notifications implements payments.Store: the journal, newest first by
// ReceivedAt (a slow request may be journaled after later ones), the last
// journaled first among equal times.
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	var where []string
	var args []any
	if f.Gateway != "" {
		where, args = append(where, "gateway = ?"), append(args, f.Gateway)
	}
	switch f.Outcome {
	case "":
	case payments.OutcomeRecorded, payments.OutcomeDuplicate:
		where, args = append(where, "outcome = ?"), append(args, string(f.Outcome))
	default:
		// The index by outcome holds only these; a bound parameter cannot
		// show SQLite that it applies, so its condition is repeated.
		where, args = append(where, "outcome = ?", "outcome NOT IN ('recorded', 'duplicate')"), append(args, string(f.Outcome))
	}
	query := `SELECT ` + notificationColumns + ` FROM {{p}}notifications`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY received_at DESC, seq DESC LIMIT ?`
	args = append(args, payments.EffectiveLimit(f.Limit))
	rows, err := q.query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list notifications: %w", err)
	}
	defer rows.Close()
	var out []payments.Notification
	for rows.Next() {
		n, err := scanNotification(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *n)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list notifications: %w", err)
	}
	return out, nil
}

func scanNotification(row scanner) (*payments.Notification, error) {
	var (
		n          payments.Notification
		receivedAt int64
		header     sql.NullString
		outcome    string
	)
	err := row.Scan(&n.ID, &n.Gateway, &receivedAt, &n.RemoteAddr, &header, &n.Body, &n.Verified, &outcome,
		&n.EventID, &n.EventType, &n.Detail)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read notification: %w", err)
	}
	n.ReceivedAt = fromMicros(receivedAt)
	n.Outcome = payments.Outcome(outcome)
	if n.Header, err = decodeHeader(header); err != nil {
		return nil, err
	}
	return &n, nil
}
