package payments

import (
	"context"
	"fmt"
	"time"
)

// HoldAction is what the hold watcher does with an authorized payment whose
// capture deadline (Payment.CaptureBefore) nears.
type HoldAction string

// Hold actions.
const (
	// HoldCapture captures all that is authorized.
	HoldCapture HoldAction = "capture"
	// HoldCancel releases the authorization.
	HoldCancel HoldAction = "cancel"
	// HoldWarn only publishes an EventHoldExpiring, for the host to decide.
	HoldWarn HoldAction = "warn"
)

// HoldWatch configures the hold watcher (WithHoldWatch): Run acts on every
// authorized payment Margin before its gateway's capture deadline, once
// across every Service sharing the Store, and journals what it did.
type HoldWatch struct {
	// Action is what to do; For, when set, decides per payment (an empty
	// answer means Action).
	Action HoldAction
	For    func(p Payment) HoldAction
	// Margin is how long before the deadline the watcher acts; default an
	// hour.
	Margin time.Duration
	// Every is how often Run looks; default a minute.
	Every time.Duration
	// Lease reserves a payment for one watcher while it acts; default five
	// minutes.
	Lease time.Duration
}

// HoldClaim asks a HoldStore for authorized payments whose capture deadline
// is before Before but not yet past (after Now), that no watcher has
// handled and no live lease holds, and leases them to Owner.
type HoldClaim struct {
	Owner       string
	Now, Before time.Time
	Lease       time.Duration
	Limit       int
}

// HoldStore is implemented by Stores that can find holds about to expire.
type HoldStore interface {
	// ClaimHolds leases up to c.Limit payments (see HoldClaim), earliest
	// deadline first; no payment is leased to two owners at once.
	ClaimHolds(ctx context.Context, c HoldClaim) ([]Payment, error)
	// SettleHold marks a claimed payment handled, so that no watcher
	// claims it again; ErrConflict when its lease is no longer owner's.
	SettleHold(ctx context.Context, paymentID, owner string, at time.Time) error
}

// SourceHold marks a journal row of the hold watcher's (Notification.Source).
const SourceHold = "hold"

// WithHoldWatch turns the hold watcher on. The Store must be a HoldStore.
func WithHoldWatch(h HoldWatch) Option {
	return func(s *Service) error {
		if _, ok := s.store.(HoldStore); !ok {
			return fmt.Errorf("payments: the hold watcher needs a Store that finds holds (HoldStore): %w", ErrNotSupported)
		}
		switch h.Action {
		case HoldCapture, HoldCancel, HoldWarn:
		default:
			return fmt.Errorf("payments: hold action %q: %w", h.Action, ErrInvalidInput)
		}
		if h.Margin <= 0 {
			h.Margin = time.Hour
		}
		if h.Every <= 0 {
			h.Every = time.Minute
		}
		if h.Lease <= 0 {
			h.Lease = 5 * time.Minute
		}
		s.holds = &h
		return nil
	}
}

// WatchHolds runs one pass of the hold watcher and reports how many holds it
// handled. Run calls it every HoldWatch.Every.
func (s *Service) WatchHolds(ctx context.Context) (int, error) {
	if s.holds == nil {
		return 0, nil
	}
	hs := s.store.(HoldStore)
	now := s.now()
	owner := s.leaseOwner()
	claimed, err := hs.ClaimHolds(ctx, HoldClaim{Owner: owner, Now: now, Before: now.Add(s.holds.Margin), Lease: s.holds.Lease, Limit: 100})
	if err != nil {
		return 0, err
	}
	handled := 0
	for _, p := range claimed {
		action := s.holds.Action
		if s.holds.For != nil {
			if a := s.holds.For(p); a != "" {
				action = a
			}
		}
		if err := s.act(ctx, p, action); err != nil {
			// Its lease runs out and the next pass tries again, while the
			// deadline has not passed.
			s.journalHold(ctx, p, action, err)
			continue
		}
		if err := hs.SettleHold(ctx, p.ID, owner, s.now()); err != nil {
			return handled, fmt.Errorf("payments: settle hold of %s: %w", p.ID, err)
		}
		s.journalHold(ctx, p, action, nil)
		handled++
	}
	return handled, nil
}

// act does what the policy says with one hold.
func (s *Service) act(ctx context.Context, p Payment, action HoldAction) error {
	var err error
	switch action {
	case HoldCapture:
		_, err = s.Capture(ctx, p.ID, CaptureOptions{Key: "hold-expiry"})
	case HoldCancel:
		_, err = s.Cancel(ctx, p.ID, CancelOptions{Key: "hold-expiry", Reason: "abandoned"})
	case HoldWarn:
		if dropped := s.events.publish([]Event{{Type: EventHoldExpiring, At: s.now(), Payment: &p}}); dropped > 0 {
			s.log.Warn("payments: slow subscribers missed events", "dropped", dropped)
		}
	default:
		err = fmt.Errorf("payments: hold action %q: %w", action, ErrInvalidInput)
	}
	return err
}

// journalHold journals what the watcher did with a hold, or why it could
// not, as a row of Source SourceHold.
func (s *Service) journalHold(ctx context.Context, p Payment, action HoldAction, failure error) {
	n := &Notification{
		ID: newID("ntf"), Gateway: p.Gateway, ReceivedAt: s.now(), Verified: true, Source: SourceHold,
		Outcome: OutcomeRecorded, EventID: p.ID, EventType: "hold." + string(action),
		Detail: fmt.Sprintf("%s payment %s before its capture deadline %s", action, p.ID, p.CaptureBefore.UTC().Format(time.RFC3339)),
	}
	if failure != nil {
		n.Outcome, n.Detail = OutcomeFailed, n.Detail+": "+failure.Error()
		s.log.ErrorContext(ctx, "payments: hold watcher could not act", "payment", p.ID, "action", action, "error", failure)
	}
	if err := s.store.AppendNotification(ctx, n); err != nil {
		s.log.ErrorContext(ctx, "payments: journal hold action", "payment", p.ID, "error", err)
	}
}
