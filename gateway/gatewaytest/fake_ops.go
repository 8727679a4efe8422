package gatewaytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"

	"github.com/payrail/payments"
)

// Compile-time proof that Fake has every optional power.
var (
	_ payments.CheckoutCreator = (*Fake)(nil)
	_ payments.Capturer        = (*Fake)(nil)
	_ payments.Canceler        = (*Fake)(nil)
	_ payments.Refunder        = (*Fake)(nil)
	_ payments.HealthChecker   = (*Fake)(nil)
	_ payments.WebhookReplier  = (*Fake)(nil)
	_ payments.HeaderNamer     = (*Fake)(nil)
)

// CreateCheckout implements payments.CheckoutCreator with a pending payment
// whose gateway id is "fp_<n>".
func (f *Fake) CreateCheckout(ctx context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	f.mu.Lock()
	f.seq++
	id := fmt.Sprintf("fp_%d", f.seq)
	f.calls = append(f.calls, "checkout "+req.PaymentID)
	f.mu.Unlock()
	return &payments.Checkout{
		GatewayID:    id,
		Status:       payments.StatusPending,
		ClientSecret: id + "_secret",
		RedirectURL:  "https://fake.invalid/pay/" + id,
	}, nil
}

// Capture implements payments.Capturer: the payment succeeds with a charge
// whose ref is the payment's gateway id, the same ref payment.succeeded
// notifications carry, so the notification that follows is a duplicate.
func (f *Fake) Capture(ctx context.Context, p payments.Payment, opts payments.CaptureOptions) (*payments.Changes, error) {
	if err := f.checkExtension(opts.Extension); err != nil {
		return nil, err
	}
	f.record("capture " + opts.Key)
	amount := p.Amount
	if opts.Amount != nil {
		amount = *opts.Amount
	}
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: p.GatewayID, Status: payments.StatusSucceeded}},
		Entries: []payments.Entry{{
			Kind: payments.KindCharge, GatewayRef: p.GatewayID,
			GatewayPaymentID: p.GatewayID, Amount: amount,
		}},
	}, nil
}

// Cancel implements payments.Canceler.
func (f *Fake) Cancel(ctx context.Context, p payments.Payment, opts payments.CancelOptions) (*payments.Changes, error) {
	if err := f.checkExtension(opts.Extension); err != nil {
		return nil, err
	}
	f.record("cancel " + opts.Key)
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: p.GatewayID, Status: payments.StatusCanceled}},
	}, nil
}

// FakeExtension is the Fake's typed operation extension: Note is recorded
// with the call, so tests can see that an extension reaches the driver.
type FakeExtension struct{ Note string }

// checkExtension refuses an extension of another driver's type, as every
// driver must.
func (f *Fake) checkExtension(ext any) error {
	switch x := ext.(type) {
	case nil:
		return nil
	case FakeExtension:
		f.record("extension " + x.Note)
		return nil
	}
	return fmt.Errorf("%s: extension of type %T is not the fake gateway's: %w", f.name, ext, payments.ErrInvalidInput)
}

// Refund implements payments.Refunder. The refund id is derived from the
// idempotency key, as a real gateway returns the same refund for a retried
// key, so a retry records nothing new.
func (f *Fake) Refund(ctx context.Context, p payments.Payment, opts payments.RefundOptions) (*payments.Changes, error) {
	if err := f.checkExtension(opts.Extension); err != nil {
		return nil, err
	}
	f.record("refund " + opts.Key)
	amount := p.Amount
	if opts.Amount != nil {
		amount = *opts.Amount
	}
	sum := sha256.Sum256([]byte(opts.Key))
	amount.Amount = -amount.Amount
	return &payments.Changes{
		Entries: []payments.Entry{{
			Kind: payments.KindRefund, GatewayRef: "fr_" + hex.EncodeToString(sum[:8]),
			GatewayPaymentID: p.GatewayID, Amount: amount,
		}},
	}, nil
}

// CheckHealth implements payments.HealthChecker; SetHealth sets its answer.
func (f *Fake) CheckHealth(ctx context.Context) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.healthErr
}

// SetHealth sets the error CheckHealth returns (nil for healthy).
func (f *Fake) SetHealth(err error) {
	f.mu.Lock()
	f.healthErr = err
	f.mu.Unlock()
}

// WebhookReply implements payments.WebhookReplier with "ok <event id>" for
// what it acknowledges and "error" for the rest, so tests can see that
// gateway-specific answers reach the wire.
func (f *Fake) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	reply := payments.WebhookReply{Status: res.Reply.Status, ContentType: "text/plain; charset=utf-8", Body: []byte("error")}
	if res.Reply.Status < 300 {
		reply.Body = []byte("ok " + res.Notification.EventID)
	}
	return reply
}

// Calls returns the operations the Fake was asked for, each with its
// idempotency key ("refund pay_…:refund:k1").
func (f *Fake) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *Fake) record(call string) {
	f.mu.Lock()
	f.calls = append(f.calls, call)
	f.mu.Unlock()
}
