package memory

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

var _ payments.HoldStore = (*Store)(nil)

// holdState is what the hold watcher left on a payment.
type holdState struct {
	owner   string
	until   time.Time
	handled bool
}

// ClaimHolds implements payments.HoldStore.
func (s *Store) ClaimHolds(ctx context.Context, c payments.HoldClaim) ([]payments.Payment, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if s.holds == nil {
		s.holds = map[string]*holdState{}
	}
	var due []*payments.Payment
	for _, p := range s.payments {
		h := s.holds[p.ID]
		if p.Status != payments.StatusAuthorized || p.CaptureBefore.IsZero() || !p.CaptureBefore.Before(c.Before) ||
			!p.CaptureBefore.After(c.Now) || (h != nil && (h.handled || h.until.After(c.Now))) {
			continue
		}
		due = append(due, p)
	}
	slices.SortFunc(due, func(a, b *payments.Payment) int {
		return cmp.Or(a.CaptureBefore.Compare(b.CaptureBefore), cmp.Compare(a.ID, b.ID))
	})
	out := make([]payments.Payment, 0, min(len(due), cursor.Limit(c.Limit)))
	for _, p := range due[:min(len(due), cursor.Limit(c.Limit))] {
		s.holds[p.ID] = &holdState{owner: c.Owner, until: c.Now.Add(c.Lease)}
		out = append(out, *clonePayment(p))
	}
	return out, nil
}

// SettleHold implements payments.HoldStore.
func (s *Store) SettleHold(ctx context.Context, paymentID, owner string, at time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	h := s.holds[paymentID]
	if h == nil || h.handled || h.owner != owner {
		return fmt.Errorf("memory: hold of %s is not leased to %s: %w", paymentID, owner, payments.ErrConflict)
	}
	h.handled = true
	return nil
}
