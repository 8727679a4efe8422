package stripe_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/rates"
	"github.com/payrail/payments/store/memory"
)

// settledAt is when the fake's balance transactions are created.
var settledAt = time.Unix(1703175361, 0).UTC()

func money(minor int64, currency string) payments.Money {
	return payments.Money{Amount: minor, Currency: payments.Currency(currency)}
}

func fixedAmount(minor int64) func(int64) int64 { return func(int64) int64 { return minor } }

// keyedGateway is a Gateway with a key against api, adjusted by mods.
func keyedGateway(t *testing.T, api *fakeAPI, mods ...func(*stripe.Config)) *stripe.Gateway {
	return newGateway(t, append([]func(*stripe.Config){func(c *stripe.Config) {
		c.SecretKey, c.BaseURL = "sk_test_123", api.URL
	}}, mods...)...)
}

// paidEvent has a customer pay amount through a new intent at api, and
// returns the payment_intent.succeeded event Stripe sends for it.
func paidEvent(t *testing.T, g *stripe.Gateway, api *fakeAPI, amount payments.Money) (*payments.WebhookRequest, string) {
	t.Helper()
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{Account: "user-7", Amount: amount, PaymentID: "pay_settle1"})
	require.NoError(t, err)
	return objectEvent(t, "payment_intent.succeeded", api.pay(t, co.GatewayID), nil), co.GatewayID
}

// TestSettlementFigures: a payment_intent.succeeded charge carries the
// gross amount of its balance transaction, which the driver reads with
// one GET of the charge, and the rate settled ÷ charged, exact or to 12
// significant digits, at which the charge converts back to the settled
// amount exactly. Figures that do not price the charge are left out.
func TestSettlementFigures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		charged payments.Money
		settle  fakeSettlement
		want    *payments.Conversion // nil for none
	}{
		{"EUR settled in USD", money(2500, "EUR"),
			fakeSettlement{currency: "usd", amount: fixedAmount(2711), exchangeRate: "1.0844"},
			&payments.Conversion{Money: usd(2711), Rate: "1.0844"}},
		{"a rate without a terminating decimal", money(3000, "EUR"),
			fakeSettlement{currency: "usd", amount: fixedAmount(3253), exchangeRate: "1.084333"},
			&payments.Conversion{Money: usd(3253), Rate: "1.08433333333"}},
		{"JPY settled in USD", money(1000, "JPY"),
			fakeSettlement{currency: "usd", amount: fixedAmount(670), exchangeRate: "0.0067"},
			&payments.Conversion{Money: usd(670), Rate: "0.0067"}},
		{"USD settled in USD", usd(2500), fakeSettlement{}, &payments.Conversion{Money: usd(2500), Rate: "1"}},
		{"balance transaction by id only", money(2500, "EUR"),
			fakeSettlement{currency: "usd", amount: fixedAmount(2711), unexpanded: true},
			&payments.Conversion{Money: usd(2711), Rate: "1.0844"}},
		{"no balance transaction", money(2500, "EUR"), fakeSettlement{none: true}, nil},
		{"zero balance transaction", money(2500, "EUR"), fakeSettlement{currency: "usd", amount: fixedAmount(0)}, nil},
		{"same currency, another amount", usd(2500), fakeSettlement{amount: fixedAmount(2400)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.setSettlement(tc.settle)
			g := keyedGateway(t, api)
			ev, intentID := paidEvent(t, g, api, tc.charged)
			c, err := g.ParseWebhook(t.Context(), ev)
			require.NoError(t, err)
			require.NoError(t, c.Validate("stripe"))
			require.Len(t, c.Entries, 1)
			e := c.Entries[0]
			assert.Equal(t, tc.charged, e.Amount)
			charge := "GET /v1/charges/" + strings.Replace(intentID, "pi_", "ch_", 1) + " key="
			assert.Equal(t, 1, count(api.callLog(), charge), "one read of the charge")
			if tc.settle.unexpanded {
				assert.Contains(t, api.callLog(), "GET /v1/balance_transactions/"+strings.Replace(intentID, "pi_", "txn_", 1)+" key=")
			}
			if tc.want == nil {
				assert.Nil(t, e.Settlement)
				return
			}
			require.NotNil(t, e.Settlement)
			assert.Equal(t, payments.Conversion{Money: tc.want.Money, Rate: tc.want.Rate, Source: stripe.SettlementSource, At: settledAt}, *e.Settlement)
			back, err := payments.Convert(e.Amount, e.Settlement.Rate, e.Settlement.Money.Currency)
			require.NoError(t, err)
			assert.Equal(t, e.Settlement.Money, back, "the charge at the rate is the settled amount")
		})
	}
}

// TestSettlementFiguresOnlyWithAKey: a webhook-only Gateway reports none;
// DisableSettlementLookup saves the charge read; a read that fails leaves
// the figures out but records the charge, for the RateSource to price.
func TestSettlementFiguresOnlyWithAKey(t *testing.T) {
	t.Run("webhook-only gateway", func(t *testing.T) {
		c, err := newGateway(t).ParseWebhook(t.Context(), event(t, "payment_intent.succeeded"))
		require.NoError(t, err)
		require.Len(t, c.Entries, 1)
		assert.Nil(t, c.Entries[0].Settlement)
	})
	t.Run("lookup disabled", func(t *testing.T) {
		api := newFakeAPI(t)
		api.setSettlement(fakeSettlement{currency: "usd", amount: fixedAmount(2711)})
		g := keyedGateway(t, api, func(c *stripe.Config) { c.DisableSettlementLookup = true })
		ev, _ := paidEvent(t, g, api, money(2500, "EUR"))
		before := len(api.callLog())
		c, err := g.ParseWebhook(t.Context(), ev)
		require.NoError(t, err)
		require.Len(t, c.Entries, 1)
		assert.Nil(t, c.Entries[0].Settlement)
		assert.Len(t, api.callLog(), before, "no API call")
	})
	t.Run("the read fails", func(t *testing.T) {
		api := newFakeAPI(t)
		g := keyedGateway(t, api)
		ev, intentID := paidEvent(t, g, api, money(2500, "EUR"))
		api.failNextOn("GET /v1/charges/"+strings.Replace(intentID, "pi_", "ch_", 1), http.StatusInternalServerError,
			`{"error":{"type":"api_error","message":"Something went wrong."}}`, nil)
		c, err := g.ParseWebhook(t.Context(), ev)
		require.NoError(t, err, "the figures never hold money back")
		require.Len(t, c.Entries, 1)
		assert.Equal(t, money(2500, "EUR"), c.Entries[0].Amount)
		assert.Nil(t, c.Entries[0].Settlement)
	})
	t.Run("refunds carry none", func(t *testing.T) {
		api := newFakeAPI(t)
		api.setSettlement(fakeSettlement{currency: "usd", amount: fixedAmount(2711)})
		g := keyedGateway(t, api)
		ev, intentID := paidEvent(t, g, api, money(2500, "EUR"))
		_, err := g.ParseWebhook(t.Context(), ev)
		require.NoError(t, err)
		c, err := g.Refund(t.Context(), payments.Payment{ID: "pay_1", GatewayID: intentID, Account: "user-7"}, payments.RefundOptions{})
		require.NoError(t, err)
		require.Len(t, c.Entries, 1)
		assert.Nil(t, c.Entries[0].Settlement, "the Service converts a refund at its charge's rate")
	})
}

// TestCaptureAnswerCarriesSettlement: Capture's answer expands the
// charge's balance transaction, so its entry has Stripe's figures at no
// extra call.
func TestCaptureAnswerCarriesSettlement(t *testing.T) {
	api := newFakeAPI(t)
	api.setSettlement(fakeSettlement{currency: "usd", amount: func(eur int64) int64 { return eur * 10844 / 10000 }})
	g := keyedGateway(t, api)
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{Account: "user-7", Amount: money(2500, "EUR"),
		Capture: payments.CaptureManual, PaymentID: "pay_capture1"})
	require.NoError(t, err)
	api.authorize(t, co.GatewayID)
	part := money(1000, "EUR")
	c, err := g.Capture(t.Context(), payments.Payment{ID: "pay_capture1", GatewayID: co.GatewayID}, payments.CaptureOptions{Amount: &part, Key: "pay_capture1:capture"})
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, part, c.Entries[0].Amount)
	assert.Equal(t, &payments.Conversion{Money: usd(1084), Rate: "1.084", Source: stripe.SettlementSource, At: settledAt}, c.Entries[0].Settlement)
	assert.Equal(t, []string{
		"POST /v1/payment_intents key=pay_capture1",
		"POST /v1/payment_intents/" + co.GatewayID + "/capture key=pay_capture1:capture",
	}, api.callLog(), "no call besides the capture")

	// CaptureAfterReview's capture expands the same, in the same request
	// as Capture's for one idempotency key (an intent without a library
	// payment id in its metadata is keyed by its own id; see policyKey).
	policy := keyedGateway(t, api, func(c *stripe.Config) { c.CaptureAfterReview = true })
	co, err = policy.CreateCheckout(t.Context(), payments.CheckoutRequest{Account: "user-7", Amount: money(2500, "EUR"),
		Capture: payments.CaptureManual, PaymentID: "pay_capture2"})
	require.NoError(t, err)
	api.authorize(t, co.GatewayID)
	c, err = policy.ParseWebhook(t.Context(), objectEvent(t, "payment_intent.amount_capturable_updated", api.intent(co.GatewayID), nil))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, &payments.Conversion{Money: usd(2711), Rate: "1.0844", Source: stripe.SettlementSource, At: settledAt}, c.Entries[0].Settlement)
	_, err = g.Capture(t.Context(), payments.Payment{ID: "pay_capture2", GatewayID: co.GatewayID}, payments.CaptureOptions{Key: co.GatewayID + ":capture"})
	require.NoError(t, err, "the same key is the policy's request, answered again: the parameters are the same")
}

// TestServiceKeepsStripeSettlement runs EUR payments through a Service
// that settles in USD with a fixed rate of its own: the charge keeps
// Stripe's figures, end to end through the webhook handler, the refund is
// converted at the charge's rate, and a Gateway without a key leaves the
// pricing to the Service's RateSource.
func TestServiceKeepsStripeSettlement(t *testing.T) {
	settling := func(t *testing.T, g *stripe.Gateway) *harness {
		store := memory.New()
		svc, err := payments.New(store, payments.WithGateway(g),
			payments.WithSettlement(payments.Settlement{Currency: "USD", Rates: rates.Fixed{"EUR/USD": "1.10"}}))
		require.NoError(t, err)
		return &harness{t: t, svc: svc, store: store}
	}
	t.Run("with a key", func(t *testing.T) {
		api := newFakeAPI(t)
		api.setSettlement(fakeSettlement{currency: "usd", amount: fixedAmount(2711), exchangeRate: "1.0844"})
		g := keyedGateway(t, api)
		h := settling(t, g)
		ctx := t.Context()
		p, err := h.svc.Checkout(ctx, "stripe", payments.CheckoutRequest{Account: "user-8", Amount: money(2500, "EUR")})
		require.NoError(t, err)
		res, err := h.svc.HandleWebhook(ctx, "stripe", objectEvent(t, "payment_intent.succeeded", api.pay(t, p.GatewayID), nil))
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
		require.Len(t, res.Recorded.Entries, 1)
		assert.Equal(t, &payments.Conversion{Money: usd(2711), Rate: "1.0844", Source: stripe.SettlementSource, At: settledAt},
			res.Recorded.Entries[0].Settlement, "Stripe's figures, not the Service's 1.10")

		part := money(1000, "EUR")
		refunded, err := h.svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part})
		require.NoError(t, err)
		require.Len(t, refunded.Recorded.Entries, 1)
		c := refunded.Recorded.Entries[0].Settlement
		require.NotNil(t, c)
		assert.Equal(t, usd(-1084), c.Money, "at the charge's rate")
		assert.Equal(t, "1.0844", c.Rate)

		bal, err := h.svc.Balance(ctx, "user-8", "EUR")
		require.NoError(t, err)
		assert.Equal(t, money(1500, "EUR"), bal.Money)
		assert.Equal(t, usd(2711-1084), bal.Settled)
	})
	t.Run("webhook-only", func(t *testing.T) {
		h := settling(t, newGateway(t))
		body := edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { object(ev)["currency"] = "eur" })
		res, err := h.svc.HandleWebhook(t.Context(), "stripe", signed(body, testSecret, time.Now()))
		require.NoError(t, err)
		require.Len(t, res.Recorded.Entries, 1)
		c := res.Recorded.Entries[0].Settlement
		require.NotNil(t, c)
		assert.Equal(t, usd(2750), c.Money)
		assert.Equal(t, "fixed", c.Source, "the Service's RateSource")
	})
}

// settlementLookup checks that stripe-mock takes the charge read of a
// payment_intent.succeeded event as the driver sends it.
func (m *stripeMock) settlementLookup(t *testing.T) {
	c, err := m.g.ParseWebhook(t.Context(), event(t, "payment_intent.succeeded"))
	require.NoError(t, err)
	r := m.rec.last(t)
	assert.Equal(t, "GET /v1/charges/"+chargeID, r.method+" "+r.path)
	assert.Equal(t, url.Values{"expand[0]": {"balance_transaction"}}, r.form)
	require.Len(t, c.Entries, 1)
	assert.NoError(t, c.Validate("stripe"))
}

func count(calls []string, call string) int {
	return len(slices.DeleteFunc(slices.Clone(calls), func(c string) bool { return c != call }))
}
