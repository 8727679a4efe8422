package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// Each entry's row holds its sync task (migration 0008): the sync_*
// columns, in queue order by the entry's seq.

// syncTaskSelect reads tasks with their entries.
const syncTaskSelect = `SELECT e.seq, e.sync_state, e.sync_attempts, e.sync_next_attempt, e.sync_last_error,
	e.sync_lease_owner, e.sync_lease_until,
	e.id, e.gateway, e.kind, e.gateway_ref, e.gateway_payment_id, e.payment_id, e.account,
	e.amount, e.currency, e.reference, e.occurred_at, e.recorded_at,
	e.settled_amount, e.settled_currency, e.settled_rate, e.settled_source, e.settled_at
	FROM {{p}}entries e`

// taskColumns are the sync task's columns of an entry's row, in the order
// taskArgs gives their values.
const taskColumns = `sync_state, sync_attempts, sync_next_attempt, sync_last_error, sync_lease_owner, sync_lease_until`

// taskArgs are t's values of taskColumns. The task of an entry that waits
// for a rate is due in the year 9999, which the microsecond column holds,
// until SettleEntry makes it due.
func taskArgs(t *payments.SyncTask) []any {
	var leaseUntil any
	if t.LeaseOwner != "" {
		leaseUntil = micros(t.LeaseUntil)
	}
	return []any{string(t.State), t.Attempts, micros(t.NextAttempt), t.LastError, t.LeaseOwner, leaseUntil}
}

// expectedTask is the task an entry recorded by b most often gets, which
// the store writes with the entry before the plan is settled, so that
// queueing it costs no statement of its own: pending, due when recorded,
// leased to the batch's SyncOwner if it has one. The planner decides the
// task (payments.Plan.Tasks); setTask writes the one it decided where it
// differs from this guess.
func expectedTask(b *payments.Batch, e *payments.Entry) payments.SyncTask {
	t := payments.SyncTask{State: payments.SyncPending, NextAttempt: e.RecordedAt}
	if b.SyncOwner != "" {
		t.LeaseOwner, t.LeaseUntil = b.SyncOwner, b.SyncLeaseUntil
	}
	return t
}

// sameTask reports whether a and b store alike.
func sameTask(a, b *payments.SyncTask) bool {
	x, y := taskArgs(a), taskArgs(b)
	for i := range x {
		if x[i] != y[i] {
			return false
		}
	}
	return true
}

// setTask writes t on the row entrySeq of its entry.
func (s *Store) setTask(ctx context.Context, q querier, entrySeq int64, t *payments.SyncTask) error {
	_, err := q.exec(ctx, `UPDATE {{p}}entries SET (`+taskColumns+`) = (?, ?, ?, ?, ?, ?) WHERE seq = ?`,
		append(taskArgs(t), entrySeq)...)
	if err != nil {
		return fmt.Errorf("sqlite: queue sync of entry %s: %w", t.Entry.ID, err)
	}
	return nil
}

// ClaimSync implements payments.Store. Claims run in the write transaction,
// which holds the database's only write lock, so no task is leased to two
// owners, even across processes sharing the file.
func (s *Store) ClaimSync(ctx context.Context, c payments.SyncClaim) ([]payments.SyncTask, error) {
	var out []payments.SyncTask
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		out = nil
		rows, err := tx.query(ctx, `UPDATE {{p}}entries SET sync_lease_owner = ?, sync_lease_until = ?
			WHERE seq IN (SELECT seq FROM {{p}}entries
				WHERE sync_state = 'pending' AND sync_next_attempt <= ?
					AND (sync_lease_until IS NULL OR sync_lease_until <= ?)
				ORDER BY seq LIMIT ?)
			RETURNING seq`,
			c.Owner, micros(c.Now.Add(c.Lease)), micros(c.Now), micros(c.Now), cursor.Limit(c.Limit))
		if err != nil {
			return fmt.Errorf("sqlite: claim sync tasks: %w", err)
		}
		var claimed []int64
		for rows.Next() {
			var seq int64
			if err := rows.Scan(&seq); err != nil {
				rows.Close()
				return fmt.Errorf("sqlite: claim sync tasks: %w", err)
			}
			claimed = append(claimed, seq)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim sync tasks: %w", err)
		}
		if len(claimed) == 0 {
			return nil
		}
		// RETURNING cannot join, and its order is unspecified: read the
		// claimed tasks back, oldest first, with their entries.
		seqs, _ := json.Marshal(claimed)
		out, _, err = s.listSyncTasks(ctx, tx, ` WHERE e.seq IN (SELECT value FROM json_each(?)) ORDER BY e.seq`, string(seqs))
		return err
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SettleSync implements payments.Store. It is payments.ErrConflict when the
// task is no longer pending under st.Owner's lease, and payments.ErrNotFound
// when there is no such task.
func (s *Store) SettleSync(ctx context.Context, st payments.SyncSettlement) error {
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.exec(ctx, `UPDATE {{p}}entries
			SET sync_state = ?, sync_attempts = ?, sync_next_attempt = ?, sync_last_error = ?,
				sync_lease_owner = '', sync_lease_until = NULL
			WHERE id = ? AND sync_state = 'pending' AND sync_lease_owner = ?`,
			string(st.State), st.Attempts, micros(st.NextAttempt), st.LastError, st.EntryID, st.Owner)
		if err != nil {
			return fmt.Errorf("sqlite: settle sync task %s: %w", st.EntryID, err)
		}
		return s.checkOneRow(ctx, tx, res, st.EntryID, "is not leased to "+st.Owner)
	})
}

// RequeueSync implements payments.Store: a parked task becomes pending and
// due at now, with no attempts; any other task is payments.ErrConflict.
func (s *Store) RequeueSync(ctx context.Context, entryID string, now time.Time) error {
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		res, err := tx.exec(ctx, `UPDATE {{p}}entries
			SET sync_state = 'pending', sync_attempts = 0, sync_next_attempt = ?, sync_last_error = ''
			WHERE id = ? AND sync_state = 'parked'`, micros(now), entryID)
		if err != nil {
			return fmt.Errorf("sqlite: requeue sync task %s: %w", entryID, err)
		}
		return s.checkOneRow(ctx, tx, res, entryID, "is not parked")
	})
}

// checkOneRow turns an UPDATE of one task that matched nothing into
// ErrNotFound or, when the task exists, ErrConflict with why.
func (s *Store) checkOneRow(ctx context.Context, q querier, res sql.Result, entryID, why string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: sync task %s: %w", entryID, err)
	}
	if n == 1 {
		return nil
	}
	var state string
	err = q.queryRow(ctx, `SELECT sync_state FROM {{p}}entries WHERE id = ?`, entryID).Scan(&state)
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: sync task %s: %w", entryID, payments.ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("sqlite: sync task %s: %w", entryID, err)
	}
	return fmt.Errorf("sqlite: sync task %s (%s) %s: %w", entryID, state, why, payments.ErrConflict)
}

// SyncTasks implements payments.Store: tasks in f.State (every state when
// empty), in queue order; the cursor is the last task's entry seq.
func (s *Store) SyncTasks(ctx context.Context, f payments.SyncFilter) ([]payments.SyncTask, string, error) {
	after := int64(0) // seqs start at 1
	if f.After != "" {
		seq, err := cursor.DecodeSeq(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list sync tasks: %w", err)
		}
		after = seq
	}
	q, err := s.read()
	if err != nil {
		return nil, "", err
	}
	where := ` WHERE e.seq > ?`
	if f.State != "" {
		// Pending and parked tasks have an index each; a bound parameter
		// cannot show SQLite that one applies, so the state is spelled out.
		where += ` AND e.sync_state = '` + stateLiteral(f.State) + `'`
	}
	limit := cursor.Limit(f.Limit)
	tasks, seqs, err := s.listSyncTasks(ctx, q, where+` ORDER BY e.seq LIMIT ?`, after, limit+1)
	if err != nil {
		return nil, "", err
	}
	return page(tasks, limit, func(last int) string { return cursor.EncodeSeq(seqs[last]) })
}

// listSyncTasks returns the tasks the query selects and their entries'
// seqs.
func (s *Store) listSyncTasks(ctx context.Context, q querier, tail string, args ...any) ([]payments.SyncTask, []int64, error) {
	rows, err := q.query(ctx, syncTaskSelect+tail, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("sqlite: list sync tasks: %w", err)
	}
	defer rows.Close()
	var (
		out  []payments.SyncTask
		seqs []int64
	)
	for rows.Next() {
		t, seq, err := scanSyncTask(rows)
		if err != nil {
			return nil, nil, err
		}
		out, seqs = append(out, *t), append(seqs, seq)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("sqlite: list sync tasks: %w", err)
	}
	return out, seqs, nil
}

func scanSyncTask(row scanner) (*payments.SyncTask, int64, error) {
	var (
		t                      payments.SyncTask
		seq                    int64
		state, kind, currency  string
		nextAttempt            int64
		leaseUntil             sql.NullInt64
		occurredAt, recordedAt int64
		settlement             storedConversion
	)
	e := &t.Entry
	err := row.Scan(append([]any{&seq, &state, &t.Attempts, &nextAttempt, &t.LastError, &t.LeaseOwner, &leaseUntil,
		&e.ID, &e.Gateway, &kind, &e.GatewayRef, &e.GatewayPaymentID, &e.PaymentID, &e.Account,
		&e.Amount.Amount, &currency, &e.Reference, &occurredAt, &recordedAt}, settlement.dest()...)...)
	if err != nil {
		return nil, 0, fmt.Errorf("sqlite: read sync task: %w", err)
	}
	t.State = payments.SyncState(state)
	t.NextAttempt, t.LeaseUntil = fromMicros(nextAttempt), fromOptionalMicros(leaseUntil)
	e.Kind, e.Amount.Currency = payments.EntryKind(kind), payments.Currency(currency)
	e.OccurredAt, e.RecordedAt = fromMicros(occurredAt), fromMicros(recordedAt)
	e.Settlement = settlement.conversion()
	return &t, seq, nil
}

// stateLiteral is st as it may appear in SQL text: one of the three states
// the table's CHECK admits, or one that matches no task.
func stateLiteral(st payments.SyncState) string {
	switch st {
	case payments.SyncPending, payments.SyncDone, payments.SyncParked:
		return string(st)
	}
	return "none"
}
