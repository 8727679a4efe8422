package gatewaytest

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// world is one subtest's Service over its own memory store, with the driver
// under test as its only gateway, so that what one check records never
// shows in another.
type world struct {
	t     *testing.T
	h     *Harness
	svc   *payments.Service
	store payments.Store
	name  string
}

func newWorld(t *testing.T, h *Harness) *world {
	t.Helper()
	return newWorldOn(t, h, memory.New())
}

// newWorldOn is newWorld over a store of the check's own.
func newWorldOn(t *testing.T, h *Harness, store payments.Store) *world {
	t.Helper()
	svc, err := payments.New(store, payments.WithGateway(h.Gateway))
	require.NoError(t, err)
	return &world{t: t, h: h, svc: svc, store: store, name: h.Gateway.Name()}
}

// valid returns an authentic notification, signed at time at, that records
// money in w's ledger: Valid's, or, for a gateway whose notifications
// cannot name an account (Harness.ValidFor), one for a payment checked out
// through w's Service first.
func (w *world) valid(at time.Time) *payments.WebhookRequest {
	w.t.Helper()
	if w.h.ValidFor == nil {
		return w.h.Valid(w.t, at)
	}
	p := w.checkout("acct_valid", payments.CaptureAutomatic)
	return w.h.ValidFor(w.t, *p, at)
}

// deliver hands the Service a copy of req, as a gateway's redelivery would
// be, and checks what became of it.
func (w *world) deliver(req *payments.WebhookRequest, want payments.Outcome) *payments.WebhookResult {
	w.t.Helper()
	res, err := w.svc.HandleWebhook(context.Background(), w.name, cloneRequest(req))
	require.NoError(w.t, err)
	require.Equal(w.t, want, res.Notification.Outcome, "notification %s: %s", res.Notification.EventID, res.Notification.Detail)
	return res
}

// checkout starts a payment of the harness's amount through the Service.
func (w *world) checkout(account string, capture payments.CaptureMode) *payments.Payment {
	w.t.Helper()
	ref, err := payments.NewReference("conformance", account)
	require.NoError(w.t, err)
	p, err := w.svc.Checkout(context.Background(), w.name, payments.CheckoutRequest{
		Account: account, Amount: w.h.amount(), Reference: ref.String(), Description: "gatewaytest",
		Capture: capture, ReturnURL: "https://shop.invalid/return", CancelURL: "https://shop.invalid/cancel",
	})
	require.NoError(w.t, err)
	require.NotEmpty(w.t, p.GatewayID, "the checkout has the gateway's id")
	return p
}

// authorized checks a payment out for manual capture and has the peer
// authorize it.
func (w *world) authorized(account string) *payments.Payment {
	w.t.Helper()
	require.NotNil(w.t, w.h.Authorize, "Harness.Authorize: the driver is a payments.Capturer or payments.Canceler")
	p := w.checkout(account, payments.CaptureManual)
	w.h.Authorize(w.t, *p)
	return p
}

// paid checks a payment out and delivers its Paid notification.
func (w *world) paid(account string) *payments.Payment {
	w.t.Helper()
	require.NotNil(w.t, w.h.Paid, "Harness.Paid: the driver is a payments.CheckoutCreator")
	p := w.checkout(account, payments.CaptureAutomatic)
	w.deliver(w.h.Paid(w.t, *p, p.Amount), payments.OutcomeRecorded)
	return w.payment(p.ID)
}

func (w *world) payment(id string) *payments.Payment {
	w.t.Helper()
	p, err := w.svc.Payment(context.Background(), id)
	require.NoError(w.t, err)
	return p
}

// entries returns every ledger entry f selects, across pages.
func (w *world) entries(f payments.EntryFilter) []payments.Entry {
	w.t.Helper()
	var all []payments.Entry
	for {
		page, next, err := w.svc.Entries(context.Background(), f)
		require.NoError(w.t, err)
		all = append(all, page...)
		if next == "" {
			return all
		}
		f.After = next
	}
}

// amounts returns the amounts of p's entries of one kind, in the order
// they were recorded.
func (w *world) amounts(p *payments.Payment, kind payments.EntryKind) []payments.Money {
	w.t.Helper()
	var out []payments.Money
	for _, e := range w.entries(payments.EntryFilter{PaymentID: p.ID}) {
		assert.Equal(w.t, p.Account, e.Account, "entry %s is the payment's account's", e.GatewayRef)
		if e.Kind == kind {
			out = append(out, e.Amount)
		}
	}
	return out
}

func (w *world) balance(account string) int64 {
	w.t.Helper()
	b, err := w.svc.Balance(context.Background(), account, w.h.amount().Currency)
	require.NoError(w.t, err)
	return b.Money.Amount
}

// requests is how many requests the driver has sent to its peer.
func (w *world) requests() int {
	w.t.Helper()
	require.NotNil(w.t, w.h.Requests, "Harness.Requests: the driver is a payments.Capturer, payments.Canceler or payments.Refunder")
	return w.h.Requests()
}

func cloneRequest(r *payments.WebhookRequest) *payments.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

func negate(m payments.Money) payments.Money {
	m.Amount = -m.Amount
	return m
}
