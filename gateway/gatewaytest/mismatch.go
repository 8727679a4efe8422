package gatewaytest

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// The checks of money that does not match the payment it is for: the
// ledger books a charge only in its payment's currency, and above its
// payment's amount only when the gateway itself reports an overpayment.

// checkMismatch: a payment reported paid in another currency, or with more
// than it asked, is parked with a detail that says why and acknowledged;
// nothing is booked and the payment stays pending, until the right
// notification records it. A later report of the same charge with less is
// a conflict, rejected for good and answered as Harness.AcknowledgesRejected
// declares.
func checkMismatch(t *testing.T, h *Harness) {
	require.NotNil(t, h.Paid, "Harness.Paid: the driver is a payments.CheckoutCreator")
	w := newWorld(t, h)
	p := w.checkout("acct_mismatch", payments.CaptureAutomatic)
	want := h.amount()
	for _, wrong := range []struct {
		name   string
		amount payments.Money
	}{
		{"another currency", payments.Money{Amount: want.Amount, Currency: otherCurrency(want.Currency)}},
		{"more than asked", payments.Money{Amount: want.Amount * 40, Currency: want.Currency}},
	} {
		req := h.Paid(t, *p, wrong.amount)
		res := w.deliver(req, payments.OutcomeParked)
		assertAcknowledged(t, h, req, res)
		detail := res.Notification.Detail
		assert.Contains(t, detail, payments.ErrMismatch.Error(), "%s: the journal says why", wrong.name)
		assert.Contains(t, detail, wrong.amount.String(), "%s: the journal names the amount", wrong.name)
		assert.Empty(t, w.entries(payments.EntryFilter{PaymentID: p.ID}), "%s: nothing booked", wrong.name)
		assert.Empty(t, w.entries(payments.EntryFilter{Account: p.Account}), "%s: nothing booked", wrong.name)
		assert.Equal(t, payments.StatusPending, w.payment(p.ID).Status, "%s: the payment did not succeed", wrong.name)
	}
	parked, _, err := w.svc.Notifications(context.Background(), payments.NotificationFilter{
		Outcome: payments.OutcomeParked, Unresolved: true})
	require.NoError(t, err)
	assert.Len(t, parked, 2, "both wait in the journal for review")

	w.deliver(h.Paid(t, *p, want), payments.OutcomeRecorded)
	assert.Equal(t, []payments.Money{want}, w.amounts(p, payments.KindCharge))
	assert.Equal(t, payments.StatusSucceeded, w.payment(p.ID).Status)
	assert.Equal(t, want.Amount, w.balance(p.Account))

	less := payments.Money{Amount: want.Amount / 2, Currency: want.Currency}
	res, err := w.svc.HandleWebhook(context.Background(), w.name, cloneRequest(h.Paid(t, *p, less)))
	require.ErrorIs(t, err, payments.ErrConflict, "the charge is booked as %s, now reported as %s", want, less)
	require.NotNil(t, res)
	assert.Equal(t, payments.OutcomeRejected, res.Notification.Outcome)
	assert.True(t, res.Notification.Verified)
	if h.AcknowledgesRejected {
		assert.True(t, res.Reply.Status >= 200 && res.Reply.Status < 300,
			"Harness.AcknowledgesRejected: reply %d %q", res.Reply.Status, res.Reply.Body)
	} else {
		assert.Equal(t, http.StatusConflict, res.Reply.Status, "reply %q", res.Reply.Body)
	}
	assert.Equal(t, []payments.Money{want}, w.amounts(p, payments.KindCharge))
	assert.Equal(t, want.Amount, w.balance(p.Account))
}

// checkOverpaid: an overpayment the gateway reports (Harness.Overpaid) is
// booked in full, once, and the payment succeeds.
func checkOverpaid(t *testing.T, h *Harness) {
	if h.Overpaid == nil {
		t.Skip("Harness.Overpaid is nil: the driver books no overpayment")
	}
	w := newWorld(t, h)
	p := w.checkout("acct_overpaid", payments.CaptureAutomatic)
	more := h.part(3, 2)
	req := h.Overpaid(t, *p, more)
	w.deliver(req, payments.OutcomeRecorded)
	w.deliver(req, payments.OutcomeDuplicate)
	assert.Equal(t, []payments.Money{more}, w.amounts(p, payments.KindCharge), "the whole overpayment is booked")
	assert.Equal(t, payments.StatusSucceeded, w.payment(p.ID).Status)
	assert.Equal(t, more.Amount, w.balance(p.Account))
}

// otherCurrency is a currency other than c that every gateway knows.
func otherCurrency(c payments.Currency) payments.Currency {
	if c == "EUR" {
		return "USD"
	}
	return "EUR"
}
