package stripe_test

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

// recorder keeps every API request a Gateway sends, so tests can check the
// parameters and headers a simulator accepted.
type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

type recorded struct {
	method, path string
	form         url.Values
	header       http.Header
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	var body []byte
	if req.Body != nil {
		body, _ = io.ReadAll(req.Body)
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	form, _ := url.ParseQuery(string(body))
	if req.Method == http.MethodGet {
		form = req.URL.Query()
	}
	r.mu.Lock()
	r.reqs = append(r.reqs, recorded{req.Method, req.URL.Path, form, req.Header.Clone()})
	r.mu.Unlock()
	return http.DefaultTransport.RoundTrip(req)
}

func (r *recorder) last(t *testing.T) recorded {
	t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	require.NotEmpty(t, r.reqs)
	return r.reqs[len(r.reqs)-1]
}

// TestAgainstStripeMock sends every call the driver makes to stripe-mock,
// which rejects parameters the 2023-10-16 API does not take, and checks what
// was sent.
func TestAgainstStripeMock(t *testing.T) {
	m := &stripeMock{base: startStripeMock(t), rec: &recorder{}}
	m.g = m.gateway(t, "stripe", "sk_test_GatewayA123")
	t.Run("checkout", m.checkout)
	t.Run("manual checkout in special currencies", m.manualCheckout)
	t.Run("partial capture", m.partialCapture)
	t.Run("cancel", m.cancel)
	t.Run("partial refund", m.partialRefund)
	t.Run("full refund with a Stripe reason", m.fullRefund)
	t.Run("health", m.health)
	t.Run("two keys in one process", m.twoKeys)
	t.Run("list refunds of a charge.refunded event", m.listRefunds)
	t.Run("hosted checkout session", m.hostedCheckout)
	t.Run("capture after review reads the intent and its review", m.captureAfterReview)
	t.Run("a checkout session's PaymentIntent is read", m.sessionIntent)
	t.Run("payment_intent.succeeded reads its charge for settlement figures", m.settlementLookup)
	t.Run("unknown route is an error", m.unknownRoute)
}

type stripeMock struct {
	base string
	rec  *recorder
	g    *stripe.Gateway
}

// mockPayment is a captured payment as the Service passes it to the driver.
var mockPayment = payments.Payment{ID: "pay_mock1", GatewayID: piID, Account: "user-42", Amount: usd(2500)}

func (m *stripeMock) gateway(t *testing.T, name, key string) *stripe.Gateway {
	return newGateway(t, func(c *stripe.Config) {
		c.Name, c.SecretKey, c.BaseURL, c.HTTPClient = name, key, m.base, &http.Client{Transport: m.rec}
	})
}

func (m *stripeMock) checkout(t *testing.T) {
	co, err := m.g.CreateCheckout(t.Context(), payments.CheckoutRequest{
		Account: "user-42", Amount: usd(2500), Reference: reference, Description: "Order 672626",
		Metadata: map[string]string{"order": "672626", stripe.MetadataAccount: "spoofed"}, PaymentID: "pay_mock1",
	})
	require.NoError(t, err)
	assert.Regexp(t, "^pi_", co.GatewayID)
	assert.NotEmpty(t, co.ClientSecret)
	assert.Equal(t, payments.StatusPending, co.Status)
	r := m.rec.last(t)
	assert.Equal(t, "POST /v1/payment_intents", r.method+" "+r.path)
	assert.Equal(t, url.Values{
		"amount": {"2500"}, "currency": {"usd"}, "capture_method": {"automatic"}, "description": {"Order 672626"},
		"metadata[order]": {"672626"}, "metadata[payments_account]": {"user-42"},
		"metadata[payments_reference]": {reference}, "metadata[payments_payment_id]": {"pay_mock1"},
	}, r.form)
	assert.Equal(t, "pay_mock1", r.header.Get("Idempotency-Key"))
	assert.Equal(t, "Bearer sk_test_GatewayA123", r.header.Get("Authorization"))
	assert.Equal(t, "2023-10-16", r.header.Get("Stripe-Version"))
}

func (m *stripeMock) manualCheckout(t *testing.T) {
	for _, tt := range []struct {
		money  payments.Money
		amount string
	}{{payments.Money{Amount: 500, Currency: "JPY"}, "500"}, {payments.Money{Amount: 5, Currency: "ISK"}, "500"}} {
		_, err := m.g.CreateCheckout(t.Context(), payments.CheckoutRequest{Account: "user-42", Amount: tt.money,
			Capture: payments.CaptureManual, PaymentID: "pay_mock2" + string(tt.money.Currency)})
		require.NoError(t, err)
		assert.Equal(t, tt.amount, m.rec.last(t).form.Get("amount"))
		assert.Equal(t, "manual", m.rec.last(t).form.Get("capture_method"))
	}
}

func (m *stripeMock) partialCapture(t *testing.T) {
	amount := usd(1000)
	_, err := m.g.Capture(t.Context(), mockPayment, payments.CaptureOptions{Amount: &amount, Key: "pay_mock1:capture"})
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "/v1/payment_intents/"+piID+"/capture", r.path)
	assert.Equal(t, url.Values{"amount_to_capture": {"1000"}, "expand[0]": {"latest_charge.balance_transaction"}}, r.form)
	assert.Equal(t, "pay_mock1:capture", r.header.Get("Idempotency-Key"))
}

func (m *stripeMock) cancel(t *testing.T) {
	_, err := m.g.Cancel(t.Context(), mockPayment, payments.CancelOptions{Reason: "requested_by_customer", Key: "pay_mock1:cancel"})
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "/v1/payment_intents/"+piID+"/cancel", r.path)
	assert.Equal(t, url.Values{"cancellation_reason": {"requested_by_customer"}}, r.form)
	assert.Equal(t, "pay_mock1:cancel", r.header.Get("Idempotency-Key"))

	// A reason that is not one of Stripe's would be refused; it is not sent.
	_, err = m.g.Cancel(t.Context(), mockPayment, payments.CancelOptions{Reason: "changed their mind", Key: "pay_mock1:cancel:2"})
	require.NoError(t, err)
	assert.Empty(t, m.rec.last(t).form)
}

func (m *stripeMock) partialRefund(t *testing.T) {
	amount := usd(550)
	c, err := m.g.Refund(t.Context(), mockPayment, payments.RefundOptions{Amount: &amount, Reason: "goodwill", Key: "pay_mock1:refund:k1"})
	require.NoError(t, err)
	assert.NoError(t, c.Validate("stripe"))
	r := m.rec.last(t)
	assert.Equal(t, "POST /v1/refunds", r.method+" "+r.path)
	assert.Equal(t, url.Values{"payment_intent": {piID}, "amount": {"550"},
		"metadata[payments_account]": {"user-42"}, "metadata[payments_payment_id]": {"pay_mock1"},
		"metadata[payments_reason]": {"goodwill"}}, r.form)
	assert.Equal(t, "pay_mock1:refund:k1", r.header.Get("Idempotency-Key"))
}

func (m *stripeMock) fullRefund(t *testing.T) {
	_, err := m.g.Refund(t.Context(), mockPayment, payments.RefundOptions{Reason: "duplicate", Key: "pay_mock1:refund:k2"})
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "duplicate", r.form.Get("reason"))
	assert.Empty(t, r.form.Get("amount"), "no amount refunds what is left")
}

func (m *stripeMock) health(t *testing.T) {
	require.NoError(t, m.g.CheckHealth(t.Context()))
	assert.Equal(t, "GET /v1/balance", m.rec.last(t).method+" "+m.rec.last(t).path)
}

func (m *stripeMock) twoKeys(t *testing.T) {
	other := m.gateway(t, "stripe-eu", "sk_test_GatewayB456")
	require.NoError(t, other.CheckHealth(t.Context()))
	assert.Equal(t, "Bearer sk_test_GatewayB456", m.rec.last(t).header.Get("Authorization"))
	require.NoError(t, m.g.CheckHealth(t.Context()))
	assert.Equal(t, "Bearer sk_test_GatewayA123", m.rec.last(t).header.Get("Authorization"))
}

func (m *stripeMock) listRefunds(t *testing.T) {
	c, err := m.g.ParseWebhook(t.Context(), event(t, "charge.refunded.unlisted"))
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "GET /v1/refunds", r.method+" "+r.path)
	assert.Equal(t, url.Values{"charge": {chargeID}, "limit": {"100"}}, r.form)
	require.NotEmpty(t, c.Entries, "stripe-mock lists one refund")
	for _, e := range c.Entries {
		assert.Equal(t, payments.KindRefund, e.Kind)
	}
	assert.NoError(t, c.Validate("stripe"))
}

func (m *stripeMock) unknownRoute(t *testing.T) {
	broken := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", m.base+"/nowhere" })
	err := broken.CheckHealth(t.Context())
	require.Error(t, err)
	assert.Regexp(t, "^stripe: check balance: ", err.Error())
}

func TestWebhookOnlyGatewayCannotCallTheAPI(t *testing.T) {
	g := newGateway(t)
	_, err := g.Capture(t.Context(), payments.Payment{GatewayID: "pi_1"}, payments.CaptureOptions{})
	require.ErrorIs(t, err, payments.ErrNotSupported)
	assert.Equal(t, "stripe: capture pi_1: the gateway has no SecretKey: not supported", err.Error())
	require.ErrorIs(t, g.CheckHealth(t.Context()), payments.ErrNotSupported)
}

func TestAPIErrors(t *testing.T) {
	tests := []struct {
		name     string
		status   int
		body     string
		sentinel error
		message  string
	}{
		{"card declined", http.StatusPaymentRequired,
			`{"error":{"type":"card_error","code":"card_declined","decline_code":"insufficient_funds","message":"Your card has insufficient funds."}}`,
			payments.ErrInvalidInput, "stripe: capture pi_fake1: Your card has insufficient funds. (card_error, card_declined, insufficient_funds, request req_fake): invalid input"},
		{"invalid request", http.StatusBadRequest,
			`{"error":{"type":"invalid_request_error","code":"amount_too_large","message":"Amount must be no more than $999,999.99"}}`,
			payments.ErrInvalidInput, "stripe: capture pi_fake1: Amount must be no more than $999,999.99 (invalid_request_error, amount_too_large, request req_fake): invalid input"},
		{"missing", http.StatusNotFound,
			`{"error":{"type":"invalid_request_error","code":"resource_missing","message":"No such payment_intent: 'pi_fake1'"}}`,
			payments.ErrNotFound, ""},
		{"idempotency", http.StatusBadRequest,
			`{"error":{"type":"idempotency_error","message":"Keys for idempotent requests can only be used with the same parameters they were first used with."}}`,
			payments.ErrConflict, ""},
		{"bad key", http.StatusUnauthorized,
			`{"error":{"type":"invalid_request_error","message":"Invalid API Key provided: sk_test_****1234"}}`,
			nil, ""},
		{"stripe down", http.StatusInternalServerError, `{"error":{"type":"api_error","message":"Something went wrong."}}`, nil, ""},
		{"same key in flight", http.StatusConflict,
			`{"error":{"type":"invalid_request_error","code":"idempotency_key_in_use","message":"There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later."}}`,
			nil, ""},
	}
	api := newFakeAPI(t)
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_1234", api.URL })
	p := payments.Payment{GatewayID: "pi_fake1"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			api.failNext(tt.status, tt.body)
			_, err := g.Capture(t.Context(), p, payments.CaptureOptions{Key: "k"})
			require.Error(t, err)
			assert.Regexp(t, "^stripe: capture pi_fake1: ", err.Error())
			for _, s := range []error{payments.ErrInvalidInput, payments.ErrNotFound, payments.ErrConflict} {
				assert.Equal(t, s == tt.sentinel, errors.Is(err, s), "errors.Is(%v)", s)
			}
			var se *stripego.Error
			require.True(t, errors.As(err, &se), "the *stripe.Error is reachable")
			assert.Equal(t, tt.status, se.HTTPStatusCode)
			if tt.message != "" {
				assert.Equal(t, tt.message, err.Error())
			}
		})
	}
}

// TestForeignExtensionIsRefused: the driver takes no extension, so one of
// another driver's is refused before Stripe is called.
func TestForeignExtensionIsRefused(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_1234", api.URL })
	p := payments.Payment{ID: "pay_1", GatewayID: "pi_fake1", Amount: usd(2500)}
	type otherDriversExtension struct{ Address string }
	ext := otherDriversExtension{"T123"}
	for op, call := range map[string]func() error{
		"capture": func() error {
			_, err := g.Capture(t.Context(), p, payments.CaptureOptions{Extension: ext})
			return err
		},
		"cancel": func() error {
			_, err := g.Cancel(t.Context(), p, payments.CancelOptions{Extension: ext})
			return err
		},
		"refund": func() error {
			_, err := g.Refund(t.Context(), p, payments.RefundOptions{Extension: &ext})
			return err
		},
	} {
		err := call()
		require.ErrorIs(t, err, payments.ErrInvalidInput, op)
		assert.Regexp(t, "^stripe: "+op+" pi_fake1: extension of type .*otherDriversExtension", err.Error())
	}
	assert.Empty(t, api.callLog(), "nothing reached Stripe")
}

// TestLongIdempotencyKey: a key past Stripe's 255 characters is sent as its
// hash, the same for the same key, so a retry is still the same request.
func TestLongIdempotencyKey(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_1234", api.URL })
	p := payments.Payment{ID: "pay_1", GatewayID: "pi_fake1"}
	long := "pay_1:cancel:" + strings.Repeat("ticket-", 40)
	for range 2 {
		_, err := g.Cancel(t.Context(), p, payments.CancelOptions{Key: long})
		require.ErrorIs(t, err, payments.ErrNotFound, "the fake holds no such intent")
	}
	_, err := g.Cancel(t.Context(), p, payments.CancelOptions{Key: long + "x"})
	require.ErrorIs(t, err, payments.ErrNotFound)
	calls := api.callLog()
	require.Len(t, calls, 3)
	assert.Regexp(t, `key=sha256:[0-9a-f]{64}$`, calls[0])
	assert.Equal(t, calls[0], calls[1])
	assert.NotEqual(t, calls[0], calls[2])
}
