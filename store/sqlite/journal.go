package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

const notificationColumns = `id, gateway, received_at, remote_addr, header, body, body_len, body_sha256,
	verified, outcome, event_id, event_type, detail, replay_of, source, resolved_by`

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
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
		n.ID, n.Gateway, micros(n.ReceivedAt), n.RemoteAddr, header, n.Body, n.BodyLen, n.BodySHA256,
		n.Verified, string(n.Outcome), n.EventID, n.EventType, n.Detail, n.ReplayOf, n.Source, n.ResolvedBy)
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

// resolveNotification marks the journal row id resolved by the row
// resolvedBy, unless an earlier replay resolved it already.
func (s *Store) resolveNotification(ctx context.Context, q querier, id, resolvedBy string) error {
	if _, err := q.exec(ctx, `UPDATE {{p}}notifications SET resolved_by = ? WHERE id = ? AND resolved_by = ''`,
		resolvedBy, id); err != nil {
		return fmt.Errorf("sqlite: resolve notification %s: %w", id, err)
	}
	return nil
}

// PruneNotifications implements payments.Store. It deletes the oldest rows
// first, at most p.Limit of them in one write, so that a host trimming a
// large journal calls it again until it returns less than the limit, and a
// webhook's write never waits for more than one call's deletes.
func (s *Store) PruneNotifications(ctx context.Context, p payments.NotificationPrune) (int, error) {
	// Each condition is spelled out for SQLite, which cannot see through a
	// bound outcome: recorded and duplicate rows, most of the journal, are
	// found through the index by received_at; the others through the
	// partial index by outcome, which holds only them. A parked or failed
	// row goes only once a replay has resolved it: until then it is money
	// or a delivery waiting for the host.
	where := `outcome = ? AND received_at < ?`
	switch p.Outcome {
	case payments.OutcomeRecorded, payments.OutcomeDuplicate:
	case payments.OutcomeParked, payments.OutcomeFailed:
		where += ` AND outcome NOT IN ('recorded', 'duplicate') AND resolved_by <> ''`
	default:
		where += ` AND outcome NOT IN ('recorded', 'duplicate')`
	}
	var pruned int64
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.exec(ctx, `DELETE FROM {{p}}notifications WHERE seq IN
			(SELECT seq FROM {{p}}notifications WHERE `+where+` ORDER BY received_at, seq LIMIT ?)`,
			string(p.Outcome), micros(p.Before), cursor.Limit(p.Limit))
		if err != nil {
			return fmt.Errorf("sqlite: prune %s notifications: %w", p.Outcome, err)
		}
		if pruned, err = res.RowsAffected(); err != nil {
			return fmt.Errorf("sqlite: prune %s notifications: %w", p.Outcome, err)
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return int(pruned), nil
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
// journaled first among equal times. The cursor is the last row's
// (received_at, seq).
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, string, error) {
	var where []string
	var args []any
	if f.After != "" {
		k, err := cursor.Decode(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list notifications: %w", err)
		}
		seq, err := strconv.ParseInt(k.ID, 10, 64)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list notifications: cursor %q was not issued by this store: %w", f.After, payments.ErrInvalidInput)
		}
		where, args = append(where, "(received_at, seq) < (?, ?)"), append(args, micros(k.At), seq)
	}
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
	if f.Unresolved {
		where = append(where, "resolved_by = ''")
	}
	q, err := s.read()
	if err != nil {
		return nil, "", err
	}
	query := `SELECT seq, ` + notificationColumns + ` FROM {{p}}notifications`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY received_at DESC, seq DESC LIMIT ?`
	limit := cursor.Limit(f.Limit)
	rows, err := q.query(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list notifications: %w", err)
	}
	defer rows.Close()
	var (
		out  []payments.Notification
		seqs []int64
	)
	for rows.Next() {
		var seq int64
		n, err := scanNotification(rows, &seq)
		if err != nil {
			return nil, "", err
		}
		out, seqs = append(out, *n), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list notifications: %w", err)
	}
	return page(out, limit, func(last int) string {
		return cursor.Encode(cursor.Key{At: out[last].ReceivedAt, ID: strconv.FormatInt(seqs[last], 10)})
	})
}

// scanNotification reads the notificationColumns, after the columns
// selected before them into leading.
func scanNotification(row scanner, leading ...any) (*payments.Notification, error) {
	var (
		n          payments.Notification
		receivedAt int64
		header     sql.NullString
		outcome    string
	)
	dest := append(leading, &n.ID, &n.Gateway, &receivedAt, &n.RemoteAddr, &header, &n.Body, &n.BodyLen, &n.BodySHA256,
		&n.Verified, &outcome, &n.EventID, &n.EventType, &n.Detail, &n.ReplayOf, &n.Source, &n.ResolvedBy)
	err := row.Scan(dest...)
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
