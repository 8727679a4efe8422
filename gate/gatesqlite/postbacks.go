package gatesqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"sort"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

const postbackColumns = `seq, message_id, record_id, merchant_id, url, type, status, body, state, attempts, next_attempt,
	last_status, last_error, lease_owner, lease_until, created_at`

// QueuePostback implements gate.RecordStore: the record's Posted is read
// and moved under the write lock the transaction holds from its start.
func (s *Store) QueuePostback(ctx context.Context, p *gate.Postback) (bool, error) {
	queued := false
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var posted string
		err := tx.QueryRowContext(ctx, `SELECT posted FROM gate_records WHERE id = ?`, p.RecordID).Scan(&posted)
		if errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("gatesqlite: record %q: %w", p.RecordID, payments.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !gate.PostbackDue(gate.Status(posted), p.Status) {
			return nil
		}
		res, err := tx.ExecContext(ctx, `INSERT INTO gate_postbacks (message_id, record_id, merchant_id, url, type, status, body,
			state, attempts, next_attempt, last_status, last_error, created_at)
			VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (message_id) DO NOTHING`,
			p.MessageID, p.RecordID, p.Merchant, p.URL, string(p.Type), string(p.Status), p.Body, string(p.State),
			p.Attempts, micros(p.NextAttempt), p.LastStatus, p.LastError, micros(p.CreatedAt))
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		if _, err := tx.ExecContext(ctx, `UPDATE gate_records SET posted = ? WHERE id = ?`, string(p.Status), p.RecordID); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil && !errors.Is(err, payments.ErrNotFound) {
		err = fmt.Errorf("gatesqlite: queue postback: %w", err)
	}
	return queued && err == nil, err
}

// ClaimPostbacks implements gate.RecordStore in one statement under the
// write lock: SQLite's single writer is what keeps two processes from
// leasing one postback.
func (s *Store) ClaimPostbacks(ctx context.Context, c gate.PostbackClaim) ([]gate.Postback, error) {
	limit := c.Limit
	if limit <= 0 {
		limit = -1
	}
	now := micros(c.Now)
	var out []gate.Postback
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		out = nil
		rows, err := tx.QueryContext(ctx, `UPDATE gate_postbacks SET lease_owner = ?, lease_until = ?
			WHERE seq IN (
				SELECT q.seq FROM gate_postbacks q
				WHERE q.state = 'pending' AND q.next_attempt <= ? AND (q.lease_until IS NULL OR q.lease_until <= ?)
				AND NOT EXISTS (SELECT 1 FROM gate_postbacks o WHERE o.record_id = q.record_id AND o.state = 'pending' AND o.seq < q.seq)
				ORDER BY q.seq LIMIT ?)
			RETURNING `+postbackColumns, c.Owner, micros(c.Now.Add(c.Lease)), now, now, limit)
		if err != nil {
			return err
		}
		out, err = scanPostbacks(rows)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: claim postbacks: %w", err)
	}
	return out, nil
}

// scanPostbacks reads rows of postbackColumns, in queue order (RETURNING
// promises none).
func scanPostbacks(rows *sql.Rows) ([]gate.Postback, error) {
	defer rows.Close()
	type seqd struct {
		seq int64
		p   gate.Postback
	}
	var all []seqd
	for rows.Next() {
		var (
			x                           seqd
			typ, status, state          string
			next, leaseUntil, createdAt sql.NullInt64
		)
		if err := rows.Scan(&x.seq, &x.p.MessageID, &x.p.RecordID, &x.p.Merchant, &x.p.URL, &typ, &status, &x.p.Body, &state,
			&x.p.Attempts, &next, &x.p.LastStatus, &x.p.LastError, &x.p.LeaseOwner, &leaseUntil, &createdAt); err != nil {
			return nil, err
		}
		x.p.Type, x.p.Status, x.p.State = gate.EventType(typ), gate.Status(status), gate.PostbackState(state)
		x.p.NextAttempt, x.p.LeaseUntil, x.p.CreatedAt = fromMicros(next), fromMicros(leaseUntil), fromMicros(createdAt)
		all = append(all, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	out := make([]gate.Postback, len(all))
	for i := range all {
		out[i] = all[i].p
	}
	return out, nil
}

// SettlePostback implements gate.RecordStore.
func (s *Store) SettlePostback(ctx context.Context, owner string, p *gate.Postback) error {
	return s.inTx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE gate_postbacks SET state = ?, attempts = ?, next_attempt = ?, last_status = ?,
			last_error = ?, lease_owner = '', lease_until = NULL WHERE message_id = ? AND lease_owner = ? AND lease_owner <> ''`,
			string(p.State), p.Attempts, micros(p.NextAttempt), p.LastStatus, p.LastError, p.MessageID, owner)
		if err != nil {
			return fmt.Errorf("gatesqlite: settle postback: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return nil
		}
		var exists int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gate_postbacks WHERE message_id = ?`, p.MessageID).Scan(&exists); err != nil {
			return fmt.Errorf("gatesqlite: settle postback: %w", err)
		}
		if exists == 0 {
			return fmt.Errorf("gatesqlite: postback %q: %w", p.MessageID, payments.ErrNotFound)
		}
		return fmt.Errorf("gatesqlite: postback %q is leased to another owner: %w", p.MessageID, payments.ErrConflict)
	})
}

// Postbacks implements gate.RecordStore.
func (s *Store) Postbacks(ctx context.Context, recordID string) ([]gate.Postback, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+postbackColumns+` FROM gate_postbacks WHERE record_id = ? ORDER BY seq`, recordID)
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: postbacks: %w", err)
	}
	out, err := scanPostbacks(rows)
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: postbacks: %w", err)
	}
	return out, nil
}
