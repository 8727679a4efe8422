package gatepg

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

const postbackColumns = `message_id, record_id, merchant_id, url, type, status, body, state, attempts, next_attempt,
	last_status, last_error, lease_owner, lease_until, created_at`

// QueuePostback implements gate.RecordStore: the record's row is locked
// while its Posted is compared and moved.
func (s *Store) QueuePostback(ctx context.Context, p *gate.Postback) (bool, error) {
	queued := false
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var posted string
		err := tx.QueryRow(ctx, `SELECT posted FROM gate_records WHERE id = $1 FOR UPDATE`, p.RecordID).Scan(&posted)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("gatepg: record %q: %w", p.RecordID, payments.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if !gate.PostbackDue(gate.Status(posted), p.Status) {
			return nil
		}
		tag, err := tx.Exec(ctx, `INSERT INTO gate_postbacks (message_id, record_id, merchant_id, url, type, status, body,
			state, attempts, next_attempt, last_status, last_error, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) ON CONFLICT (message_id) DO NOTHING`,
			p.MessageID, p.RecordID, p.Merchant, p.URL, string(p.Type), string(p.Status), p.Body, string(p.State),
			p.Attempts, p.NextAttempt, p.LastStatus, p.LastError, p.CreatedAt)
		if err != nil || tag.RowsAffected() == 0 {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE gate_records SET posted = $1 WHERE id = $2`, string(p.Status), p.RecordID); err != nil {
			return err
		}
		queued = true
		return nil
	})
	if err != nil && !errors.Is(err, payments.ErrNotFound) {
		err = fmt.Errorf("gatepg: queue postback: %w", err)
	}
	return queued && err == nil, err
}

// ClaimPostbacks implements gate.RecordStore. Rows another gate is leasing
// right now are skipped (SKIP LOCKED), not waited for; a record's later
// postbacks wait while an older one is pending, leased or not.
func (s *Store) ClaimPostbacks(ctx context.Context, c gate.PostbackClaim) ([]gate.Postback, error) {
	var limit *int
	if c.Limit > 0 {
		limit = &c.Limit
	}
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT q.seq FROM gate_postbacks q
			WHERE q.state = 'pending' AND q.next_attempt <= $1 AND (q.lease_until IS NULL OR q.lease_until <= $1)
			AND NOT EXISTS (SELECT 1 FROM gate_postbacks o WHERE o.record_id = q.record_id AND o.state = 'pending' AND o.seq < q.seq)
			ORDER BY q.seq LIMIT $2
			FOR UPDATE SKIP LOCKED)
		UPDATE gate_postbacks p SET lease_owner = $3, lease_until = $4 FROM due WHERE p.seq = due.seq
		RETURNING p.seq, `+columns("p."), c.Now, limit, c.Owner, c.Now.Add(c.Lease))
	if err != nil {
		return nil, fmt.Errorf("gatepg: claim postbacks: %w", err)
	}
	out, err := scanPostbacks(rows, true)
	if err != nil {
		return nil, fmt.Errorf("gatepg: claim postbacks: %w", err)
	}
	return out, nil
}

// scanPostbacks reads rows of postbackColumns, led by seq when withSeq,
// and returns them in queue order (RETURNING promises none).
func scanPostbacks(rows pgx.Rows, withSeq bool) ([]gate.Postback, error) {
	defer rows.Close()
	type seqd struct {
		seq int64
		p   gate.Postback
	}
	var all []seqd
	for rows.Next() {
		var (
			x                  seqd
			typ, status, state string
			leaseUntil         *time.Time
		)
		dest := []any{&x.p.MessageID, &x.p.RecordID, &x.p.Merchant, &x.p.URL, &typ, &status, &x.p.Body, &state,
			&x.p.Attempts, &x.p.NextAttempt, &x.p.LastStatus, &x.p.LastError, &x.p.LeaseOwner, &leaseUntil, &x.p.CreatedAt}
		if withSeq {
			dest = append([]any{&x.seq}, dest...)
		}
		if err := rows.Scan(dest...); err != nil {
			return nil, err
		}
		x.p.Type, x.p.Status, x.p.State = gate.EventType(typ), gate.Status(status), gate.PostbackState(state)
		x.p.NextAttempt, x.p.CreatedAt, x.p.LeaseUntil = x.p.NextAttempt.UTC(), x.p.CreatedAt.UTC(), fromOptional(leaseUntil)
		all = append(all, x)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	if withSeq {
		sort.Slice(all, func(i, j int) bool { return all[i].seq < all[j].seq })
	}
	out := make([]gate.Postback, len(all))
	for i := range all {
		out[i] = all[i].p
	}
	return out, nil
}

// columns lists postbackColumns, each led by prefix.
func columns(prefix string) string {
	parts := strings.Split(postbackColumns, ",")
	for i, c := range parts {
		parts[i] = prefix + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// SettlePostback implements gate.RecordStore.
func (s *Store) SettlePostback(ctx context.Context, owner string, p *gate.Postback) error {
	tag, err := s.pool.Exec(ctx, `UPDATE gate_postbacks SET state = $1, attempts = $2, next_attempt = $3, last_status = $4,
		last_error = $5, lease_owner = '', lease_until = NULL WHERE message_id = $6 AND lease_owner = $7 AND lease_owner <> ''`,
		string(p.State), p.Attempts, p.NextAttempt, p.LastStatus, p.LastError, p.MessageID, owner)
	if err != nil {
		return fmt.Errorf("gatepg: settle postback: %w", err)
	}
	if tag.RowsAffected() == 1 {
		return nil
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM gate_postbacks WHERE message_id = $1)`, p.MessageID).Scan(&exists); err != nil {
		return fmt.Errorf("gatepg: settle postback: %w", err)
	}
	if !exists {
		return fmt.Errorf("gatepg: postback %q: %w", p.MessageID, payments.ErrNotFound)
	}
	return fmt.Errorf("gatepg: postback %q is leased to another owner: %w", p.MessageID, payments.ErrConflict)
}

// Postbacks implements gate.RecordStore.
func (s *Store) Postbacks(ctx context.Context, recordID string) ([]gate.Postback, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+postbackColumns+` FROM gate_postbacks WHERE record_id = $1 ORDER BY seq`, recordID)
	if err != nil {
		return nil, fmt.Errorf("gatepg: postbacks: %w", err)
	}
	out, err := scanPostbacks(rows, false)
	if err != nil {
		return nil, fmt.Errorf("gatepg: postbacks: %w", err)
	}
	return out, nil
}
