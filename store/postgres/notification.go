package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

const notificationColumns = `id, gateway, received_at, remote_addr, header, body, verified, outcome,
	event_id, event_type, detail`

// AppendNotification implements payments.Store. A taken ID is
// payments.ErrConflict.
func (s *Store) AppendNotification(ctx context.Context, n *payments.Notification) error {
	if err := s.usable(); err != nil {
		return err
	}
	return s.insertNotification(ctx, s.pool, n)
}

// insertNotification journals n. The body is kept byte for byte (BYTEA):
// gateways sign the raw bytes, and a replay must verify them again.
func (s *Store) insertNotification(ctx context.Context, q querier, n *payments.Notification) error {
	if n.ID == "" {
		return fmt.Errorf("postgres: notification without id: %w", payments.ErrInvalidInput)
	}
	var header []byte
	if n.Header != nil {
		var err error
		if header, err = json.Marshal(n.Header); err != nil {
			return fmt.Errorf("postgres: encode headers of notification %s: %w", n.ID, err)
		}
	}
	var id string
	err := q.QueryRow(ctx, s.sql(`INSERT INTO {notifications} (`+notificationColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
		ON CONFLICT (id) DO NOTHING RETURNING id`),
		n.ID, n.Gateway, n.ReceivedAt, n.RemoteAddr, header, n.Body, n.Verified, string(n.Outcome),
		n.EventID, n.EventType, n.Detail,
	).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: notification %s exists: %w", n.ID, payments.ErrConflict)
	}
	return fail("journal notification "+n.ID, err)
}

// Notification implements payments.Store.
func (s *Store) Notification(ctx context.Context, id string) (*payments.Notification, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	n, err := scanNotification(s.pool.QueryRow(ctx, s.sql("SELECT "+notificationColumns+" FROM {notifications} WHERE id = $1"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: notification %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return nil, fail("read notification "+id, err)
	}
	return &n, nil
}

// Notifications implements payments.Store: newest first by ReceivedAt, and
// among equal times the last journaled first.
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	query, args := notificationsQuery(f)
	rows, err := s.pool.Query(ctx, s.sql(query), args...)
	if err != nil {
		return nil, fail("list notifications", err)
	}
	list, err := collect(rows, scanNotification)
	return list, fail("list notifications", err)
}

// notificationsQuery is the listing of the notifications f selects.
func notificationsQuery(f payments.NotificationFilter) (string, []any) {
	var w where
	w.add("gateway", f.Gateway)
	w.add("outcome", string(f.Outcome))
	switch f.Outcome {
	case "", payments.OutcomeRecorded, payments.OutcomeDuplicate:
	default:
		// The outcome index holds only the other outcomes (see the
		// migration); this is its predicate, spelled exactly as there.
		w.addPredicate("outcome NOT IN ('recorded', 'duplicate')")
	}
	query := "SELECT " + notificationColumns + " FROM {notifications}" + w.sql() +
		" ORDER BY received_at DESC, seq DESC LIMIT " + w.limit(f.Limit)
	return query, w.args
}

func scanNotification(row pgx.Row) (payments.Notification, error) {
	var (
		n          payments.Notification
		receivedAt time.Time
		header     []byte
		outcome    string
	)
	err := row.Scan(&n.ID, &n.Gateway, &receivedAt, &n.RemoteAddr, &header, &n.Body, &n.Verified, &outcome,
		&n.EventID, &n.EventType, &n.Detail)
	if err != nil {
		return n, err
	}
	n.ReceivedAt, n.Outcome = receivedAt.UTC(), payments.Outcome(outcome)
	if header != nil {
		n.Header = http.Header{}
		if err := json.Unmarshal(header, &n.Header); err != nil {
			return n, fmt.Errorf("decode headers of notification %s: %w", n.ID, err)
		}
	}
	return n, nil
}
