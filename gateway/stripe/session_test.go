package stripe_test

import (
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

func (m *stripeMock) hostedCheckout(t *testing.T) {
	g := newGateway(t, func(c *stripe.Config) {
		c.SecretKey, c.BaseURL, c.HTTPClient, c.HostedCheckout = "sk_test_GatewayA123", m.base, &http.Client{Transport: m.rec}, true
	})
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{
		Account: "user-42", Amount: usd(2500), Reference: reference, Description: "Order 672626", Capture: payments.CaptureManual,
		ReturnURL: "https://shop.example/thanks", CancelURL: "https://shop.example/cart", PaymentID: "pay_mock3",
	})
	require.NoError(t, err)
	assert.Regexp(t, "^https://checkout.stripe.com/", co.RedirectURL)
	assert.Equal(t, payments.StatusPending, co.Status)
	assert.Empty(t, co.ClientSecret)
	r := m.rec.last(t)
	assert.Equal(t, "POST /v1/checkout/sessions", r.method+" "+r.path)
	assert.Equal(t, url.Values{
		"mode": {"payment"}, "success_url": {"https://shop.example/thanks"}, "cancel_url": {"https://shop.example/cart"},
		"client_reference_id":                                {"user-42"},
		"line_items[0][price_data][currency]":                {"usd"},
		"line_items[0][price_data][unit_amount]":             {"2500"},
		"line_items[0][price_data][product_data][name]":      {"Order 672626"},
		"line_items[0][quantity]":                            {"1"},
		"metadata[payments_account]":                         {"user-42"},
		"metadata[payments_reference]":                       {reference},
		"metadata[payments_payment_id]":                      {"pay_mock3"},
		"payment_intent_data[capture_method]":                {"manual"},
		"payment_intent_data[description]":                   {"Order 672626"},
		"payment_intent_data[metadata][payments_account]":    {"user-42"},
		"payment_intent_data[metadata][payments_reference]":  {reference},
		"payment_intent_data[metadata][payments_payment_id]": {"pay_mock3"},
	}, r.form)
	assert.Equal(t, "pay_mock3", r.header.Get("Idempotency-Key"))

	// Without a return URL there is no page to come back to: a bare
	// PaymentIntent, confirmed by the client.
	co, err = g.CreateCheckout(t.Context(), payments.CheckoutRequest{Account: "user-42", Amount: usd(2500), PaymentID: "pay_mock4"})
	require.NoError(t, err)
	assert.Regexp(t, "^pi_", co.GatewayID)
	assert.NotEmpty(t, co.ClientSecret)
	assert.Equal(t, "/v1/payment_intents", m.rec.last(t).path)
}

func (m *stripeMock) sessionIntent(t *testing.T) {
	c, err := m.g.ParseWebhook(t.Context(), event(t, "checkout.session.completed"))
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "GET /v1/payment_intents/"+sessionPI, r.method+" "+r.path)
	assert.Equal(t, url.Values{"expand[0]": {"review"}, "expand[1]": {"latest_charge.balance_transaction"}}, r.form)
	require.Len(t, c.Payments, 1)
	assert.Equal(t, sessionPI, c.Payments[0].GatewayID)
	assert.Equal(t, sessionPayment, c.Payments[0].PaymentID)
	assert.Equal(t, "user-42", c.Payments[0].Account)
	assert.NoError(t, c.Validate("stripe"))
}

// TestHostedCheckoutSession: a payment made through a hosted Checkout
// Session takes its PaymentIntent's id as its gateway id from whichever
// event names it first, and checkout.session.completed and
// payment_intent.succeeded are one entry in either order.
func TestHostedCheckoutSession(t *testing.T) {
	for _, sessionFirst := range []bool{true, false} {
		api := newFakeAPI(t)
		h := newHarness(t, newGateway(t, func(c *stripe.Config) {
			c.SecretKey, c.BaseURL, c.HostedCheckout = "sk_test_123", api.URL, true
		}))
		p, err := h.svc.Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: "user-42", Amount: usd(2500),
			Reference: reference, Description: "Order 672626", ReturnURL: "https://shop.example/thanks", CancelURL: "https://shop.example/cart"})
		require.NoError(t, err)
		assert.Empty(t, p.GatewayID, "Stripe creates the session's PaymentIntent when the customer pays")
		assert.Equal(t, "https://checkout.stripe.com/c/pay/cs_test_fake1", p.RedirectURL)
		assert.Equal(t, payments.StatusPending, p.Status)
		s := api.session("cs_test_fake1")
		assert.Equal(t, "user-42", s["client_reference_id"])
		assert.Equal(t, p.ID, s["metadata"].(map[string]string)[stripe.MetadataPaymentID])
		assert.Equal(t, p.ID, s["_intent_metadata"].(map[string]string)[stripe.MetadataPaymentID])
		assert.Equal(t, "automatic", s["_capture_method"])

		completed, intentID := api.paySession(t, "cs_test_fake1")
		sessionEvent := objectEvent(t, "checkout.session.completed", completed, nil)
		intentEvent := objectEvent(t, "payment_intent.succeeded", api.intent(intentID), nil)
		first, second := sessionEvent, intentEvent
		if !sessionFirst {
			first, second = intentEvent, sessionEvent
		}
		assert.Equal(t, payments.OutcomeRecorded, h.deliver(first))
		assert.Equal(t, payments.OutcomeDuplicate, h.deliver(second))
		paid, err := h.svc.Payment(t.Context(), p.ID)
		require.NoError(t, err)
		assert.Equal(t, intentID, paid.GatewayID)
		assert.Equal(t, payments.StatusSucceeded, paid.Status)
		assert.Equal(t, int64(2500), h.balance("user-42"))

		// Refund acts on the session's PaymentIntent.
		part := usd(500)
		refunded, err := h.svc.Refund(t.Context(), p.ID, payments.RefundOptions{Amount: &part})
		require.NoError(t, err)
		assert.Len(t, refunded.Recorded.Entries, 1)
		assert.Equal(t, int64(2000), h.balance("user-42"))
	}
}

func TestHostedCheckoutSessionExpires(t *testing.T) {
	api := newFakeAPI(t)
	h := newHarness(t, newGateway(t, func(c *stripe.Config) {
		c.SecretKey, c.BaseURL, c.HostedCheckout = "sk_test_123", api.URL, true
	}))
	p, err := h.svc.Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: "user-9", Amount: usd(1200),
		ReturnURL: "https://shop.example/thanks"})
	require.NoError(t, err)
	expired := api.session("cs_test_fake1")
	expired["status"], expired["url"] = "expired", nil
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(objectEvent(t, "checkout.session.expired", expired, nil)))
	after, err := h.svc.Payment(t.Context(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusExpired, after.Status)
	assert.Empty(t, after.GatewayID)
}

// TestHostedCheckoutManualCapture: a session whose PaymentIntent awaits
// capture is captured under CaptureAfterReview on its completion, once,
// whichever event brings it.
func TestHostedCheckoutManualCapture(t *testing.T) {
	e := newEndpoint(t, func(c *stripe.Config) { c.HostedCheckout = true })
	p, err := e.svc.Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: "user-8", Amount: usd(2500),
		Capture: payments.CaptureManual, ReturnURL: "https://shop.example/thanks"})
	require.NoError(t, err)
	completed, intentID := e.api.paySession(t, "cs_test_fake1")
	assert.Equal(t, "unpaid", completed["payment_status"])
	capturable := objectEvent(t, "payment_intent.amount_capturable_updated", e.api.intent(intentID), nil)

	outcome, _ := e.deliver(objectEvent(t, "checkout.session.completed", completed, nil))
	assert.Equal(t, payments.OutcomeRecorded, outcome)
	outcome, _ = e.deliver(capturable)
	assert.Equal(t, payments.OutcomeDuplicate, outcome)
	assert.Equal(t, 1, e.executed("POST /v1/payment_intents/"+intentID+"/capture", p.ID+":capture"))
	assert.Equal(t, int64(2500), e.balance("user-8"))
	assert.Equal(t, intentID, e.payment(p.ID).GatewayID)
}

// TestPaymentLinkSession: a Payment Link's session has no library payment;
// it is credited to the account its client_reference_id names, and parked
// when it names none.
func TestPaymentLinkSession(t *testing.T) {
	h := newHarness(t, newGateway(t))
	assert.Equal(t, payments.OutcomeRecorded, h.deliver(event(t, "checkout.session.completed.payment_link")))
	b, err := h.svc.Balance(t.Context(), "user-77", "EUR")
	require.NoError(t, err)
	assert.Equal(t, int64(1500), b.Money.Amount)

	anonymous := edit(t, fixture(t, "checkout.session.completed.payment_link"), func(ev map[string]any) {
		ev["id"] = "evt_anonymous"
		object(ev)["client_reference_id"] = nil
		object(ev)["payment_intent"] = "pi_3OQaJcJN5vQBdWEx1Xc8Lr3t"
	})
	res, err := h.svc.HandleWebhook(t.Context(), "stripe", signed(anonymous, testSecret, time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome)

	attributed, err := h.svc.Attribute(t.Context(), res.Notification.ID, payments.Attribution{Account: "user-78"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, attributed.Notification.Outcome)
	b, err = h.svc.Balance(t.Context(), "user-78", "EUR")
	require.NoError(t, err)
	assert.Equal(t, int64(1500), b.Money.Amount)
}
