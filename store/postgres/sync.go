package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// taskColumns are a sync task's columns: its entry (e) and the outbox row
// (t), which holds only the task's own state.
const taskColumns = `e.id, e.gateway, e.kind, e.gateway_ref, e.gateway_payment_id, e.payment_id, e.account,
	e.amount, e.currency, e.reference, e.occurred_at, e.recorded_at,
	e.settled_amount, e.settled_currency, e.settled_rate, e.settled_source, e.settled_at,
	t.state, t.attempts, t.next_attempt, t.last_error, t.lease_owner, t.lease_until`

// ClaimSync implements payments.Store; tasks come most overdue first.
//
// It is safe across processes: due rows are locked with FOR UPDATE SKIP
// LOCKED, so concurrent claimers take disjoint sets without waiting for each
// other, and a row leased by another claimer since this one's snapshot is
// checked again against the lease condition before it is locked, so it is
// skipped rather than leased twice.
func (s *Store) ClaimSync(ctx context.Context, c payments.SyncClaim) ([]payments.SyncTask, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(claimSyncQuery), c.Owner, c.Now, c.Now.Add(c.Lease), cursor.Limit(c.Limit))
	if err != nil {
		return nil, fail("claim sync tasks", err)
	}
	list, err := collect(rows, func(row pgx.Row) (payments.SyncTask, error) { return scanTask(row) })
	return list, fail("claim sync tasks", err)
}

// claimSyncQuery leases to $1 up to $4 tasks due at $2, until $3. It reads
// the due tasks from the partial index of pending ones, in its order.
const claimSyncQuery = `WITH due AS MATERIALIZED (
		SELECT seq FROM {sync}
		WHERE state = 'pending' AND next_attempt <= $2 AND (lease_until IS NULL OR lease_until <= $2)
		ORDER BY next_attempt, seq
		LIMIT $4
		FOR UPDATE SKIP LOCKED
	), t AS (
		UPDATE {sync} SET lease_owner = $1, lease_until = $3
		WHERE seq IN (SELECT seq FROM due)
		RETURNING *
	)
	SELECT ` + taskColumns + ` FROM t JOIN {entries} e ON e.id = t.entry_id
	ORDER BY t.next_attempt, t.seq`

// SettleSync implements payments.Store. It changes the task only while it
// is pending and leased to s.Owner, in one conditional UPDATE, so a lease
// that expired and was claimed by another owner is never settled by the
// first: that is payments.ErrConflict.
func (s *Store) SettleSync(ctx context.Context, st payments.SyncSettlement) error {
	if err := s.usable(); err != nil {
		return err
	}
	switch st.State {
	case payments.SyncPending, payments.SyncDone, payments.SyncParked:
	default:
		return fmt.Errorf("postgres: settle sync task %s: unknown state %q: %w", st.EntryID, st.State, payments.ErrInvalidInput)
	}
	tag, err := s.pool.Exec(ctx, s.sql(settleSyncQuery),
		st.EntryID, st.Owner, string(st.State), st.Attempts, st.NextAttempt, st.LastError)
	if err != nil {
		return fail("settle sync task "+st.EntryID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.taskMismatch(ctx, st.EntryID, fmt.Sprintf("is not leased to %q", st.Owner))
}

// settleSyncQuery settles the open task of entry $1 if it is pending and
// leased to $2; open tasks are found by entry id through the index that
// holds only them (see migration 0009).
const settleSyncQuery = `UPDATE {sync}
	SET state = $3, attempts = $4, next_attempt = $5, last_error = $6, lease_owner = '', lease_until = NULL
	WHERE entry_id = $1 AND state <> 'done' AND state = 'pending' AND lease_owner = $2`

// requeueSyncQuery makes the parked task of entry $1 pending again, due at
// $2.
const requeueSyncQuery = `UPDATE {sync} SET state = 'pending', attempts = 0, next_attempt = $2, last_error = ''
	WHERE entry_id = $1 AND state <> 'done' AND state = 'parked'`

// taskStateQuery is the state of entry $1's task, and no row when there is
// no such entry. Only open tasks are indexed by entry id: an entry without
// one has had its task settled.
const taskStateQuery = `SELECT coalesce((SELECT state FROM {sync} WHERE entry_id = $1 AND state <> 'done'), 'done')
	FROM {entries} WHERE id = $1`

// taskMismatch explains why a conditional update of a task changed nothing:
// the task does not exist (ErrNotFound), or it is not in the state the update
// required (ErrConflict).
func (s *Store) taskMismatch(ctx context.Context, entryID, why string) error {
	var state string
	err := s.pool.QueryRow(ctx, s.sql(taskStateQuery), entryID).Scan(&state)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: sync task %s: %w", entryID, payments.ErrNotFound)
	}
	if err != nil {
		return fail("read sync task "+entryID, err)
	}
	return fmt.Errorf("postgres: sync task %s (%s) %s: %w", entryID, state, why, payments.ErrConflict)
}

// SyncTasks implements payments.Store: in queue order, which is seq's; the
// cursor is the last task's seq.
func (s *Store) SyncTasks(ctx context.Context, f payments.SyncFilter) ([]payments.SyncTask, string, error) {
	l, err := syncTasksQuery(f)
	rows, next, err := list(ctx, s, "sync tasks", l, err, func(row pgx.Row) (listedTask, error) {
		var r listedTask
		var err error
		r.t, err = scanTask(row, &r.seq)
		return r, err
	}, func(r listedTask) string { return cursor.EncodeSeq(r.seq) })
	if err != nil {
		return nil, "", err
	}
	return column(rows, func(r listedTask) payments.SyncTask { return r.t }), next, nil
}

// listedTask is a sync task with its place in the queue.
type listedTask struct {
	t   payments.SyncTask
	seq int64
}

// syncTasksQuery is the page of tasks f selects. Pending and parked tasks
// are found through partial indexes, whose predicates are written out for
// the prepared statement (see where.addPredicate).
func syncTasksQuery(f payments.SyncFilter) (listing, error) {
	var w where
	w.add("t.state", string(f.State))
	switch f.State {
	case payments.SyncPending:
		w.addPredicate("t.state = 'pending'")
	case payments.SyncParked:
		w.addPredicate("t.state = 'parked'")
	}
	if f.After != "" {
		seq, err := cursor.DecodeSeq(f.After)
		if err != nil {
			return listing{}, err
		}
		w.addArgs("t.seq > %s", seq)
	}
	return w.listing("SELECT "+taskColumns+", t.seq FROM {sync} t JOIN {entries} e ON e.id = t.entry_id", "t.seq", f.Limit), nil
}

// RequeueSync implements payments.Store.
func (s *Store) RequeueSync(ctx context.Context, entryID string, now time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(requeueSyncQuery), entryID, now)
	if err != nil {
		return fail("requeue sync task "+entryID, err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	return s.taskMismatch(ctx, entryID, "is not parked")
}

// scanTask reads a row of taskColumns, and extra columns after them into
// extra.
func scanTask(row pgx.Row, extra ...any) (payments.SyncTask, error) {
	var (
		t                      payments.SyncTask
		kind, currency, state  string
		occurredAt, recordedAt time.Time
		nextAttempt            time.Time
		leaseUntil             *time.Time
		settlement             storedConversion
	)
	e := &t.Entry
	dest := append([]any{&e.ID, &e.Gateway, &kind, &e.GatewayRef, &e.GatewayPaymentID, &e.PaymentID, &e.Account,
		&e.Amount.Amount, &currency, &e.Reference, &occurredAt, &recordedAt}, settlement.dest()...)
	dest = append(dest, &state, &t.Attempts, &nextAttempt, &t.LastError, &t.LeaseOwner, &leaseUntil)
	err := row.Scan(append(dest, extra...)...)
	e.Settlement = settlement.conversion()
	e.Kind, e.Amount.Currency = payments.EntryKind(kind), payments.Currency(currency)
	e.OccurredAt, e.RecordedAt = occurredAt.UTC(), recordedAt.UTC()
	t.State, t.NextAttempt, t.LeaseUntil = payments.SyncState(state), nextAttempt.UTC(), fromNull(leaseUntil)
	return t, err
}
