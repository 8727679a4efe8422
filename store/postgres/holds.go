package postgres

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// ClaimHolds implements payments.HoldStore; payments come earliest
// deadline first.
//
// It is safe across processes. The upsert into the holds table decides:
// it leases a payment only when no row holds it or the row's lease has
// expired and it was not handled, checked on the latest row version even
// when another watcher committed its lease after this one's snapshot, so
// that no payment is leased to two owners at once. Candidates are locked
// with SKIP LOCKED on the way, so that concurrent watchers mostly take
// disjoint sets, and so that a payment whose status is being changed is
// left for the next pass; the lock also reads the payment's latest
// version, which must still be authorized.
func (s *Store) ClaimHolds(ctx context.Context, c payments.HoldClaim) ([]payments.Payment, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql(claimHoldsQuery), c.Owner, c.Now, c.Before, c.Now.Add(c.Lease), cursor.Limit(c.Limit))
	if err != nil {
		return nil, fail("claim holds", err)
	}
	list, err := collect(rows, func(row pgx.Row) (payments.Payment, error) {
		p, err := scanPayment(row)
		if err != nil {
			return payments.Payment{}, err
		}
		return *p, nil
	})
	return list, fail("claim holds", err)
}

// claimHoldsQuery leases to $1, until $4, up to $5 authorized payments
// whose capture deadline is after $2 and before $3. It reads the hold
// index (migration 0006), whose predicate it writes out. The lock is FOR
// NO KEY UPDATE, the weakest that keeps two watchers apart, and waits for
// no Commit: SKIP LOCKED passes over the payments a Commit holds.
var claimHoldsQuery = `WITH due AS MATERIALIZED (
		SELECT ` + paymentColumns + ` FROM {payments} p
		WHERE p.status = 'authorized' AND p.capture_before IS NOT NULL
			AND p.capture_before > $2 AND p.capture_before < $3
			AND NOT EXISTS (SELECT FROM {holds} h
				WHERE h.payment_id = p.id AND (h.handled_at IS NOT NULL OR h.lease_until > $2))
		ORDER BY p.capture_before, p.id
		LIMIT $5
		FOR NO KEY UPDATE OF p SKIP LOCKED
	), leased AS (
		INSERT INTO {holds} AS h (payment_id, lease_owner, lease_until)
		SELECT id, $1, $4 FROM due ORDER BY capture_before, id
		ON CONFLICT (payment_id) DO UPDATE SET lease_owner = excluded.lease_owner, lease_until = excluded.lease_until
		WHERE h.handled_at IS NULL AND h.lease_until <= $2
		RETURNING payment_id
	)
	SELECT ` + qualified("due", paymentColumns) + ` FROM due JOIN leased ON leased.payment_id = due.id
	ORDER BY due.capture_before, due.id`

// qualified prefixes each of a list of columns with table.
func qualified(table, columns string) string {
	list := strings.Split(columns, ",")
	for i, c := range list {
		list[i] = table + "." + strings.TrimSpace(c)
	}
	return strings.Join(list, ", ")
}

// SettleHold implements payments.HoldStore: the hold is marked handled
// only while owner holds it, whether or not its lease has run out, as long
// as no other watcher has claimed it since.
func (s *Store) SettleHold(ctx context.Context, paymentID, owner string, at time.Time) error {
	if err := s.usable(); err != nil {
		return err
	}
	tag, err := s.pool.Exec(ctx, s.sql(`UPDATE {holds} SET handled_at = $3
		WHERE payment_id = $1 AND lease_owner = $2 AND handled_at IS NULL`), paymentID, owner, at)
	if err != nil {
		return fail("settle hold of "+paymentID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: hold of %s is not leased to %q: %w", paymentID, owner, payments.ErrConflict)
	}
	return nil
}
