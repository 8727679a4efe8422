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
	now := s.now()
	p := &Payment{
		ID:        newID("pay"),
		Gateway:   gateway,
		Account:   req.Account,
		Amount:    req.Amount,
		Reference: req.Reference,
		Status:    StatusPending,
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
	if _, err := s.commit(ctx, gateway, &Changes{Payments: []PaymentUpdate{upd}}, nil); err != nil {
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
	if _, err := s.commit(ctx, p.Gateway, &Changes{Payments: []PaymentUpdate{upd}}, nil); err != nil {
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

// RefundOptions shape a refund.
type RefundOptions struct {
	// Amount is nil for the full remaining amount.
	Amount *Money
	Reason string
	// Key makes the refund idempotent across the host's retries: the same
	// payment and Key never refund twice. Empty keys the refund by its
	// amount, so a retried call never refunds twice but a second refund of
	// the same amount needs a Key of its own.
	Key string
	// Params carries gateway-specific parameters under keys the driver
	// documents, e.g. cryptomus.MetadataRefundAddress.
	Params map[string]string
}

// Capture captures an authorized payment: amount nil for all of it.
func (s *Service) Capture(ctx context.Context, paymentID string, amount *Money) (*OperationResult, error) {
	return s.operate(ctx, paymentID, opCapture, "", OperationRequest{Amount: amount})
}

// Cancel cancels a payment that has not been captured.
func (s *Service) Cancel(ctx context.Context, paymentID string) (*OperationResult, error) {
	return s.operate(ctx, paymentID, opCancel, "", OperationRequest{})
}

// Refund refunds a payment, fully or partially.
func (s *Service) Refund(ctx context.Context, paymentID string, opts RefundOptions) (*OperationResult, error) {
	key := opts.Key
	if key == "" {
		key = "full"
		if opts.Amount != nil {
			key = opts.Amount.Decimal() + string(opts.Amount.Currency)
		}
	}
	return s.operate(ctx, paymentID, opRefund, key, OperationRequest{Amount: opts.Amount, Reason: opts.Reason, Params: opts.Params})
}

type operation string

const (
	opCapture operation = "capture"
	opCancel  operation = "cancel"
	opRefund  operation = "refund"
)

// driverCall finds the driver's method for op, if it has that power.
func driverCall(g Gateway, op operation) (func(context.Context, OperationRequest) (*Changes, error), bool) {
	switch op {
	case opCapture:
		if c, ok := g.(Capturer); ok {
			return c.Capture, true
		}
	case opCancel:
		if c, ok := g.(Canceler); ok {
			return c.Cancel, true
		}
	case opRefund:
		if r, ok := g.(Refunder); ok {
			return r.Refund, true
		}
	}
	return nil, false
}

// operate runs one capture, cancel or refund: look the payment up, check the
// driver's power and the amount, call it with an idempotency key made of the
// payment id, the operation and the caller's key, and record what it reports.
func (s *Service) operate(ctx context.Context, paymentID string, op operation, key string, req OperationRequest) (*OperationResult, error) {
	p, err := s.store.Payment(ctx, paymentID)
	if err != nil {
		return nil, err
	}
	g, err := s.gateway(p.Gateway)
	if err != nil {
		return nil, err
	}
	call, ok := driverCall(g, op)
	if !ok {
		return nil, fmt.Errorf("payments: %s cannot %s: %w", p.Gateway, op, ErrNotSupported)
	}
	if p.GatewayID == "" {
		return nil, fmt.Errorf("payments: %s payment %s: the gateway never created it: %w", op, p.ID, ErrConflict)
	}
	if a := req.Amount; a != nil && (a.Currency != p.Amount.Currency || a.Amount <= 0 || a.Amount > p.Amount.Amount) {
		return nil, fmt.Errorf("payments: %s %s of payment %s for %s: %w", op, a, p.ID, p.Amount, ErrInvalidInput)
	}
	if op == opRefund && req.Amount != nil {
		if err := s.checkRefundable(ctx, p, *req.Amount); err != nil {
			return nil, err
		}
	}
	req.Payment = *p
	req.IdempotencyKey = p.ID + ":" + string(op)
	if key != "" {
		req.IdempotencyKey += ":" + key
	}
	changes, err := call(ctx, req)
	if err != nil {
		return nil, err
	}
	if changes == nil {
		changes = &Changes{}
	}
	res, err := s.commit(ctx, p.Gateway, changes, nil)
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
	entries, err := s.store.Entries(ctx, EntryFilter{PaymentID: p.ID})
	if err != nil || len(entries) == 0 {
		return err // nothing recorded yet: the requested amount was the only bound
	}
	var held int64
	for _, e := range entries {
		if e.Amount.Currency == amount.Currency {
			held += e.Amount.Amount
		}
	}
	if amount.Amount > held {
		return fmt.Errorf("payments: refund %s of payment %s: only %s remains: %w",
			amount, p.ID, Money{Amount: held, Currency: amount.Currency}, ErrInvalidInput)
	}
	return nil
}

// VerifyPurchase asks the named gateway to confirm a purchase a client app
// reports (App Store, Google Play) and records it. Verifying the same
// purchase twice records it once.
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
	// The account is the caller's, not the gateway's: fill it wherever the
	// driver left it out.
	for i := range changes.Entries {
		if changes.Entries[i].Account == "" {
			changes.Entries[i].Account = req.Account
		}
	}
	for i := range changes.Payments {
		if changes.Payments[i].Account == "" {
			changes.Payments[i].Account = req.Account
		}
	}
	res, err := s.commit(ctx, gateway, changes, nil)
	if err != nil {
		return nil, fmt.Errorf("payments: record %s purchase: %w", gateway, err)
	}
	out := &OperationResult{Recorded: res}
	if len(changes.Payments) > 0 {
		if p, err := s.store.PaymentByGatewayID(ctx, gateway, changes.Payments[0].GatewayID); err == nil {
			out.Payment = p
		}
	}
	return out, nil
}
