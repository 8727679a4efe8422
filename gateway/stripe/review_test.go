package stripe_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

// captureAfterReview checks what stripe-mock accepts of the policy's
// calls. stripe-mock answers from static fixtures (an intent that is not
// awaiting capture), so the capture itself is shown against fakeAPI.
func (m *stripeMock) captureAfterReview(t *testing.T) {
	g := newGateway(t, func(c *stripe.Config) {
		c.SecretKey, c.BaseURL, c.HTTPClient, c.CaptureAfterReview = "sk_test_GatewayA123", m.base, &http.Client{Transport: m.rec}, true
	})
	for _, name := range []string{"payment_intent.amount_capturable_updated", "review.closed"} {
		c, err := g.ParseWebhook(t.Context(), event(t, name))
		require.NoError(t, err, name)
		r := m.rec.last(t)
		assert.Equal(t, http.MethodGet, r.method, name)
		assert.Regexp(t, "^/v1/payment_intents/pi_", r.path, name)
		assert.Equal(t, url.Values{"expand[0]": {"review"}, "expand[1]": {"latest_charge.balance_transaction"}}, r.form, name)
		assert.NoError(t, c.Validate("stripe"), name)
	}
}

// policyGateway is a Gateway with CaptureAfterReview against api, and a
// Service over it.
func policyGateway(t *testing.T, api *fakeAPI) *harness {
	return newHarness(t, newGateway(t, func(c *stripe.Config) {
		c.SecretKey, c.BaseURL, c.CaptureAfterReview = "sk_test_123", api.URL, true
	}))
}

func authorized(t *testing.T, h *harness, api *fakeAPI, account string) *payments.Payment {
	p, err := h.svc.Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: account, Amount: usd(2500), Capture: payments.CaptureManual})
	require.NoError(t, err)
	api.authorize(t, p.GatewayID)
	return p
}

func TestCaptureAfterReviewOnlyWhereItApplies(t *testing.T) {
	api := newFakeAPI(t)
	t.Run("policy off", func(t *testing.T) {
		h := newHarness(t, newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", api.URL }))
		p := authorized(t, h, api, "user-1")
		before := len(api.callLog())
		assert.Equal(t, payments.OutcomeRecorded, h.deliver(objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(p.GatewayID), nil)))
		assert.Equal(t, payments.StatusAuthorized, h.status(p.GatewayID))
		assert.Len(t, api.callLog(), before, "no API call")
	})
	t.Run("not manual capture", func(t *testing.T) {
		g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL, c.CaptureAfterReview = "sk_test_123", api.URL, true })
		before := len(api.callLog())
		body := edit(t, fixture(t, "payment_intent.amount_capturable_updated"), func(ev map[string]any) {
			object(ev)["capture_method"] = "automatic_async"
		})
		c, err := g.ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
		require.NoError(t, err)
		assert.Equal(t, payments.StatusAuthorized, c.Payments[0].Status)
		assert.Len(t, api.callLog(), before, "no API call")
	})
	t.Run("review closed as redacted", func(t *testing.T) {
		h := policyGateway(t, api)
		p := authorized(t, h, api, "user-2")
		api.openReview(t, p.GatewayID)
		closed := objectEvent(t, "review.closed", api.closeReview(t, p.GatewayID, "redacted"), nil)
		assert.Equal(t, payments.OutcomeRecorded, h.deliver(closed))
		assert.Equal(t, payments.StatusAuthorized, h.status(p.GatewayID), "left for the host")
		assert.Equal(t, "requires_capture", api.intent(p.GatewayID)["status"])
	})
}

// TestCaptureInFlightElsewhere: another instance's delivery of the same
// event is capturing the payment; Stripe answers 409 for the same key, and
// the notification fails, so that Stripe delivers it again — and the
// redelivery finds the capture done.
func TestCaptureInFlightElsewhere(t *testing.T) {
	api := newFakeAPI(t)
	h := policyGateway(t, api)
	p := authorized(t, h, api, "user-3")
	capturable := objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(p.GatewayID), nil)

	api.mu.Lock()
	api.inFlight[p.ID+":capture"] = true
	api.mu.Unlock()
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", capturable)
	require.Error(t, err)
	for _, s := range []error{payments.ErrInvalidInput, payments.ErrConflict, payments.ErrUnauthenticated} {
		assert.NotErrorIs(t, err, s)
	}
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status, "Stripe delivers it again")
	assert.Contains(t, res.Notification.Detail, "idempotency_key_in_use")

	api.mu.Lock()
	delete(api.inFlight, p.ID+":capture")
	api.mu.Unlock()
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(capturable))
	assert.Equal(t, int64(2500), h.balance("user-3"))
}

// TestCaptureWhenStripeIsUnreachable: the notification fails and is
// journaled as failed; Stripe's redelivery, or a replay of the row,
// captures once.
func TestCaptureWhenStripeIsUnreachable(t *testing.T) {
	api := newFakeAPI(t)
	h := policyGateway(t, api)
	p := authorized(t, h, api, "user-4")
	capture := "POST /v1/payment_intents/" + p.GatewayID + "/capture"
	api.failNextOn(capture, http.StatusServiceUnavailable, `{"error":{"type":"api_error","message":"Stripe is down."}}`, nil)
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(p.GatewayID), nil))
	require.Error(t, err)
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status)
	assert.Zero(t, h.balance("user-4"))

	replayed, err := h.svc.Replay(t.Context(), res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, replayed.Notification.Outcome)
	again, err := h.svc.Replay(t.Context(), res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, again.Notification.Outcome)
	assert.Equal(t, int64(2500), h.balance("user-4"))
	n := 0
	for _, c := range api.executedCalls() {
		if strings.HasPrefix(c, capture+" ") {
			n++
		}
	}
	assert.Equal(t, 1, n)
}

// TestCaptureRefused: when Stripe refuses the capture because the intent
// moved on (canceled in the Dashboard between the read and the capture),
// the intent is reported as it now is; when it still awaits capture, the
// refusal stands and the notification is rejected with it.
func TestCaptureRefused(t *testing.T) {
	unexpected := string(stripeError("invalid_request_error", "payment_intent_unexpected_state",
		"This PaymentIntent could not be captured because it has a status of canceled."))
	api := newFakeAPI(t)
	h := policyGateway(t, api)

	p := authorized(t, h, api, "user-5")
	api.failNextOn("POST /v1/payment_intents/"+p.GatewayID+"/capture", http.StatusBadRequest, unexpected, func(f *fakeAPI) {
		f.intents[p.GatewayID]["status"] = "canceled"
	})
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(p.GatewayID), nil)))
	assert.Equal(t, payments.StatusCanceled, h.status(p.GatewayID))

	q := authorized(t, h, api, "user-5")
	api.failNextOn("POST /v1/payment_intents/"+q.GatewayID+"/capture", http.StatusPaymentRequired,
		`{"error":{"type":"card_error","code":"card_declined","message":"Your card was declined."}}`, nil)
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(q.GatewayID), nil))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Equal(t, payments.OutcomeRejected, res.Notification.Outcome)
	assert.Contains(t, res.Notification.Detail, "stripe: capture "+q.GatewayID)
	assert.Zero(t, h.balance("user-5"))
}

// TestCaptureOfAnIntentMadeElsewhere: an intent the library did not create
// (the old backend's, still authorized at the move) has no library
// payment id, so the capture is keyed by the intent's own id; its money is
// parked until the host says whose it is.
func TestCaptureOfAnIntentMadeElsewhere(t *testing.T) {
	api := newFakeAPI(t)
	h := policyGateway(t, api)
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", api.URL })
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{Amount: usd(2500), Capture: payments.CaptureManual})
	require.NoError(t, err)
	api.authorize(t, co.GatewayID)
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(co.GatewayID), nil))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome)
	assert.Contains(t, api.executedCalls(), "POST /v1/payment_intents/"+co.GatewayID+"/capture key="+co.GatewayID+":capture")

	attributed, err := h.svc.Attribute(t.Context(), res.Notification.ID, payments.Attribution{Account: "user-6"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, attributed.Notification.Outcome)
	assert.Equal(t, int64(2500), h.balance("user-6"))
}
