package stripe_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/store/memory"
)

type harness struct {
	t     *testing.T
	svc   *payments.Service
	store payments.Store
}

func newHarness(t *testing.T, g *stripe.Gateway) *harness {
	store := memory.New()
	svc, err := payments.New(store, payments.WithGateway(g))
	require.NoError(t, err)
	return &harness{t: t, svc: svc, store: store}
}

// deliver sends a fixture (or a signed body) and returns its journal outcome.
func (h *harness) deliver(req *payments.WebhookRequest) payments.Outcome {
	h.t.Helper()
	res, err := h.svc.HandleWebhook(h.t.Context(), "stripe", req)
	require.NoError(h.t, err)
	return res.Notification.Outcome
}

func (h *harness) balance(account string) int64 {
	h.t.Helper()
	b, err := h.svc.Balance(h.t.Context(), account, "USD")
	require.NoError(h.t, err)
	return b.Money.Amount
}

func (h *harness) status(gatewayID string) payments.Status {
	h.t.Helper()
	p, err := h.store.PaymentByGatewayID(h.t.Context(), "stripe", gatewayID)
	require.NoError(h.t, err)
	return p.Status
}

// TestLifecycleThroughService delivers every event of one payment's life,
// in order and each twice, and checks the ledger after each.
func TestLifecycleThroughService(t *testing.T) {
	h := newHarness(t, newGateway(t))
	steps := []struct {
		fixture string
		outcome payments.Outcome
		balance int64
		status  payments.Status
	}{
		{"payment_intent.succeeded", payments.OutcomeRecorded, 2500, payments.StatusSucceeded},
		{"review.closed", payments.OutcomeIgnored, 2500, payments.StatusSucceeded},
		{"refund.created", payments.OutcomeRecorded, 1950, payments.StatusSucceeded},
		{"charge.refund.updated", payments.OutcomeRecorded, 1650, payments.StatusSucceeded},
		{"refund.updated", payments.OutcomeRecorded, 1650, payments.StatusSucceeded}, // −10.00 and +10.00
		{"charge.refunded", payments.OutcomeRecorded, 1650, payments.StatusPartiallyRefunded},
		{"charge.dispute.created", payments.OutcomeRecorded, 1650, payments.StatusDisputed},
		{"charge.dispute.funds_withdrawn", payments.OutcomeRecorded, 0, payments.StatusDisputed},
		{"charge.dispute.funds_reinstated", payments.OutcomeRecorded, 1650, payments.StatusDisputed},
		{"charge.dispute.closed", payments.OutcomeDuplicate, 1650, payments.StatusDisputed},
		{"payment_intent.payment_failed", payments.OutcomeRecorded, 1650, payments.StatusDisputed}, // another intent: user-9's, from its metadata
		{"customer.created", payments.OutcomeIgnored, 1650, payments.StatusDisputed},
	}
	for _, s := range steps {
		assert.Equal(t, s.outcome, h.deliver(event(t, s.fixture)), s.fixture)
		again := payments.OutcomeDuplicate
		if s.outcome != payments.OutcomeRecorded {
			again = s.outcome
		}
		assert.Equal(t, again, h.deliver(event(t, s.fixture)), "%s delivered again", s.fixture)
		assert.Equal(t, s.balance, h.balance("user-42"), "balance after %s", s.fixture)
		assert.Equal(t, s.status, h.status(piID), "status after %s", s.fixture)
	}
	entries, _, err := h.svc.Entries(t.Context(), payments.EntryFilter{Account: "user-42"})
	require.NoError(t, err)
	kinds := map[payments.EntryKind]int{}
	for _, e := range entries {
		kinds[e.Kind]++
		assert.Equal(t, paymentID, e.PaymentID, "%s %s is linked to its payment", e.Kind, e.GatewayRef)
	}
	assert.Equal(t, map[payments.EntryKind]int{payments.KindCharge: 1, payments.KindRefund: 3,
		payments.KindRefundReversal: 1, payments.KindChargeback: 1, payments.KindChargebackReversal: 1}, kinds)
}

// TestOutOfOrderDelivery delivers the same life backwards: the ledger ends
// where in-order delivery ends, and the status never moves back.
func TestOutOfOrderDelivery(t *testing.T) {
	h := newHarness(t, newGateway(t))
	// Money for a payment the Service has never seen, with no account on
	// it, is parked rather than guessed.
	assert.Equal(t, payments.OutcomeParked, h.deliver(event(t, "refund.created")))

	// charge.refunded carries the account in the charge's metadata, so it
	// creates the payment and records the refunds it lists.
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(event(t, "charge.refunded")))
	assert.Equal(t, int64(-850), h.balance("user-42"))
	for _, name := range []string{"charge.dispute.closed", "charge.dispute.funds_reinstated", "charge.dispute.funds_withdrawn",
		"charge.dispute.created", "refund.updated", "charge.refund.updated", "refund.created", "payment_intent.succeeded"} {
		h.deliver(event(t, name))
	}
	assert.Equal(t, int64(1650), h.balance("user-42"))
	assert.Equal(t, payments.StatusDisputed, h.status(piID), "a late payment_intent.succeeded does not undo the dispute")

	// The parked refund replays as a duplicate now that its payment is known.
	parked, _, err := h.svc.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeParked})
	require.NoError(t, err)
	require.Len(t, parked, 1)
	res, err := h.svc.Replay(t.Context(), parked[0].ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
}

func TestRefundFailureBeforeItsSuccessArrives(t *testing.T) {
	h := newHarness(t, newGateway(t))
	h.deliver(event(t, "payment_intent.succeeded"))
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(event(t, "refund.updated")))
	assert.Equal(t, int64(2500), h.balance("user-42"), "refund and reversal arrive together")
	succeeded := edit(t, fixture(t, "refund.updated"), func(ev map[string]any) {
		ev["id"] = "evt_earlier"
		object(ev)["status"] = "succeeded"
		ev["data"].(map[string]any)["previous_attributes"] = map[string]any{"status": "pending"}
	})
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(signed(succeeded, testSecret, time.Now())))
	assert.Equal(t, int64(2500), h.balance("user-42"))
}

// TestVersionMismatchIsJournaledAndReplayable shows the way out of a
// mismatch: the rejected notification is journaled as verified, so once the
// host accepts other versions it can replay it.
func TestVersionMismatchIsJournaledAndReplayable(t *testing.T) {
	h := newHarness(t, newGateway(t))
	body := edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { ev["api_version"] = "2022-11-15" })
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", signed(body, testSecret, time.Now()))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Equal(t, payments.OutcomeRejected, res.Notification.Outcome)
	assert.True(t, res.Notification.Verified)
	assert.Contains(t, res.Notification.Detail, "api_version=2023-10-16")
	assert.NotEmpty(t, res.Notification.Header.Get(stripe.SignatureHeader), "kept for the replay")

	lenient, err := payments.New(h.store, payments.WithGateway(newGateway(t, func(c *stripe.Config) { c.IgnoreAPIVersionMismatch = true })))
	require.NoError(t, err)
	replayed, err := lenient.Replay(t.Context(), res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, replayed.Notification.Outcome)
	assert.Equal(t, int64(2500), h.balance("user-42"))
}

// TestOperationsThroughService runs checkout, capture, refund and cancel
// through the Service against fakeAPI, and checks that each answer and the
// webhook that repeats it are one entry.
func TestOperationsThroughService(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t, newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", api.URL }))
	ctx := t.Context()

	p, err := h.svc.Checkout(ctx, "stripe", payments.CheckoutRequest{Account: "user-42", Amount: usd(2500),
		Reference: reference, Capture: payments.CaptureManual})
	require.NoError(t, err)
	assert.Equal(t, "pi_fake1", p.GatewayID)
	assert.Equal(t, "pi_fake1_secret_fake", p.ClientSecret)

	api.authorize(t, p.GatewayID)
	captured, err := h.svc.Capture(ctx, p.ID, payments.CaptureOptions{})
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, captured.Payment.Status)
	require.Len(t, captured.Recorded.Entries, 1)
	assert.Equal(t, usd(2500), captured.Recorded.Entries[0].Amount)

	// Stripe's payment_intent.succeeded for the same intent follows.
	webhook := edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) {
		o := object(ev)
		o["id"], o["latest_charge"], o["metadata"] = "pi_fake1", "ch_fake1", map[string]any{stripe.MetadataAccount: "user-42",
			stripe.MetadataPaymentID: p.ID, stripe.MetadataReference: reference}
	})
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(signed(webhook, testSecret, time.Now())))

	part := usd(550)
	refunded, err := h.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Key: "support-ticket-7"})
	require.NoError(t, err)
	require.Len(t, refunded.Recorded.Entries, 1)
	again, err := h.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Key: "support-ticket-7"})
	require.NoError(t, err)
	assert.Empty(t, again.Recorded.Entries, "the same key is the same refund at Stripe")
	assert.Equal(t, int64(1950), h.balance("user-42"))

	api.setRefundStatus("pending")
	pending, err := h.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Key: "support-ticket-8"})
	require.NoError(t, err)
	assert.Empty(t, pending.Recorded.Entries, "a pending refund waits for its event")
	assert.Equal(t, int64(1950), h.balance("user-42"))

	assert.Equal(t, []string{
		"POST /v1/payment_intents key=" + p.ID,
		"POST /v1/payment_intents/pi_fake1/capture key=" + p.ID + ":capture",
		"GET /v1/charges/ch_fake1 key=", // payment_intent.succeeded: the charge, for its settlement figures
		"POST /v1/refunds key=" + p.ID + ":refund:support-ticket-7",
		"POST /v1/refunds key=" + p.ID + ":refund:support-ticket-7",
		"POST /v1/refunds key=" + p.ID + ":refund:support-ticket-8",
	}, api.callLog())
}

func TestPartialCaptureAndCancelThroughService(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t, newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", api.URL }))
	ctx := t.Context()
	checkout := func() *payments.Payment {
		p, err := h.svc.Checkout(ctx, "stripe", payments.CheckoutRequest{Account: "user-5", Amount: usd(2500), Capture: payments.CaptureManual})
		require.NoError(t, err)
		return p
	}
	p := checkout()
	api.authorize(t, p.GatewayID)
	part := usd(1000)
	res, err := h.svc.Capture(ctx, p.ID, payments.CaptureOptions{Amount: &part})
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, usd(1000), res.Recorded.Entries[0].Amount, "amount_received, not amount")
	assert.Equal(t, int64(1000), h.balance("user-5"))

	// Capturing what is no longer authorized is Stripe's to refuse.
	_, err = h.svc.Capture(ctx, p.ID, payments.CaptureOptions{Key: "again"})
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Contains(t, err.Error(), "payment_intent_unexpected_state")

	q := checkout()
	res, err = h.svc.Cancel(ctx, q.ID, payments.CancelOptions{Reason: "abandoned"})
	require.NoError(t, err)
	assert.Equal(t, payments.StatusCanceled, res.Payment.Status)
	assert.Empty(t, res.Recorded.Entries)
	assert.Equal(t, "abandoned", api.intent(q.GatewayID)["cancellation_reason"], "the reason reaches Stripe")
}

// TestDashboardRefundListing: a refund made outside the driver reaches the
// ledger through charge.refunded because a Gateway with a key lists the
// charge's refunds by default; a refund made through Refund is then a
// duplicate. With DisableRefundListing only the status moves.
func TestDashboardRefundListing(t *testing.T) {
	for _, disabled := range []bool{false, true} {
		api := newFakeAPI(t)
		h := newHarness(t, newGateway(t, func(c *stripe.Config) {
			c.SecretKey, c.BaseURL, c.DisableRefundListing = "sk_test_123", api.URL, disabled
		}))
		p, err := h.svc.Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: "user-42", Amount: usd(2500)})
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeRecorded, h.deliver(objectEvent(t, "payment_intent.succeeded", api.pay(t, p.GatewayID), nil)))
		part := usd(500)
		_, err = h.svc.Refund(t.Context(), p.ID, payments.RefundOptions{Amount: &part})
		require.NoError(t, err)
		api.refundInDashboard(p.GatewayID, 700)

		refunded := edit(t, fixture(t, "charge.refunded.unlisted"), func(ev map[string]any) {
			o := object(ev)
			o["id"], o["payment_intent"], o["amount_refunded"] = "ch_fake1", p.GatewayID, 1200
		})
		assert.Equal(t, payments.OutcomeRecorded, h.deliver(signed(refunded, testSecret, time.Now())))
		assert.Equal(t, payments.StatusPartiallyRefunded, h.status(p.GatewayID))
		if disabled {
			assert.Equal(t, int64(2500-500), h.balance("user-42"), "with listing off only the status moves")
			assert.NotContains(t, api.callLog(), "GET /v1/refunds key=")
		} else {
			assert.Equal(t, int64(2500-500-700), h.balance("user-42"), "the Dashboard refund is listed and recorded")
			assert.Contains(t, api.callLog(), "GET /v1/refunds key=")
		}
	}
}
