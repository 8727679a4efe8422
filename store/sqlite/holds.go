package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

var _ payments.HoldStore = (*Store)(nil)

// The hold watcher's lease is kept on the payment itself (hold_owner,
// hold_until, hold_handled_at; migration 0006), so that a claim is one
// UPDATE through the partial index of the payments it may take.

// holdCandidates is the predicate of the payments_holds index, spelled out
// so that SQLite can tell the index applies.
const holdCandidates = `status = 'authorized' AND capture_before IS NOT NULL AND hold_handled_at IS NULL`

// ClaimHolds implements payments.HoldStore: in the write transaction, which
// holds the database's only write lock, it leases to c.Owner up to c.Limit
// authorized payments whose capture deadline is after c.Now and before
// c.Before, that no watcher has handled and no live lease holds, earliest
// deadline first.
func (s *Store) ClaimHolds(ctx context.Context, c payments.HoldClaim) ([]payments.Payment, error) {
	var out []payments.Payment
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		out = nil
		now := micros(c.Now)
		rows, err := tx.query(ctx, `UPDATE {{p}}payments SET hold_owner = ?, hold_until = ?
			WHERE id IN (SELECT id FROM {{p}}payments
				WHERE `+holdCandidates+` AND capture_before > ? AND capture_before < ?
					AND (hold_until IS NULL OR hold_until <= ?)
				ORDER BY capture_before, id LIMIT ?)
			RETURNING `+paymentColumns,
			c.Owner, micros(c.Now.Add(c.Lease)), now, micros(c.Before), now, cursor.Limit(c.Limit))
		if err != nil {
			return fmt.Errorf("sqlite: claim holds: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			p, err := scanPayment(rows)
			if err != nil {
				return err
			}
			out = append(out, *p)
		}
		if err := rows.Err(); err != nil {
			return fmt.Errorf("sqlite: claim holds: %w", err)
		}
		// RETURNING's order is unspecified.
		slices.SortFunc(out, func(a, b payments.Payment) int {
			return cmp.Or(a.CaptureBefore.Compare(b.CaptureBefore), cmp.Compare(a.ID, b.ID))
		})
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// SettleHold implements payments.HoldStore: it marks the payment handled at
// at and ends the lease, so that no watcher claims it again. It is
// payments.ErrConflict when the payment is not leased to owner, or was
// handled already.
func (s *Store) SettleHold(ctx context.Context, paymentID, owner string, at time.Time) error {
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		// hold_owner stays: who handled the payment.
		res, err := tx.exec(ctx, `UPDATE {{p}}payments SET hold_handled_at = ?, hold_until = NULL
			WHERE id = ? AND hold_owner = ? AND hold_until IS NOT NULL AND hold_handled_at IS NULL`,
			micros(at), paymentID, owner)
		if err != nil {
			return fmt.Errorf("sqlite: settle hold of %s: %w", paymentID, err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return fmt.Errorf("sqlite: settle hold of %s: %w", paymentID, err)
		}
		if n == 1 {
			return nil
		}
		var holder string
		err = tx.queryRow(ctx, `SELECT hold_owner FROM {{p}}payments WHERE id = ?`, paymentID).Scan(&holder)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return fmt.Errorf("sqlite: settle hold of %s: %w", paymentID, err)
		}
		return fmt.Errorf("sqlite: hold of %s (leased to %q) is not leased to %s: %w", paymentID, holder, owner, payments.ErrConflict)
	})
}
