package gatewaytest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"

	"github.com/payrail/payments"
)

// Compile-time proof that Fake has every optional power.
var (
	_ payments.CheckoutCreator = (*Fake)(nil)
	_ payments.Capturer        = (*Fake)(nil)
	_ payments.Canceler        = (*Fake)(nil)
	_ payments.Refunder        = (*Fake)(nil)
	_ payments.HealthChecker   = (*Fake)(nil)
	_ payments.Acknowledger    = (*Fake)(nil)
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
func (f *Fake) Capture(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	f.record("capture " + req.IdempotencyKey)
	amount := req.Payment.Amount
	if req.Amount != nil {
		amount = *req.Amount
	}
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: req.Payment.GatewayID, Status: payments.StatusSucceeded}},
		Entries: []payments.Entry{{
			Kind: payments.KindCharge, GatewayRef: req.Payment.GatewayID,
			GatewayPaymentID: req.Payment.GatewayID, Amount: amount,
		}},
	}, nil
}

// Cancel implements payments.Canceler.
func (f *Fake) Cancel(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	f.record("cancel " + req.IdempotencyKey)
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: req.Payment.GatewayID, Status: payments.StatusCanceled}},
	}, nil
}

// Refund implements payments.Refunder. The refund id is derived from the
// idempotency key, as a real gateway returns the same refund for a retried
// key, so a retry records nothing new.
func (f *Fake) Refund(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	f.record("refund " + req.IdempotencyKey)
	amount := req.Payment.Amount
	if req.Amount != nil {
		amount = *req.Amount
	}
	sum := sha256.Sum256([]byte(req.IdempotencyKey))
	amount.Amount = -amount.Amount
	return &payments.Changes{
		Entries: []payments.Entry{{
			Kind: payments.KindRefund, GatewayRef: "fr_" + hex.EncodeToString(sum[:8]),
			GatewayPaymentID: req.Payment.GatewayID, Amount: amount,
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

// Acknowledge implements payments.Acknowledger with "ok <event id>", so tests
// can see that gateway-specific answers reach the wire.
func (f *Fake) Acknowledge(w http.ResponseWriter, req *payments.WebhookRequest, c *payments.Changes) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "ok %s", c.EventID)
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
