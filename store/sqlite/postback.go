package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

var _ payments.PostbackStore = (*Store)(nil)

// Postbacks live in four tables (migration 0006): endpoints, messages,
// deliveries (one message to one endpoint, in queue order) and their
// attempts. Every write goes through the writer, so a claim's lease is
// taken under the database's one write lock and no delivery is leased to
// two owners, even across processes sharing the file.

// deliverySelect joins each delivery with its message, which it carries.
const deliverySelect = `SELECT d.seq, d.endpoint_id, d.state, d.attempts, d.next_attempt, d.last_status, d.last_error,
	d.lease_owner, d.lease_until, m.id, m.type, m.payment_id, m.body, m.created_at
	FROM {{p}}postback_deliveries d JOIN {{p}}postback_messages m ON m.seq = d.message_seq`

// deliveryOf selects the delivery of the message whose id is the first
// parameter to the endpoint that is the second, through the unique index
// on (message_seq, endpoint_id).
const deliveryOf = `message_seq = (SELECT seq FROM {{p}}postback_messages WHERE id = ?) AND endpoint_id = ?`

// queuePostbacks writes, in the batch's transaction, each message that an
// enabled endpoint wants and a pending delivery of it to every such
// endpoint, due at once. It reads the endpoints in the same transaction,
// so a message is fanned out to exactly the endpoints enabled when its
// batch commits. With no endpoint wanting anything it writes nothing.
//
// It runs one statement per message wanted, and one more for all their
// deliveries, not one per delivery: a batch's statements all run under the
// write lock that every other writer waits for.
func (s *Store) queuePostbacks(ctx context.Context, tx querier, msgs []payments.Message) error {
	endpoints, err := enabledEndpoints(ctx, tx)
	if err != nil || len(endpoints) == 0 {
		return err
	}
	// The endpoint goes into the statement by its seq, not its id: JSON
	// would turn an id that is not UTF-8 into another string.
	var deliveries [][3]int64 // message seq, endpoint seq, next attempt
	for i := range msgs {
		m := &msgs[i]
		var messageSeq int64
		for _, ep := range endpoints {
			if len(ep.events) > 0 && !slices.Contains(ep.events, m.Type) {
				continue
			}
			if messageSeq == 0 {
				if messageSeq, err = insertMessage(ctx, tx, m); err != nil {
					return err
				}
			}
			deliveries = append(deliveries, [3]int64{messageSeq, ep.seq, micros(m.CreatedAt)})
		}
	}
	if len(deliveries) == 0 {
		return nil
	}
	rows, err := json.Marshal(deliveries)
	if err != nil {
		return fmt.Errorf("sqlite: queue postbacks: %w", err)
	}
	// ORDER BY key inserts them in message order, then endpoint order, so
	// that their seqs, and the listings, follow it.
	if _, err := tx.exec(ctx, `INSERT INTO {{p}}postback_deliveries (message_seq, endpoint_id, state, next_attempt)
		SELECT d.value ->> 0, e.id, 'pending', d.value ->> 2
		FROM json_each(?) AS d JOIN {{p}}postback_endpoints AS e ON e.seq = d.value ->> 1
		ORDER BY d.key`, string(rows)); err != nil {
		return fmt.Errorf("sqlite: queue postbacks: %w", err)
	}
	return nil
}

func insertMessage(ctx context.Context, tx querier, m *payments.Message) (int64, error) {
	body := m.Body
	if body == nil {
		body = []byte{} // NOT NULL: an empty body is still a body
	}
	res, err := tx.exec(ctx, `INSERT INTO {{p}}postback_messages (id, type, payment_id, body, created_at) VALUES (?, ?, ?, ?, ?)`,
		m.ID, string(m.Type), m.PaymentID, body, micros(m.CreatedAt))
	if err != nil {
		return 0, fmt.Errorf("sqlite: insert postback %s: %w", m.ID, err)
	}
	seq, err := res.LastInsertId()
	if err != nil {
		return 0, fmt.Errorf("sqlite: insert postback %s: %w", m.ID, err)
	}
	return seq, nil
}

// ClaimDeliveries implements payments.PostbackStore: it leases up to
// c.Limit due deliveries of enabled endpoints, oldest first, in the write
// transaction, as ClaimSync leases sync tasks.
func (s *Store) ClaimDeliveries(ctx context.Context, c payments.DeliveryClaim) ([]payments.Delivery, error) {
	var out []payments.Delivery
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		out = nil
		now := micros(c.Now)
		rows, err := tx.query(ctx, `UPDATE {{p}}postback_deliveries SET lease_owner = ?, lease_until = ?
			WHERE seq IN (SELECT d.seq FROM {{p}}postback_deliveries d
				JOIN {{p}}postback_endpoints e ON e.id = d.endpoint_id
				WHERE d.state = 'pending' AND d.next_attempt <= ? AND (d.lease_until IS NULL OR d.lease_until <= ?)
					AND e.disabled_at IS NULL
				ORDER BY d.seq LIMIT ?)
			RETURNING seq`,
			c.Owner, micros(c.Now.Add(c.Lease)), now, now, cursor.Limit(c.Limit))
		if err != nil {
			return fmt.Errorf("sqlite: claim postback deliveries: %w", err)
		}
		claimed, err := scanSeqs(rows)
		if err != nil {
			return fmt.Errorf("sqlite: claim postback deliveries: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		// RETURNING cannot join, and its order is unspecified: read the
		// claimed deliveries back in queue order, with their messages.
		seqs, _ := json.Marshal(claimed)
		out, _, err = listDeliveries(ctx, tx, ` WHERE d.seq IN (SELECT value FROM json_each(?)) ORDER BY d.seq`, string(seqs))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// scanSeqs reads a single integer column and closes rows.
func scanSeqs(rows *sql.Rows) ([]int64, error) {
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var seq int64
		if err := rows.Scan(&seq); err != nil {
			return nil, err
		}
		out = append(out, seq)
	}
	return out, rows.Err()
}

// SettleDeliveries implements payments.PostbackStore: in one write
// transaction it ends each settlement's lease with the delivery's new
// state and journals its attempt, in order, so that a delivery named twice
// is settled by the first and refused to the second, as two calls would.
// A settlement is payments.ErrConflict when the delivery is no longer
// pending under its Owner's lease (another owner's, redelivered, or
// settled), and payments.ErrNotFound when there is no such delivery. A
// statement failing rolls the whole transaction back.
func (s *Store) SettleDeliveries(ctx context.Context, list []payments.DeliverySettlement) ([]error, error) {
	if len(list) == 0 {
		return []error{}, nil
	}
	var errs []error
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		errs = make([]error, len(list)) // afresh: the writer may run this more than once
		for i := range list {
			refused, err := settleDelivery(ctx, tx, &list[i])
			if err != nil {
				return err
			}
			errs[i] = refused
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return errs, nil
}

// settleDelivery settles one delivery in tx. refused says why it did not
// take; err is a statement failing.
func settleDelivery(ctx context.Context, tx querier, st *payments.DeliverySettlement) (refused, err error) {
	if !st.State.Valid() {
		return fmt.Errorf("sqlite: settle delivery %s to %s: state %q: %w", st.MessageID, st.EndpointID, st.State, payments.ErrInvalidInput), nil
	}
	a := st.Attempt.Bounded()
	var deliverySeq int64
	err = tx.queryRow(ctx, `UPDATE {{p}}postback_deliveries
		SET state = ?, attempts = ?, next_attempt = ?, last_status = ?, last_error = ?, lease_owner = '', lease_until = NULL
		WHERE `+deliveryOf+` AND state = 'pending' AND lease_owner = ? AND lease_owner <> ''
		RETURNING seq`,
		string(st.State), st.Attempts, micros(st.NextAttempt), a.Status, a.Error,
		st.MessageID, st.EndpointID, st.Owner).Scan(&deliverySeq)
	if errors.Is(err, sql.ErrNoRows) {
		return refusedSettlement(ctx, tx, st)
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: settle delivery %s to %s: %w", st.MessageID, st.EndpointID, err)
	}
	if _, err := tx.exec(ctx, `INSERT INTO {{p}}postback_attempts (delivery_seq, at, status, latency, response, error)
		VALUES (?, ?, ?, ?, ?, ?)`,
		deliverySeq, micros(a.At), a.Status, int64(a.Latency), a.Response, a.Error); err != nil {
		return nil, fmt.Errorf("sqlite: journal attempt at %s to %s: %w", st.MessageID, st.EndpointID, err)
	}
	return nil, nil
}

// refusedSettlement tells why a settlement changed nothing: refused is
// payments.ErrNotFound or payments.ErrConflict, err a failed read.
func refusedSettlement(ctx context.Context, q querier, st *payments.DeliverySettlement) (refused, err error) {
	var state, owner string
	err = q.queryRow(ctx, `SELECT state, lease_owner FROM {{p}}postback_deliveries WHERE `+deliveryOf,
		st.MessageID, st.EndpointID).Scan(&state, &owner)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: delivery %s to %s: %w", st.MessageID, st.EndpointID, payments.ErrNotFound), nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: delivery %s to %s: %w", st.MessageID, st.EndpointID, err)
	}
	return fmt.Errorf("sqlite: delivery %s to %s (%s, leased to %q) is not leased to %s: %w",
		st.MessageID, st.EndpointID, state, owner, st.Owner, payments.ErrConflict), nil
}

// Deliveries implements payments.PostbackStore: deliveries in queue order
// (oldest message first), filtered by endpoint and state; the cursor is the
// last delivery's seq.
func (s *Store) Deliveries(ctx context.Context, f payments.DeliveryFilter) ([]payments.Delivery, string, error) {
	after := int64(0) // seqs start at 1
	if f.After != "" {
		seq, err := cursor.DecodeSeq(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list deliveries: %w", err)
		}
		after = seq
	}
	q, err := s.read()
	if err != nil {
		return nil, "", err
	}
	where, args := ` WHERE d.seq > ?`, []any{after}
	if f.EndpointID != "" {
		where, args = where+` AND d.endpoint_id = ?`, append(args, f.EndpointID)
	}
	if f.State != "" {
		// Pending and failed deliveries have an index each; a bound
		// parameter cannot show SQLite that one applies, so the state is
		// spelled out.
		where += ` AND d.state = '` + deliveryStateLiteral(f.State) + `'`
	}
	limit := cursor.Limit(f.Limit)
	list, seqs, err := listDeliveries(ctx, q, where+` ORDER BY d.seq LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", err
	}
	return page(list, limit, func(last int) string { return cursor.EncodeSeq(seqs[last]) })
}

// deliveryStateLiteral is st as it may appear in SQL text: one of the
// states the table's CHECK admits, or one that matches no delivery.
func deliveryStateLiteral(st payments.DeliveryState) string {
	if st.Valid() {
		return string(st)
	}
	return "none"
}

// listDeliveries returns the deliveries the query selects and their seqs.
func listDeliveries(ctx context.Context, q querier, tail string, args ...any) ([]payments.Delivery, []int64, error) {
	rows, err := q.query(ctx, deliverySelect+tail, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: list deliveries: %w", err)
	}
	defer rows.Close()
	var (
		out  []payments.Delivery
		seqs []int64
	)
	for rows.Next() {
		d, seq, err := scanDelivery(rows)
		if err != nil {
			return nil, nil, err
		}
		out, seqs = append(out, *d), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: list deliveries: %w", err)
	}
	return out, seqs, nil
}

func scanDelivery(row scanner) (*payments.Delivery, int64, error) {
	var (
		d                      payments.Delivery
		seq                    int64
		state, messageType     string
		nextAttempt, createdAt int64
		leaseUntil             sql.NullInt64
	)
	m := &d.Message
	err := row.Scan(&seq, &d.EndpointID, &state, &d.Attempts, &nextAttempt, &d.LastStatus, &d.LastError,
		&d.LeaseOwner, &leaseUntil, &m.ID, &messageType, &m.PaymentID, &m.Body, &createdAt)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: read delivery: %w", err)
	}
	d.State, m.Type = payments.DeliveryState(state), payments.EventType(messageType)
	d.NextAttempt, d.LeaseUntil = fromMicros(nextAttempt), fromOptionalMicros(leaseUntil)
	m.CreatedAt = fromMicros(createdAt)
	return &d, seq, nil
}

// Attempts implements payments.PostbackStore: one delivery's attempts,
// oldest first; none for an unknown delivery.
func (s *Store) Attempts(ctx context.Context, messageID, endpointID string) ([]payments.Attempt, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT a.at, a.status, a.latency, a.response, a.error FROM {{p}}postback_attempts a
		WHERE a.delivery_seq = (SELECT seq FROM {{p}}postback_deliveries WHERE `+deliveryOf+`)
		ORDER BY a.seq`, messageID, endpointID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: attempts at %s to %s: %w", messageID, endpointID, err)
	}
	defer rows.Close()
	var out []payments.Attempt
	for rows.Next() {
		a := payments.Attempt{MessageID: messageID, EndpointID: endpointID}
		var at, latency int64
		if err := rows.Scan(&at, &a.Status, &latency, &a.Response, &a.Error); err != nil {
			return nil, fmt.Errorf("sqlite: attempts at %s to %s: %w", messageID, endpointID, err)
		}
		a.At, a.Latency = fromMicros(at), time.Duration(latency)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: attempts at %s to %s: %w", messageID, endpointID, err)
	}
	return out, nil
}

// Redeliver implements payments.PostbackStore: the delivery becomes
// pending, due at now and unleased, whatever its state, with its attempts
// kept; a lease it had is void, so its owner's settlement is
// payments.ErrConflict.
func (s *Store) Redeliver(ctx context.Context, messageID, endpointID string, now time.Time) error {
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.exec(ctx, `UPDATE {{p}}postback_deliveries
			SET state = 'pending', next_attempt = ?, lease_owner = '', lease_until = NULL
			WHERE `+deliveryOf, micros(now), messageID, endpointID)
		if err != nil {
			return fmt.Errorf("sqlite: redeliver %s to %s: %w", messageID, endpointID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: redeliver %s to %s: %w", messageID, endpointID, err)
		}
		if n == 0 {
			return fmt.Errorf("sqlite: delivery %s to %s: %w", messageID, endpointID, payments.ErrNotFound)
		}
		return nil
	})
}

// FailingSince implements payments.PostbackStore: for each enabled
// endpoint with a pending delivery that has been tried, the creation time
// of the oldest such delivery's message.
func (s *Store) FailingSince(ctx context.Context) (map[string]time.Time, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	// INDEXED BY: left to itself, SQLite reads every delivery through the
	// index by endpoint to group without sorting, when the pending ones,
	// a few, are all it needs; it runs at every delivery pass.
	rows, err := q.query(ctx, `SELECT d.endpoint_id, MIN(m.created_at)
		FROM {{p}}postback_deliveries d INDEXED BY {{p}}postback_deliveries_pending
		JOIN {{p}}postback_messages m ON m.seq = d.message_seq
		JOIN {{p}}postback_endpoints e ON e.id = d.endpoint_id
		WHERE d.state = 'pending' AND d.attempts > 0 AND e.disabled_at IS NULL
		GROUP BY d.endpoint_id`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: failing endpoints: %w", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var id string
		var since int64
		if err := rows.Scan(&id, &since); err != nil {
			return nil, fmt.Errorf("sqlite: failing endpoints: %w", err)
		}
		out[id] = fromMicros(since)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: failing endpoints: %w", err)
	}
	return out, nil
}
