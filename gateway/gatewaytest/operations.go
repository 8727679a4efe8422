package gatewaytest

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// The checks of the powers a driver declares beyond webhooks: checkout,
// capture, cancel and refund, each through a Service against the driver's
// fake peer.

// runOperations runs the check of every operation the driver has.
func runOperations(t *testing.T, h *Harness) {
	_, creates := h.Gateway.(payments.CheckoutCreator)
	_, captures := h.Gateway.(payments.Capturer)
	_, cancels := h.Gateway.(payments.Canceler)
	_, refunds := h.Gateway.(payments.Refunder)
	if (captures || cancels || refunds) && !creates {
		// Capture, cancel and refund need a payment the peer knows; the
		// suite makes one with CreateCheckout. A driver whose payments
		// start elsewhere (a client-side purchase) needs the suite to grow
		// a way to make one, rather than go unchecked.
		t.Fatal("the driver captures, cancels or refunds but cannot create checkouts: the suite cannot make a payment at its peer")
	}
	if creates {
		t.Run("checkout then its webhook", func(t *testing.T) { checkCheckout(t, h) })
		t.Run("money that does not match its payment", func(t *testing.T) { checkMismatch(t, h) })
		t.Run("overpayment the gateway reports", func(t *testing.T) { checkOverpaid(t, h) })
	}
	if captures {
		t.Run("capture twice with one key", func(t *testing.T) { checkCaptureTwice(t, h) })
		t.Run("partial capture", func(t *testing.T) { checkPartialCapture(t, h) })
	}
	if cancels {
		t.Run("cancel twice with one key", func(t *testing.T) { checkCancelTwice(t, h) })
	}
	if refunds {
		t.Run("refund twice with one key", func(t *testing.T) { checkRefundTwice(t, h) })
		t.Run("partial refunds past the charge", func(t *testing.T) { checkPartialRefunds(t, h) })
	}
	if captures || cancels || refunds {
		t.Run("foreign extension", func(t *testing.T) { checkForeignExtension(t, h) })
	}
}

// checkCheckout: a checkout is pending with the gateway's id until its
// notification records one charge of the amount for the payment's account,
// linked to the payment, which then succeeded; a redelivery records nothing.
func checkCheckout(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.checkout("acct_checkout", payments.CaptureAutomatic)
	assert.Equal(t, payments.StatusPending, p.Status)
	require.NotNil(t, h.Paid, "Harness.Paid: the driver is a payments.CheckoutCreator")
	req := h.Paid(t, *p, p.Amount)
	w.deliver(req, payments.OutcomeRecorded)
	assert.Equal(t, []payments.Money{h.amount()}, w.amounts(p, payments.KindCharge))
	assert.Equal(t, payments.StatusSucceeded, w.payment(p.ID).Status)
	w.deliver(req, payments.OutcomeDuplicate)
	assert.Len(t, w.entries(payments.EntryFilter{Account: p.Account}), 1)
	assert.Equal(t, h.amount().Amount, w.balance(p.Account))
}

func checkCaptureTwice(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.authorized("acct_capture")
	ctx := context.Background()
	opts := payments.CaptureOptions{Key: "capture-1"}
	first, err := w.svc.Capture(ctx, p.ID, opts)
	require.NoError(t, err)
	require.Len(t, first.Recorded.Entries, 1, "a capture records its charge")
	assert.Equal(t, payments.StatusSucceeded, first.Payment.Status)
	retry, err := w.svc.Capture(ctx, p.ID, opts)
	require.NoError(t, err, "a retried capture gets the gateway's first answer, not a refusal")
	assert.True(t, retry.Recorded.Empty(), "the retry records nothing new: %+v", retry.Recorded)
	assert.Equal(t, []payments.Money{h.amount()}, w.amounts(p, payments.KindCharge))
	assert.Equal(t, h.amount().Amount, w.balance(p.Account))
}

func checkPartialCapture(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.authorized("acct_partial_capture")
	ctx := context.Background()
	part := h.part(2, 5)
	if h.Lacks.PartialCapture {
		before := w.requests()
		_, err := w.svc.Capture(ctx, p.ID, payments.CaptureOptions{Amount: &part})
		assert.ErrorIs(t, err, payments.ErrNotSupported, "Harness.Lacks.PartialCapture is declared")
		assert.Equal(t, before, w.requests(), "refused before the gateway is called")
		assert.Empty(t, w.entries(payments.EntryFilter{PaymentID: p.ID}))
		return
	}
	res, err := w.svc.Capture(ctx, p.ID, payments.CaptureOptions{Amount: &part})
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1, "a capture records its charge")
	// Without a Key the Service keys the capture by its amount, so the same
	// call again is the same capture.
	retry, err := w.svc.Capture(ctx, p.ID, payments.CaptureOptions{Amount: &part})
	require.NoError(t, err)
	assert.True(t, retry.Recorded.Empty(), "the retry records nothing new: %+v", retry.Recorded)
	assert.Equal(t, []payments.Money{part}, w.amounts(p, payments.KindCharge), "what was captured, not what was authorized")
	assert.Equal(t, part.Amount, w.balance(p.Account))
}

func checkCancelTwice(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.authorized("acct_cancel")
	ctx := context.Background()
	opts := payments.CancelOptions{Key: "cancel-1", Reason: "requested_by_customer"}
	first, err := w.svc.Cancel(ctx, p.ID, opts)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusCanceled, first.Payment.Status)
	retry, err := w.svc.Cancel(ctx, p.ID, opts)
	require.NoError(t, err, "a retried cancel gets the gateway's first answer, not a refusal")
	assert.True(t, retry.Recorded.Empty(), "the retry records nothing new: %+v", retry.Recorded)
	assert.Equal(t, payments.StatusCanceled, retry.Payment.Status)
	assert.Empty(t, w.entries(payments.EntryFilter{PaymentID: p.ID}), "a cancel moves no money")
}

// refund asks for a refund that must be accepted and, when the gateway
// refunds asynchronously, delivers its completion; it returns whether it
// was asynchronous.
func (w *world) refund(p *payments.Payment, opts payments.RefundOptions) (async bool) {
	w.t.Helper()
	res, err := w.svc.Refund(context.Background(), p.ID, opts)
	require.NoError(w.t, err)
	if len(res.Recorded.Entries) > 0 {
		return false
	}
	require.NotNil(w.t, w.h.Refunded, "Harness.Refunded: the driver's Refund recorded no entry")
	amount := p.Amount
	if opts.Amount != nil {
		amount = *opts.Amount
	}
	w.deliver(w.h.Refunded(w.t, *p, amount), payments.OutcomeRecorded)
	return true
}

func checkRefundTwice(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.paid("acct_refund")
	ctx := context.Background()
	opts := payments.RefundOptions{Key: "refund-1", Reason: "requested_by_customer"}
	first, err := w.svc.Refund(ctx, p.ID, opts)
	require.NoError(t, err)
	async := len(first.Recorded.Entries) == 0
	retry, err := w.svc.Refund(ctx, p.ID, opts)
	require.NoError(t, err, "a retried refund gets the gateway's first answer, not a refusal")
	assert.Empty(t, retry.Recorded.Entries, "the retry records nothing new")
	if async {
		require.NotNil(t, h.Refunded, "Harness.Refunded: the driver's Refund recorded no entry")
		done := h.Refunded(t, *p, p.Amount)
		w.deliver(done, payments.OutcomeRecorded)
		w.deliver(done, payments.OutcomeDuplicate)
	}
	assert.Equal(t, []payments.Money{negate(p.Amount)}, w.amounts(p, payments.KindRefund))
	assert.Zero(t, w.balance(p.Account))
}

// checkPartialRefunds: two partial refunds that together exceed the charge;
// the second is refused before the gateway is asked, and what remains can
// still be refunded.
func checkPartialRefunds(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	p := w.paid("acct_partial_refund")
	ctx := context.Background()
	a, b := h.part(3, 5), h.part(3, 5)
	if h.Lacks.PartialRefund {
		before := w.requests()
		_, err := w.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &a, Key: "a"})
		assert.ErrorIs(t, err, payments.ErrNotSupported, "Harness.Lacks.PartialRefund is declared")
		assert.Equal(t, before, w.requests(), "refused before the gateway is called")
		assert.Empty(t, w.amounts(p, payments.KindRefund))
		return
	}
	w.refund(p, payments.RefundOptions{Amount: &a, Key: "a"})
	before := w.requests()
	_, err := w.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &b, Key: "b"})
	require.ErrorIs(t, err, payments.ErrInvalidInput, "%s and %s refunded of %s", a, b, p.Amount)
	assert.Equal(t, before, w.requests(), "refused before the gateway is called")
	assert.Equal(t, []payments.Money{negate(a)}, w.amounts(p, payments.KindRefund))
	rest := payments.Money{Amount: p.Amount.Amount - a.Amount, Currency: p.Amount.Currency}
	w.refund(p, payments.RefundOptions{Amount: &rest, Key: "c"})
	assert.Equal(t, []payments.Money{negate(a), negate(rest)}, w.amounts(p, payments.KindRefund))
	assert.Zero(t, w.balance(p.Account))
}

// foreignExtension is a type no driver knows: an extension meant for
// another gateway.
type foreignExtension struct{ Gateway string }

// checkForeignExtension: every operation refuses an extension of a type its
// driver does not define, before calling the gateway and recording
// anything; the payment can then be operated on as if nothing happened.
func checkForeignExtension(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	ctx := context.Background()
	ext := foreignExtension{Gateway: "elsewhere"}
	refused := func(p *payments.Payment, op string, call func() error) {
		t.Helper()
		before, status := w.requests(), w.payment(p.ID).Status
		assert.ErrorIs(t, call(), payments.ErrInvalidInput, "%s with a %T", op, ext)
		assert.Equal(t, before, w.requests(), "%s with a %T reached the gateway", op, ext)
		assert.Equal(t, status, w.payment(p.ID).Status, "%s with a %T moved the payment", op, ext)
	}
	_, captures := h.Gateway.(payments.Capturer)
	_, cancels := h.Gateway.(payments.Canceler)
	if captures || cancels {
		p := w.authorized("acct_foreign_authorized")
		if captures {
			refused(p, "capture", func() error {
				_, err := w.svc.Capture(ctx, p.ID, payments.CaptureOptions{Key: "foreign", Extension: ext})
				return err
			})
		}
		if cancels {
			refused(p, "cancel", func() error {
				_, err := w.svc.Cancel(ctx, p.ID, payments.CancelOptions{Key: "foreign", Extension: ext})
				return err
			})
		}
		assert.Empty(t, w.entries(payments.EntryFilter{PaymentID: p.ID}))
		if captures {
			// The peer still holds the payment authorized: neither refused
			// call reached it.
			res, err := w.svc.Capture(ctx, p.ID, payments.CaptureOptions{Key: "after-foreign"})
			require.NoError(t, err)
			assert.Len(t, res.Recorded.Entries, 1)
		}
	}
	if _, refunds := h.Gateway.(payments.Refunder); refunds {
		p := w.paid("acct_foreign_paid")
		refused(p, "refund", func() error {
			_, err := w.svc.Refund(ctx, p.ID, payments.RefundOptions{Key: "foreign", Extension: ext})
			return err
		})
		assert.Empty(t, w.amounts(p, payments.KindRefund))
		assert.Equal(t, h.amount().Amount, w.balance(p.Account))
	}
}
