package payments

import (
	"context"
	"fmt"
	"time"
)

// Checkout starts a payment at the named gateway: it stores the payment as
// pending, asks the driver for a checkout (intent, order, invoice) and
// returns the payment with what the client needs to pay (RedirectURL,
// ClientSecret). Notifications for it then move it along.
func (s *Service) Checkout(ctx context.Context, gateway string, req CheckoutRequest) (*Payment, error) {
	g, err := s.gateway(gateway)
	if err != nil {
		return nil, err
	}
	creator, ok := g.(CheckoutCreator)
	if !ok {
		return nil, fmt.Errorf("payments: %s cannot create checkouts: %w", gateway, ErrNotSupported)
	}
	if req.Account == "" {
		return nil, fmt.Errorf("payments: checkout without account: %w", ErrInvalidInput)
	}
	if _, ok := req.Amount.Currency.Exponent(); !ok || req.Amount.Amount <= 0 {
		return nil, fmt.Errorf("payments: checkout amount %s must be positive in a known currency: %w", req.Amount, ErrInvalidInput)
	}
	if req.Capture == "" {
		req.Capture = CaptureAutomatic
	}
	now := storedTime(s.now())
	p := &Payment{
		ID:        newID("pay"),
		Gateway:   gateway,
		Account:   req.Account,
		Amount:    req.Amount,
		Reference: req.Reference,
		Status:    StatusPending,
		Version:   1,
		Metadata:  req.Metadata,
		CreatedAt: now,
		UpdatedAt: now,
	}
	if err := s.store.CreatePayment(ctx, p); err != nil {
		return nil, fmt.Errorf("payments: store payment: %w", err)
	}
	req.PaymentID = p.ID
	co, err := creator.CreateCheckout(ctx, req)
	if err != nil {
		s.markFailed(ctx, p)
		return nil, err
	}
	upd := PaymentUpdate{
		PaymentID:     p.ID,
		GatewayID:     co.GatewayID,
		Status:        co.Status,
		RedirectURL:   co.RedirectURL,
		CaptureBefore: co.CaptureBefore,
	}
	if _, err := s.commit(ctx, gateway, &Changes{Payments: []PaymentUpdate{upd}}, nil, "", ""); err != nil {
		return nil, fmt.Errorf("payments: store checkout %s of payment %s: %w", co.GatewayID, p.ID, err)
	}
	stored, err := s.store.Payment(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	stored.ClientSecret = co.ClientSecret
	return stored, nil
}

// markFailed records that a checkout the gateway refused never started.
func (s *Service) markFailed(ctx context.Context, p *Payment) {
	// The checkout may have failed because ctx ended; the payment must still
	// not be left pending.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	upd := PaymentUpdate{PaymentID: p.ID, Status: StatusFailed}
	if _, err := s.commit(ctx, p.Gateway, &Changes{Payments: []PaymentUpdate{upd}}, nil, "", ""); err != nil {
		s.log.ErrorContext(ctx, "payments: mark failed checkout", "payment", p.ID, "error", err)
	}
}

// OperationResult is what a capture, cancel, refund or purchase verification
// changed.
type OperationResult struct {
	// Payment is the payment after the operation.
	Payment *Payment
	// Recorded is what the Store changed. A gateway that answers
	// asynchronously (a refund still pending) records nothing yet; its
	// notification will.
	Recorded *BatchResult
}

// CaptureOptions shape a capture.
type CaptureOptions struct {
	// Amount is nil for all that is authorized, else a part of it; the
	// gateway releases the rest.
	Amount *Money
	// Key makes the capture idempotent across the host's retries. Empty
	// keys it by its amount. A driver receives the full idempotency key to
	// send to its gateway here: the payment id, the operation and the
	// host's key or amount, of any length (a driver whose gateway bounds
	// its keys sends a digest of a longer one).
	Key string
	// Extension carries what only the payment's gateway takes, as a value
	// of a type its driver defines and documents. A driver refuses one of
	// a type it does not know with ErrInvalidInput.
	Extension any
}

// CancelOptions shape a cancellation.
type CancelOptions struct {
	// Reason is passed to gateways that take one, where it is one of the
	// values their driver documents (Stripe's cancellation_reason); other
	// values are not sent.
	Reason string
	// Key: as CaptureOptions.Key.
	Key string
	// Extension: as CaptureOptions.Extension.
	Extension any
}

// RefundOptions shape a refund.
type RefundOptions struct {
	// Amount is nil for the full remaining amount, else a part of it no
	// larger than what the ledger says the payment still holds.
	Amount *Money
	// Reason is passed to gateways that take one, where it is one of the
	// values their driver documents (Stripe's refund reasons; the Stripe
	// driver keeps any other in the refund's metadata).
	Reason string
	// Key makes the refund idempotent across the host's retries: the same
	// payment and Key never refund twice. Empty keys the refund by its
	// amount, so a retried call never refunds twice but a second refund of
	// the same amount needs a Key of its own. Drivers receive the full
	// idempotency key here (see CaptureOptions.Key).
	Key string
	// Extension: as CaptureOptions.Extension (cryptomus.RefundExtension
	// carries the wallet a crypto refund goes to).
	Extension any
}

// Capture captures an authorized payment, fully or partially.
func (s *Service) Capture(ctx context.Context, paymentID string, opts CaptureOptions) (*OperationResult, error) {
	return s.operate(ctx, paymentID, "capture", opts.Amount, &opts.Key, func(ctx context.Context, g Gateway, p Payment) (*Changes, bool, error) {
		c, ok := g.(Capturer)
		if !ok {
			return nil, false, nil
		}
		changes, err := c.Capture(ctx, p, opts)
		return changes, true, err
	})
}

// Cancel cancels a payment that has not been captured.
func (s *Service) Cancel(ctx context.Context, paymentID string, opts CancelOptions) (*OperationResult, error) {
	return s.operate(ctx, paymentID, "cancel", nil, &opts.Key, func(ctx context.Context, g Gateway, p Payment) (*Changes, bool, error) {
		c, ok := g.(Canceler)
		if !ok {
			return nil, false, nil
		}
		changes, err := c.Cancel(ctx, p, opts)
		return changes, true, err
	})
}

// Refund refunds a payment, fully or partially. A partial refund larger
// than what the ledger says the payment still holds is refused before the
// gateway is asked.
func (s *Service) Refund(ctx context.Context, paymentID string, opts RefundOptions) (*OperationResult, error) {
	return s.operate(ctx, paymentID, "refund", opts.Amount, &opts.Key, func(ctx context.Context, g Gateway, p Payment) (*Changes, bool, error) {
		r, ok := g.(Refunder)
		if !ok {
			return nil, false, nil
		}
		if opts.Amount != nil {
			if err := s.checkRefundable(ctx, &p, *opts.Amount); err != nil {
				return nil, true, err
			}
		}
		changes, err := r.Refund(ctx, p, opts)
		return changes, true, err
	})
}

// driverCall calls the driver's power for one operation; has is false when
// the driver lacks it.
type driverCall func(ctx context.Context, g Gateway, p Payment) (c *Changes, has bool, err error)

// operate runs one capture, cancel or refund: look the payment up, check the
// amount, replace *key with the idempotency key made of the payment id, the
// operation and the caller's key (or the amount), call the driver and record
// what it reports.
func (s *Service) operate(ctx context.Context, paymentID, op string, amount *Money, key *string, call driverCall) (*OperationResult, error) {
	p, err := s.store.Payment(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	g, err := s.gateway(p.Gateway)
	if err != nil {
		return nil, err
	}
	if p.GatewayID == "" {
		return nil, fmt.Errorf("payments: %s payment %s: the gateway never created it: %w", op, p.ID, ErrConflict)
	}
	if a := amount; a != nil && (a.Currency != p.Amount.Currency || a.Amount <= 0 || a.Amount > p.Amount.Amount) {
		return nil, fmt.Errorf("payments: %s %s of payment %s for %s: %w", op, a, p.ID, p.Amount, ErrInvalidInput)
	}
	suffix := *key
	if suffix == "" && amount != nil {
		suffix = amount.Decimal() + string(amount.Currency)
	}
	*key = p.ID + ":" + op
	if suffix != "" {
		*key += ":" + suffix
	}
	changes, has, err := call(ctx, g, *p)
	if !has {
		return nil, fmt.Errorf("payments: %s cannot %s: %w", p.Gateway, op, ErrNotSupported)
	}
	if err != nil {
		return nil, err
	}
	if changes == nil {
		changes = &Changes{}
	}
	res, err := s.commit(ctx, p.Gateway, changes, nil, "", "")
	if err != nil {
		return nil, fmt.Errorf("payments: record %s of payment %s: %w", op, p.ID, err)
	}
	after, err := s.store.Payment(ctx, p.ID)
	if err != nil {
		return nil, err
	}
	return &OperationResult{Payment: after, Recorded: res}, nil
}

// checkRefundable refuses a partial refund larger than what the ledger says
// the payment still holds, before the gateway is asked. Refunds the gateway
// has accepted but not yet reported are not in the ledger, so the gateway
// remains the final judge.
func (s *Service) checkRefundable(ctx context.Context, p *Payment, amount Money) error {
	var held int64
	recorded := false
	for e, err := range s.allEntries(ctx, EntryFilter{PaymentID: p.ID}) {
		if err != nil {
			return err
		}
		if e.Amount.Currency == amount.Currency {
			held += e.Amount.Amount
			recorded = true
		}
	}
	if recorded && amount.Amount > held {
		return fmt.Errorf("payments: refund %s of payment %s: only %s remains: %w",
			amount, p.ID, Money{Amount: held, Currency: amount.Currency}, ErrInvalidInput)
	}
	return nil
}

// VerifyPurchase asks the named gateway to confirm a purchase a client app
// reports (App Store, Google Play) and records it. Verifying the same
// purchase twice records it once. When the driver's AfterCommit fails (a
// purchase recorded but not yet acknowledged to the gateway), the result is
// returned with the error: the client should report the purchase again.
func (s *Service) VerifyPurchase(ctx context.Context, gateway string, req PurchaseRequest) (*OperationResult, error) {
	g, err := s.gateway(gateway)
	if err != nil {
		return nil, err
	}
	v, ok := g.(PurchaseVerifier)
	if !ok {
		return nil, fmt.Errorf("payments: %s cannot verify purchases: %w", gateway, ErrNotSupported)
	}
	if req.Account == "" || req.Token == "" {
		return nil, fmt.Errorf("payments: verify purchase needs an account and a token: %w", ErrInvalidInput)
	}
	changes, err := v.VerifyPurchase(ctx, req)
	if err != nil {
		return nil, err
	}
	if changes == nil {
		changes = &Changes{}
	}
	// The account is the caller's, not the gateway's: it fills whatever the
	// driver left without one, and a purchase already recorded for another
	// account is a conflict.
	res, err := s.commit(ctx, gateway, changes, nil, req.Account, req.Reference)
	if err != nil {
		return nil, fmt.Errorf("payments: record %s purchase: %w", gateway, err)
	}
	followErr := s.afterCommit(ctx, g, changes, res)
	out := &OperationResult{Recorded: res}
	if len(changes.Payments) > 0 {
		if p, err := s.store.PaymentByGatewayID(ctx, gateway, changes.Payments[0].GatewayID); err == nil {
			out.Payment = p
		}
	}
	if followErr != nil {
		return out, fmt.Errorf("payments: %s purchase recorded, but: %w", gateway, followErr)
	}
	return out, nil
}
