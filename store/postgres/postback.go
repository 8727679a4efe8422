package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// Postbacks live in the tables of migration 0006: endpoints, messages, a
// delivery per message and endpoint, and attempts. A Commit queues a
// plan's messages with queuePostbacks, in its transaction; the methods
// below serve the Service's delivery loop and the operator's listings.

// queuePostbacks inserts messages ($1…$5, one array per column) and, in
// the same statement, a pending delivery of each to every enabled endpoint
// that wants its type, due at once: one statement more in the pipeline
// that writes the rest of the batch, so postbacks cost no round trip.
// Deliveries are queued in message order, then endpoint order, which is
// the order their seq numbers, and so the listings, follow.
var queuePostbacks = `WITH m AS (
		INSERT INTO {postback_messages} (id, event_type, payment_id, body, created_at)
		SELECT id, event_type, payment_id, body, created_at
		FROM ` + arrayRows("r", "$1::text[] id", "$2::text[] event_type", "$3::text[] payment_id", "$4::bytea[] body",
	"$5::timestamptz[] created_at") + `
		ORDER BY n
	)
	INSERT INTO {postback_deliveries} (message_id, endpoint_id, state, next_attempt, created_at)
	SELECT r.id, e.id, 'pending', r.created_at, r.created_at
	FROM ` + arrayRows("r", "$1::text[] id", "$2::text[] event_type", "$5::timestamptz[] created_at") + `
	JOIN {postback_endpoints} e ON e.disabled_at IS NULL AND (cardinality(e.events) = 0 OR r.event_type = ANY (e.events))
	ORDER BY r.n, e.seq`

// postbackArgs are the arguments of queuePostbacks.
func postbackArgs(msgs []payments.Message) []any {
	return []any{
		column(msgs, func(m payments.Message) string { return m.ID }),
		column(msgs, func(m payments.Message) string { return string(m.Type) }),
		column(msgs, func(m payments.Message) string { return m.PaymentID }),
		column(msgs, func(m payments.Message) []byte { return m.Body }),
		column(msgs, func(m payments.Message) time.Time { return m.CreatedAt }),
	}
}

// queueMessages queues the statement that persists msgs, when there are
// any: a batch without postbacks sends nothing more.
func (s *Store) queueMessages(batch *pgx.Batch, msgs []payments.Message) {
	if len(msgs) > 0 {
		batch.Queue(s.sql(queuePostbacks), postbackArgs(msgs)...)
	}
}

const endpointColumns = "id, url, secrets, events, owner, disabled_at, disabled_reason, created_at"

// SaveEndpoint implements payments.PostbackStore. Disabling an endpoint
// holds its pending deliveries, and enabling it releases them (see
// migration 0006), in the transaction that saves it. The upsert locks the
// endpoint's row first, so that two saves of one endpoint run one after the
// other, and the second statement, which sees what the first save
// committed, leaves the deliveries as the last save wants them.
func (s *Store) SaveEndpoint(ctx context.Context, e *payments.Endpoint) error {
	if err := s.usable(); err != nil {
		return err
	}
	if e.ID == "" {
		return fmt.Errorf("postgres: endpoint without id: %w", payments.ErrInvalidInput)
	}
	events := make([]string, 0, len(e.Events))
	for _, t := range e.Events {
		events = append(events, string(t))
	}
	secrets := append(make([]string, 0, len(e.Secrets)), e.Secrets...)
	return s.runTx(ctx, func(tx pgx.Tx) error {
		batch := &pgx.Batch{}
		batch.Queue(s.sql(`INSERT INTO {postback_endpoints} (`+endpointColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
			ON CONFLICT (id) DO UPDATE SET url = excluded.url, secrets = excluded.secrets, events = excluded.events,
				owner = excluded.owner, disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason,
				created_at = excluded.created_at`),
			e.ID, e.URL, secrets, events, e.Owner, nullTime(e.DisabledAt), e.DisabledReason, e.CreatedAt)
		batch.Queue(s.sql(`UPDATE {postback_deliveries} SET held = $2
			WHERE endpoint_id = $1 AND state = 'pending' AND held <> $2`), e.ID, !e.DisabledAt.IsZero())
		return fail("save endpoint "+e.ID, tx.SendBatch(ctx, batch).Close())
	})
}

// Endpoint implements payments.PostbackStore.
func (s *Store) Endpoint(ctx context.Context, id string) (*payments.Endpoint, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	e, err := scanEndpoint(s.pool.QueryRow(ctx, s.sql("SELECT "+endpointColumns+" FROM {postback_endpoints} WHERE id = $1"), id))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("postgres: endpoint %s: %w", id, payments.ErrNotFound)
	}
	if err != nil {
		return nil, fail("read endpoint "+id, err)
	}
	return &e, nil
}

// Endpoints implements payments.PostbackStore: in the order they were
// first saved.
func (s *Store) Endpoints(ctx context.Context) ([]payments.Endpoint, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql("SELECT "+endpointColumns+" FROM {postback_endpoints} ORDER BY seq"))
	if err != nil {
		return nil, fail("list endpoints", err)
	}
	list, err := collect(rows, scanEndpoint)
	return list, fail("list endpoints", err)
}

func scanEndpoint(row pgx.Row) (payments.Endpoint, error) {
	var (
		e          payments.Endpoint
		events     []string
		disabledAt *time.Time
		createdAt  time.Time
	)
	err := row.Scan(&e.ID, &e.URL, &e.Secrets, &events, &e.Owner, &disabledAt, &e.DisabledReason, &createdAt)
	for _, t := range events {
		e.Events = append(e.Events, payments.EventType(t))
	}
	e.DisabledAt, e.CreatedAt = fromNull(disabledAt), createdAt.UTC()
	return e, err
}

// deliveryColumns are a delivery's columns: its message (m) and the
// delivery's own state (d).
const deliveryColumns = `m.id, m.event_type, m.payment_id, m.body, m.created_at,
	d.endpoint_id, d.state, d.attempts, d.next_attempt, d.last_status, d.last_error, d.lease_owner, d.lease_until`

// ClaimDeliveries implements payments.PostbackStore; deliveries come most
// overdue first, which for deliveries not tried yet is oldest first.
//
// It is safe across processes, as ClaimSync is: due rows are locked with
// FOR UPDATE SKIP LOCKED, so concurrent claimers take disjoint sets without
// waiting for each other, and a row another claimer leased since this
// one's snapshot is checked again against the lease condition when it is
// locked, and skipped.
func (s *Store) ClaimDeliveries(ctx context.Context, c payments.DeliveryClaim) ([]payments.Delivery, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(claimDeliveriesQuery), c.Owner, c.Now, c.Now.Add(c.Lease), cursor.Limit(c.Limit))
	if err != nil {
		return nil, fail("claim deliveries", err)
	}
	list, err := collect(rows, func(row pgx.Row) (payments.Delivery, error) { return scanDelivery(row) })
	return list, fail("claim deliveries", err)
}

// claimDeliveriesQuery leases to $1 up to $4 deliveries due at $2, until
// $3. It reads the due index, in its order, and skips the deliveries of an
// endpoint disabled while they were queued (see migration 0006).
const claimDeliveriesQuery = `WITH due AS MATERIALIZED (
		SELECT d.message_id, d.endpoint_id FROM {postback_deliveries} d
		WHERE d.state = 'pending' AND NOT d.held AND d.next_attempt <= $2
			AND (d.lease_until IS NULL OR d.lease_until <= $2)
			AND EXISTS (SELECT FROM {postback_endpoints} e WHERE e.id = d.endpoint_id AND e.disabled_at IS NULL)
		ORDER BY d.next_attempt, d.seq
		LIMIT $4
		FOR UPDATE OF d SKIP LOCKED
	), d AS (
		UPDATE {postback_deliveries} AS d SET lease_owner = $1, lease_until = $3
		FROM due WHERE d.message_id = due.message_id AND d.endpoint_id = due.endpoint_id
		RETURNING d.*
	)
	SELECT ` + deliveryColumns + ` FROM d JOIN {postback_messages} m ON m.id = d.message_id
	ORDER BY d.next_attempt, d.seq`

// SettleDeliveries implements payments.PostbackStore in one statement,
// so one commit: it changes each delivery only while it is pending and
// leased to its settlement's Owner, and journals the attempts of those it
// changed, so that an attempt is journaled exactly when its settlement
// took. Only when some did not take does a second query read why: a lease
// that expired and was claimed by another owner is payments.ErrConflict,
// as is a delivery leased to no one.
func (s *Store) SettleDeliveries(ctx context.Context, list []payments.DeliverySettlement) ([]error, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	errs := make([]error, len(list))
	valid := make([]int, 0, len(list)) // list's indexes, for the statement's ordinals
	for i, st := range list {
		if !st.State.Valid() {
			errs[i] = fmt.Errorf("postgres: settle delivery %s to %s: unknown state %q: %w",
				st.MessageID, st.EndpointID, st.State, payments.ErrInvalidInput)
			continue
		}
		valid = append(valid, i)
	}
	if len(valid) == 0 {
		return errs, nil
	}
	took, err := s.settle(ctx, settlementArgs(list, valid))
	if err != nil {
		return nil, err
	}
	if len(took) == len(valid) {
		return errs, nil
	}
	settled := make([]bool, len(valid))
	for _, n := range took {
		settled[n-1] = true // ordinals count from 1
	}
	var refused []int
	for n, i := range valid {
		if !settled[n] {
			refused = append(refused, i)
		}
	}
	s.refusedSettlements(ctx, list, refused, errs)
	return errs, nil
}

// settle runs settleDeliveriesQuery with args and returns the ordinals that
// took. The statement is its own transaction, so one that lost a deadlock
// changed nothing and is run again, as inTx runs a transaction again.
func (s *Store) settle(ctx context.Context, args []any) ([]int64, error) {
	for attempt := 1; ; attempt++ {
		rows, err := s.pool.Query(ctx, s.sql(settleDeliveriesQuery), args...)
		var took []int64
		if err == nil {
			took, err = pgx.CollectRows(rows, pgx.RowTo[int64])
		}
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return took, fail("settle deliveries", err)
		}
		pause := time.Duration(attempt) * time.Millisecond
		pause += rand.N(pause*4 + 1) // keeps the statements that collided from colliding again
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(pause):
		}
	}
}

// settleDeliveriesQuery settles the deliveries of arrays $1…$11, one
// element per settlement, journals the attempts of those it changed, and
// returns the ordinals (from 1) of those.
//
// Each delivery is found through its primary key, in a lateral subquery
// that its LIMIT keeps from being flattened into a join: the planner takes
// leased pending deliveries for rare, as lease_owner's statistics say, and
// would otherwise read every pending delivery to match them, which a
// backlog makes many. The update then takes them by seq, in seq order, the
// order in which an endpoint's save holds its backlog, so that the two
// lock shared rows in one order; a deadlock with anything else is run
// again (see settle). A row whose lease changed while the update waited
// for its lock is checked again once locked, and skipped.
var settleDeliveriesQuery = `WITH s AS (
		SELECT * FROM ` + arrayRows("s", "$1::text[] message_id", "$2::text[] endpoint_id", "$3::text[] owner",
	"$4::text[] state", "$5::integer[] attempts", "$6::timestamptz[] next_attempt", "$7::integer[] status",
	"$8::text[] error", "$9::timestamptz[] at", "$10::bigint[] latency_ns", "$11::bytea[] response") + `
		WHERE owner <> ''
	), k AS MATERIALIZED (
		SELECT found.seq, s.* FROM s CROSS JOIN LATERAL (
			SELECT d.seq FROM {postback_deliveries} d
			WHERE d.message_id = s.message_id AND d.endpoint_id = s.endpoint_id LIMIT 1
		) AS found
		ORDER BY found.seq
	), d AS (
		UPDATE {postback_deliveries} d
		SET state = k.state, attempts = k.attempts, next_attempt = k.next_attempt,
			last_status = k.status, last_error = k.error, lease_owner = '', lease_until = NULL
		FROM k
		WHERE d.seq = k.seq AND d.state = 'pending' AND d.lease_owner = k.owner
		RETURNING k.*
	), a AS (
		INSERT INTO {postback_attempts} (message_id, endpoint_id, at, status, latency_ns, response, error)
		SELECT message_id, endpoint_id, at, status, latency_ns, response, error FROM d ORDER BY n
	)
	SELECT n FROM d`

// settlementArgs are the arrays of settleDeliveriesQuery: the settlements
// of list at indexes, in that order.
func settlementArgs(list []payments.DeliverySettlement, indexes []int) []any {
	k := len(indexes)
	messageIDs, endpointIDs, owners, states := make([]string, k), make([]string, k), make([]string, k), make([]string, k)
	attempts, nextAttempts := make([]int32, k), make([]time.Time, k)
	statuses, failures, ats, latencies, responses := make([]int32, k), make([]string, k), make([]time.Time, k), make([]int64, k), make([][]byte, k)
	for n, i := range indexes {
		st := &list[i]
		a := st.Attempt.Bounded()
		messageIDs[n], endpointIDs[n], owners[n], states[n] = st.MessageID, st.EndpointID, st.Owner, string(st.State)
		attempts[n], nextAttempts[n] = int32(st.Attempts), st.NextAttempt
		statuses[n], failures[n], ats[n], latencies[n] = int32(a.Status), storableText(a.Error), a.At, int64(a.Latency)
		responses[n] = []byte(a.Response)
	}
	return []any{messageIDs, endpointIDs, owners, states, attempts, nextAttempts, statuses, failures, ats, latencies, responses}
}

// refusedSettlements sets errs[i], for each i of refused, to why list[i]
// did not take, read in one query: payments.ErrNotFound for no such
// delivery, payments.ErrConflict for one that is not pending under the
// settlement's Owner. When that read fails, each says it did not take,
// with the read's error.
func (s *Store) refusedSettlements(ctx context.Context, list []payments.DeliverySettlement, refused []int, errs []error) {
	messageIDs, endpointIDs := make([]string, len(refused)), make([]string, len(refused))
	for n, i := range refused {
		messageIDs[n], endpointIDs[n] = list[i].MessageID, list[i].EndpointID
	}
	type key struct{ message, endpoint string }
	type found struct{ state, owner string }
	stored := map[key]found{}
	var k key
	var f found
	rows, err := s.pool.Query(ctx, s.sql(`SELECT d.message_id, d.endpoint_id, d.state, d.lease_owner
		FROM `+arrayRows("r", "$1::text[] message_id", "$2::text[] endpoint_id")+`
		JOIN {postback_deliveries} d ON d.message_id = r.message_id AND d.endpoint_id = r.endpoint_id`), messageIDs, endpointIDs)
	if err == nil {
		_, err = pgx.ForEachRow(rows, []any{&k.message, &k.endpoint, &f.state, &f.owner}, func() error {
			stored[k] = f
			return nil
		})
	}
	for _, i := range refused {
		st := &list[i]
		d, ok := stored[key{st.MessageID, st.EndpointID}]
		switch {
		case err != nil:
			errs[i] = fmt.Errorf("postgres: delivery %s to %s not settled; reading why: %w", st.MessageID, st.EndpointID, err)
		case !ok:
			errs[i] = fmt.Errorf("postgres: delivery %s to %s: %w", st.MessageID, st.EndpointID, payments.ErrNotFound)
		default:
			errs[i] = fmt.Errorf("postgres: delivery %s to %s (%s, leased to %q) is not leased to %q: %w",
				st.MessageID, st.EndpointID, d.state, d.owner, st.Owner, payments.ErrConflict)
		}
	}
}

// storableText is s, an error payments.Attempt.Bounded has bounded, as a
// TEXT column takes it: valid UTF-8, without NUL. An error message may
// quote what a receiver sent, and a settlement that fails on it would have
// the delivery posted again and again. The replacements may lengthen it
// past the bound, and then it is cut again, at a character.
func storableText(s string) string {
	s = strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "\uFFFD")
	if len(s) > payments.MaxAttemptText {
		end := payments.MaxAttemptText
		for !utf8.RuneStart(s[end]) {
			end--
		}
		s = s[:end]
	}
	return s
}

// Deliveries implements payments.PostbackStore: in queue order, which is
// seq's; the cursor is the last delivery's seq.
func (s *Store) Deliveries(ctx context.Context, f payments.DeliveryFilter) ([]payments.Delivery, string, error) {
	l, err := deliveriesQuery(f)
	rows, next, err := list(ctx, s, "deliveries", l, err, func(row pgx.Row) (listedDelivery, error) {
		var r listedDelivery
		var err error
		r.d, err = scanDelivery(row, &r.seq)
		return r, err
	}, func(r listedDelivery) string { return cursor.EncodeSeq(r.seq) })
	if err != nil {
		return nil, "", err
	}
	return column(rows, func(r listedDelivery) payments.Delivery { return r.d }), next, nil
}

// listedDelivery is a delivery with its place in the queue.
type listedDelivery struct {
	d   payments.Delivery
	seq int64
}

// deliveriesQuery is the page of deliveries f selects. Pending and failed
// deliveries are found through partial indexes, whose predicates are
// written out for the prepared statement, an endpoint's through the index
// by endpoint, unless there are so few endpoints that reading the seq
// index and skipping the others' costs less, as the planner decides.
func deliveriesQuery(f payments.DeliveryFilter) (listing, error) {
	var w where
	w.add("d.endpoint_id", f.EndpointID)
	w.add("d.state", string(f.State))
	switch f.State {
	case payments.DeliveryPending:
		w.addPredicate("d.state = 'pending'")
	case payments.DeliveryFailed:
		w.addPredicate("d.state = 'failed'")
	}
	if f.After != "" {
		seq, err := cursor.DecodeSeq(f.After)
		if err != nil {
			return listing{}, err
		}
		w.addArgs("d.seq > %s", seq)
	}
	return w.listing("SELECT "+deliveryColumns+", d.seq FROM {postback_deliveries} d JOIN {postback_messages} m ON m.id = d.message_id",
		"d.seq", f.Limit), nil
}

// scanDelivery reads a row of deliveryColumns, and extra columns after them
// into extra.
func scanDelivery(row pgx.Row, extra ...any) (payments.Delivery, error) {
	var (
		d                      payments.Delivery
		eventType, state       string
		createdAt, nextAttempt time.Time
		leaseUntil             *time.Time
	)
	m := &d.Message
	dest := []any{&m.ID, &eventType, &m.PaymentID, &m.Body, &createdAt,
		&d.EndpointID, &state, &d.Attempts, &nextAttempt, &d.LastStatus, &d.LastError, &d.LeaseOwner, &leaseUntil}
	err := row.Scan(append(dest, extra...)...)
	m.Type, m.CreatedAt = payments.EventType(eventType), createdAt.UTC()
	d.State, d.NextAttempt, d.LeaseUntil = payments.DeliveryState(state), nextAttempt.UTC(), fromNull(leaseUntil)
	return d, err
}

// Attempts implements payments.PostbackStore.
func (s *Store) Attempts(ctx context.Context, messageID, endpointID string) ([]payments.Attempt, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(`SELECT message_id, endpoint_id, at, status, latency_ns, response, error
		FROM {postback_attempts} WHERE message_id = $1 AND endpoint_id = $2 ORDER BY seq`), messageID, endpointID)
	if err != nil {
		return nil, fail("list attempts", err)
	}
	list, err := collect(rows, func(row pgx.Row) (payments.Attempt, error) {
		var (
			a        payments.Attempt
			at       time.Time
			latency  int64
			response []byte
		)
		err := row.Scan(&a.MessageID, &a.EndpointID, &at, &a.Status, &latency, &response, &a.Error)
		a.At, a.Latency, a.Response = at.UTC(), time.Duration(latency), string(response)
		return a, err
	})
	return list, fail("list attempts", err)
}

// Redeliver implements payments.PostbackStore. The delivery is left
// unheld even if its endpoint is disabled, as one queued while it was
// being disabled may be: claims skip it until the endpoint is enabled.
func (s *Store) Redeliver(ctx context.Context, messageID, endpointID string, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {postback_deliveries}
		SET state = 'pending', held = false, next_attempt = $3, lease_owner = '', lease_until = NULL
		WHERE message_id = $1 AND endpoint_id = $2`), messageID, endpointID, now)
	if err != nil {
		return fail(fmt.Sprintf("redeliver %s to %s", messageID, endpointID), err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: delivery %s to %s: %w", messageID, endpointID, payments.ErrNotFound)
	}
	return nil
}

// failingSinceQuery reads, for each enabled endpoint, the oldest message
// time of its pending deliveries that have failed, from the failing index.
const failingSinceQuery = `SELECT e.id, f.created_at FROM {postback_endpoints} e
	CROSS JOIN LATERAL (SELECT created_at FROM {postback_deliveries} d
		WHERE d.endpoint_id = e.id AND d.state = 'pending' AND d.attempts > 0
		ORDER BY d.created_at LIMIT 1) AS f
	WHERE e.disabled_at IS NULL`

// FailingSince implements payments.PostbackStore. The Service asks on
// every delivery pass, so it reads one entry of the failing index per
// enabled endpoint, not the failing deliveries themselves.
func (s *Store) FailingSince(ctx context.Context) (map[string]time.Time, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(failingSinceQuery))
	if err != nil {
		return nil, fail("failing endpoints", err)
	}
	defer rows.Close()
	out := map[string]time.Time{}
	for rows.Next() {
		var (
			id    string
			since time.Time
		)
		if err := rows.Scan(&id, &since); err != nil {
			return nil, fail("failing endpoints", err)
		}
		out[id] = since.UTC()
	}
	return out, fail("failing endpoints", rows.Err())
}
