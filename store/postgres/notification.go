package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

const notificationColumns = `id, gateway, received_at, remote_addr, header, body, body_len, body_sha256,
	verified, outcome, event_id, event_type, detail, replay_of, source, resolved_by`

// AppendNotification implements payments.Store. A taken ID is
// payments.ErrConflict.
func (s *Store) AppendNotification(ctx context.Context, n *payments.Notification) error {
	if err := s.usable(); err != nil {
		return err
	}
	args, err := notificationArgs(n)
	if err != nil {
		return err
	}
	return journaled(n, s.pool.QueryRow(ctx, s.sql(insertNotification), args...))
}

// insertNotification journals one notification, returning its id unless
// the id is taken. The body is kept byte for byte (BYTEA): gateways sign
// the raw bytes, and a replay must verify them again. Of a body that did not
// verify, which is only a prefix, body_len and body_sha256 describe the
// whole. These two and source are NULL when unset, as on nearly every row.
const insertNotification = `INSERT INTO {notifications} (` + notificationColumns + `)
	VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
	ON CONFLICT (id) DO NOTHING RETURNING id`

func notificationArgs(n *payments.Notification) ([]any, error) {
	if n.ID == "" {
		return nil, fmt.Errorf("postgres: notification without id: %w", payments.ErrInvalidInput)
	}
	header, err := headerJSON(n)
	if err != nil {
		return nil, err
	}
	return []any{n.ID, n.Gateway, n.ReceivedAt, n.RemoteAddr, header, n.Body, nullIfZero(n.BodyLen), nullIfZero(n.BodySHA256),
		n.Verified, string(n.Outcome), n.EventID, n.EventType, n.Detail, n.ReplayOf, nullIfZero(n.Source), n.ResolvedBy}, nil
}

// nullIfZero stores a notification's BodyLen, BodySHA256 and Source as
// NULL when they are unset, as they are on every delivery whose body is
// whole (see the migrations that add them).
func nullIfZero[T comparable](v T) *T {
	var zero T
	if v == zero {
		return nil
	}
	return &v
}

// journaled reads what insertNotification returned for n: no row is a
// taken id.
func journaled(n *payments.Notification, row pgx.Row) error {
	var id string
	err := row.Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return notificationTaken(n)
	}
	return fail("journal notification "+n.ID, err)
}

func notificationTaken(n *payments.Notification) error {
	return fmt.Errorf("postgres: notification %s exists: %w", n.ID, payments.ErrConflict)
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

// PruneNotifications implements payments.Store in one statement, which
// deletes the oldest rows first. Rows another transaction holds locked (a
// replay resolving one, another process pruning) are skipped, not waited
// for: processes pruning at once delete distinct rows, and what one skips
// is pruned next time.
func (s *Store) PruneNotifications(ctx context.Context, p payments.NotificationPrune) (int, error) {
	if err := s.usable(); err != nil {
		return 0, err
	}
	query, args := pruneQuery(p)
	tag, err := s.pool.Exec(ctx, s.sql(query), args...)
	if err != nil {
		return 0, fail("prune "+string(p.Outcome)+" notifications", err)
	}
	return int(tag.RowsAffected()), nil
}

// pruneQuery deletes, by primary key, the rows p selects, found through
// the index a listing of p.Outcome reads (see notificationsQuery): the
// outcome index, whose predicate it spells out, else, for the recorded and
// duplicate rows it leaves out, which are most of the journal, the
// received_at index. A parked or failed row is kept until a replay has
// resolved it, whatever the caller asks.
func pruneQuery(p payments.NotificationPrune) (string, []any) {
	// Stored times are whole microseconds, so a row read back as received
	// before p.Before is one received before p.Before rounded up to one.
	before := p.Before.Truncate(time.Microsecond)
	if before.Before(p.Before) {
		before = before.Add(time.Microsecond)
	}
	outcome := "outcome = $1"
	switch p.Outcome {
	case payments.OutcomeRecorded, payments.OutcomeDuplicate:
	default:
		outcome += " AND outcome NOT IN ('recorded', 'duplicate')"
	}
	return `DELETE FROM {notifications} WHERE id = ANY(ARRAY(
		SELECT id FROM {notifications}
		WHERE ` + outcome + ` AND received_at < $2
			AND (outcome NOT IN ('parked', 'failed') OR resolved_by <> '')
		ORDER BY received_at, seq LIMIT $3
		FOR UPDATE SKIP LOCKED))`, []any{string(p.Outcome), before, cursor.Limit(p.Limit)}
}

// Notifications implements payments.Store: newest first by ReceivedAt, and
// among equal times the last journaled first. The cursor is the last row's
// (received_at, seq), which no later row can come before: seq grows with
// every row journaled.
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, string, error) {
	l, err := notificationsQuery(f)
	rows, next, err := list(ctx, s, "notifications", l, err, func(row pgx.Row) (listedNotification, error) {
		var r listedNotification
		var err error
		r.n, err = scanNotification(row, &r.seq)
		return r, err
	}, func(r listedNotification) string {
		return cursor.Encode(cursor.Key{At: r.n.ReceivedAt, ID: strconv.FormatInt(r.seq, 10)})
	})
	if err != nil {
		return nil, "", err
	}
	return column(rows, func(r listedNotification) payments.Notification { return r.n }), next, nil
}

// listedNotification is a journal row with its place in the journal.
type listedNotification struct {
	n   payments.Notification
	seq int64
}

// notificationsQuery is the page of the journal f selects.
func notificationsQuery(f payments.NotificationFilter) (listing, error) {
	var w where
	w.add("gateway", f.Gateway)
	w.add("outcome", string(f.Outcome))
	// The index the listing reads, by the column before (received_at, seq)
	// in it (indexed), and its value: the outcome index, which holds only
	// the outcomes other than recorded and duplicate (see the migration),
	// else the received_at index alone, which a listing by gateway reads
	// too, skipping the other gateways' rows (migration 0008).
	var indexed, value string
	switch f.Outcome {
	case "", payments.OutcomeRecorded, payments.OutcomeDuplicate:
	default:
		// The outcome index's predicate, spelled exactly as there.
		w.addPredicate("outcome NOT IN ('recorded', 'duplicate')")
		indexed, value = "outcome", string(f.Outcome)
	}
	if f.Unresolved {
		w.addPredicate("resolved_by = ''")
	}
	if f.After != "" {
		k, err := cursor.Decode(f.After)
		if err != nil {
			return listing{}, err
		}
		seq, err := strconv.ParseInt(k.ID, 10, 64)
		if err != nil {
			return listing{}, fmt.Errorf("cursor %q was not issued by this store: %w", f.After, payments.ErrInvalidInput)
		}
		// The row comparison starts with the column of the index the
		// listing reads, which the equality above fixes: it bounds a scan
		// of that index and of no other.
		if indexed == "" {
			w.addArgs("(received_at, seq) < (%s, %s)", k.At, seq)
		} else {
			w.addArgs("("+indexed+", received_at, seq) < (%s, %s, %s)", value, k.At, seq)
		}
	}
	return w.listing("SELECT "+notificationColumns+", seq FROM {notifications}", "received_at DESC, seq DESC", f.Limit), nil
}

// scanNotification reads a row of notificationColumns, and extra columns
// after them into extra.
func scanNotification(row pgx.Row, extra ...any) (payments.Notification, error) {
	var (
		n          payments.Notification
		receivedAt time.Time
		header     []byte
		outcome    string
		bodyLen    *int64
		bodySHA256 *string
		source     *string
	)
	err := row.Scan(append([]any{&n.ID, &n.Gateway, &receivedAt, &n.RemoteAddr, &header, &n.Body, &bodyLen, &bodySHA256,
		&n.Verified, &outcome, &n.EventID, &n.EventType, &n.Detail, &n.ReplayOf, &source, &n.ResolvedBy}, extra...)...)
	if err != nil {
		return n, err
	}
	n.ReceivedAt, n.Outcome = receivedAt.UTC(), payments.Outcome(outcome)
	if bodyLen != nil {
		n.BodyLen = *bodyLen
	}
	if bodySHA256 != nil {
		n.BodySHA256 = *bodySHA256
	}
	if source != nil {
		n.Source = *source
	}
	if header != nil {
		n.Header = http.Header{}
		if err := json.Unmarshal(header, &n.Header); err != nil {
			return n, fmt.Errorf("decode headers of notification %s: %w", n.ID, err)
		}
	}
	return n, nil
}
