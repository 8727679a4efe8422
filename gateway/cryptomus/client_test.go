package cryptomus_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
)

// invoiceAnswer is the documented create-invoice answer
// (https://doc.cryptomus.com/business/payments/creating-invoice).
const invoiceAnswer = `{"state":0,"result":{"uuid":"26109ba0-b05b-4ee0-93d1-fd62c822ce95","order_id":"pay_00112233445566778899aabb",
"amount":"15.00","payment_amount":null,"payer_amount":null,"discount_percent":null,"discount":"0.00000000",
"payer_currency":null,"currency":"USD","merchant_amount":null,"network":null,"address":null,"from":null,"txid":null,
"payment_status":"check","url":"https://pay.cryptomus.com/pay/26109ba0-b05b-4ee0-93d1-fd62c822ce95",
"expired_at":1689098133,"status":"check","is_final":false,"additional_data":null,
"created_at":"2023-07-11T20:23:52+03:00","updated_at":"2023-07-11T21:24:17+03:00"}}`

func TestCreateCheckout(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("/v1/payment", http.StatusOK, invoiceAnswer)
	g := api.gateway(func(c *cryptomus.Config) {
		c.Lifetime = 30 * time.Minute
		c.ReturnURL = "https://shop.example/back"
		c.SuccessURL = "https://shop.example/thanks"
	})
	co, err := g.CreateCheckout(t.Context(), payments.CheckoutRequest{
		Account: "user-42", Amount: usd(t, "15.00"), Reference: "order:1001:k3j2h1",
		ReturnURL: "https://shop.example/orders/1001", PaymentID: "pay_00112233445566778899aabb",
	})
	require.NoError(t, err)
	assert.Equal(t, &payments.Checkout{
		GatewayID:   "26109ba0-b05b-4ee0-93d1-fd62c822ce95",
		Status:      payments.StatusPending,
		RedirectURL: "https://pay.cryptomus.com/pay/26109ba0-b05b-4ee0-93d1-fd62c822ce95",
	}, co)
	req := api.last()
	assert.Equal(t, "/v1/payment", req.Path)
	assert.Equal(t, map[string]any{
		"amount": "15.00", "currency": "USD", "order_id": "pay_00112233445566778899aabb",
		"url_return":      "https://shop.example/back",
		"url_success":     "https://shop.example/orders/1001",
		"url_callback":    "https://shop.example/payments/cryptomus-handleWebhookEvents",
		"lifetime":        float64(1800),
		"additional_data": `{"account":"user-42","reference":"order:1001:k3j2h1"}`,
	}, req.Fields)

	// Called without a Service: the reference, made alpha_dash, is the
	// order_id. Cryptomus answers a known order_id with its first invoice.
	_, err = g.CreateCheckout(t.Context(), payments.CheckoutRequest{Amount: usd(t, "1.00"), Reference: "order:7:ab.c"})
	require.ErrorIs(t, err, payments.ErrConflict)
	api.answer("/v1/payment", http.StatusOK, strings.Replace(invoiceAnswer, `"amount":"15.00"`, `"amount":"1.00"`, 1))
	_, err = g.CreateCheckout(t.Context(), payments.CheckoutRequest{Amount: usd(t, "1.00"), Reference: "order:7:ab.c"})
	require.NoError(t, err)
	assert.Equal(t, "order_7_ab_c", api.last().Fields["order_id"])
	assert.Equal(t, "https://shop.example/thanks", api.last().Fields["url_success"])
	assert.Equal(t, `{"reference":"order:7:ab.c"}`, api.last().Fields["additional_data"], "the reference itself travels intact")
}

func TestCreateCheckoutRefusals(t *testing.T) {
	g := newFakeAPI(t).gateway()
	for name, tc := range map[string]struct {
		req  payments.CheckoutRequest
		want error
	}{
		"manual capture": {payments.CheckoutRequest{Amount: usd(t, "1.00"), PaymentID: "pay_1", Capture: payments.CaptureManual}, payments.ErrNotSupported},
		"no order id":    {payments.CheckoutRequest{Amount: usd(t, "1.00")}, payments.ErrInvalidInput},
		"zero amount":    {payments.CheckoutRequest{Amount: usd(t, "0.00"), PaymentID: "pay_1"}, payments.ErrInvalidInput},
	} {
		_, err := g.CreateCheckout(t.Context(), tc.req)
		assert.ErrorIs(t, err, tc.want, name)
	}
}

func TestAPIErrors(t *testing.T) {
	checkout := payments.CheckoutRequest{Amount: usd(t, "15.00"), PaymentID: "pay_00112233445566778899aabb"}
	for _, tc := range []struct {
		name    string
		status  int
		body    string
		invalid bool
		message string
	}{
		{"validation errors", 422, `{"state":1,"errors":{"amount":["validation.required"],"currency":["validation.required","validation.string"]}}`, true,
			"cryptomus: create invoice pay_00112233445566778899aabb: HTTP 422 state 1: validation failed: amount: validation.required; currency: validation.required, validation.string"},
		{"message", 422, `{"state":1,"message":"The currency was not found"}`, true,
			"cryptomus: create invoice pay_00112233445566778899aabb: HTTP 422 state 1: The currency was not found"},
		{"state 1 on 200", 200, `{"state":1,"message":"Minimum amount 0.5 USDT"}`, true,
			"cryptomus: create invoice pay_00112233445566778899aabb: HTTP 200 state 1: Minimum amount 0.5 USDT"},
		{"server error", 500, `{"message":"Server error, #1","code":500,"error":null}`, false,
			"cryptomus: create invoice pay_00112233445566778899aabb: HTTP 500: Server error, #1"},
		{"not JSON", 502, `<html>Bad Gateway</html>`, false,
			"cryptomus: create invoice pay_00112233445566778899aabb: HTTP 502: unreadable answer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.answer("/v1/payment", tc.status, tc.body)
			_, err := api.gateway().CreateCheckout(t.Context(), checkout)
			require.Error(t, err)
			assert.Equal(t, tc.message, err.Error())
			assert.Equal(t, tc.invalid, errors.Is(err, payments.ErrInvalidInput))
			var apiErr *cryptomus.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.HTTPStatus)
		})
	}
	t.Run("wrong key", func(t *testing.T) {
		api := newFakeAPI(t)
		api.answer("/v1/payment", 200, invoiceAnswer)
		_, err := api.gateway(func(c *cryptomus.Config) { c.PaymentKey = "stale-key" }).CreateCheckout(t.Context(), checkout)
		require.EqualError(t, err, "cryptomus: create invoice pay_00112233445566778899aabb: HTTP 401: Invalid Sign.")
		assert.NotErrorIs(t, err, payments.ErrInvalidInput, "a bad key is the host's configuration, not its input")
		assert.NotContains(t, err.Error(), "stale-key")
	})
	t.Run("transport", func(t *testing.T) {
		api := newFakeAPI(t)
		g := api.gateway()
		api.server.Close()
		_, err := g.CreateCheckout(t.Context(), checkout)
		require.Error(t, err)
		assert.Regexp(t, `^cryptomus: create invoice`, err.Error())
	})
}

func TestPaymentInfo(t *testing.T) {
	api := newFakeAPI(t)
	// The documented answer (https://doc.cryptomus.com/business/payments/payment-information).
	api.answer("/v1/payment/info", http.StatusOK, `{"state":0,"result":{"uuid":"70b8db5c-b952-406d-af26-4e1c34c27f15",
"order_id":"65bbe87b4098c17a31cff3e71e515243","amount":"15.00","payment_amount":"0.00","payer_amount":"15.75",
"discount_percent":-5,"discount":"-0.75","payer_currency":"USDT","currency":"USDT","comments":null,
"merchant_amount":"15.43500000","network":"tron","address":"TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj","from":null,
"txid":null,"payment_status":"cancel","url":"https://pay.cryptomus.com/pay/70b8db5c-b952-406d-af26-4e1c34c27f15",
"expired_at":1689099831,"status":"cancel","is_final":true,"additional_data":null,
"created_at":"2023-07-11T20:23:52+03:00","updated_at":"2023-07-11T21:24:17+03:00"}}`)
	inv, err := api.gateway().PaymentInfo(t.Context(), cryptomus.InvoiceRef{UUID: "70b8db5c-b952-406d-af26-4e1c34c27f15"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"uuid": "70b8db5c-b952-406d-af26-4e1c34c27f15"}, api.last().Fields)
	assert.Equal(t, "65bbe87b4098c17a31cff3e71e515243", inv.OrderID)
	assert.Equal(t, "15.43500000", inv.MerchantAmount)
	assert.Equal(t, "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj", inv.Address)
	assert.Empty(t, inv.From)
	assert.True(t, inv.IsFinal)
	assert.Equal(t, payments.StatusFailed, inv.MappedStatus())
	assert.Equal(t, "cancel", inv.PaymentStatus)
	assert.Equal(t, time.Unix(1689099831, 0), inv.ExpiresAt)
	assert.Equal(t, "2023-07-11T17:23:52Z", inv.CreatedAt.UTC().Format(time.RFC3339))
	m, err := inv.Money()
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 15_00000000, Currency: "USDT"}, m)

	api.answer("/v1/payment/info", 422, `{"state":1,"message":"Payment was not found"}`)
	_, err = api.gateway().PaymentInfo(t.Context(), cryptomus.InvoiceRef{OrderID: "nope"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = api.gateway().PaymentInfo(t.Context(), cryptomus.InvoiceRef{})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

func TestRefund(t *testing.T) {
	paid := payments.Payment{
		ID: "pay_00112233445566778899aabb", Gateway: "cryptomus", GatewayID: "26109ba0-b05b-4ee0-93d1-fd62c822ce95",
		Amount: usd(t, "15.00"), Metadata: map[string]string{cryptomus.MetadataRefundAddress: "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj"},
	}
	t.Run("payment key by default", func(t *testing.T) {
		api := newFakeAPI(t)
		api.answer("/v1/payment/refund", 200, `{"state":0,"result":[]}`)
		c, err := api.gateway().Refund(t.Context(), paid, payments.RefundOptions{Key: paid.ID + ":refund"})
		require.NoError(t, err)
		assert.True(t, c.Empty(), "nothing is recorded until refund_paid")
		assert.Equal(t, map[string]any{
			"address": "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj", "is_subtract": false, "uuid": paid.GatewayID,
		}, api.last().Fields, "Cryptomus takes no idempotency key")
	})
	t.Run("address from the extension first", func(t *testing.T) {
		api := newFakeAPI(t)
		api.answer("/v1/payment/refund", 200, `{"state":0,"result":[]}`)
		g := api.gateway(func(c *cryptomus.Config) {
			c.RefundAddress = func(context.Context, payments.Payment) (string, error) { return "TFromTheHook", nil }
		})
		for _, ext := range []any{
			cryptomus.RefundExtension{Address: "TNewAddressFromTheCustomer"},
			&cryptomus.RefundExtension{Address: "TNewAddressFromTheCustomer"},
		} {
			_, err := g.Refund(t.Context(), paid, payments.RefundOptions{Extension: ext})
			require.NoError(t, err)
			assert.Equal(t, "TNewAddressFromTheCustomer", api.last().Fields["address"], "%T", ext)
		}
		// An extension without an address falls back to the metadata.
		_, err := g.Refund(t.Context(), paid, payments.RefundOptions{Extension: cryptomus.RefundExtension{}})
		require.NoError(t, err)
		assert.Equal(t, "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj", api.last().Fields["address"])
	})
	t.Run("payout key, commission from balance, address hook", func(t *testing.T) {
		api := newFakeAPI(t)
		api.keys["/v1/payment/refund"] = payoutKey
		api.answer("/v1/payment/refund", 200, `{"state":0,"result":[]}`)
		g := api.gateway(func(c *cryptomus.Config) {
			c.PayoutKey, c.RefundKey, c.RefundCommissionFromBalance = payoutKey, cryptomus.PayoutAPIKey, true
			c.RefundAddress = func(_ context.Context, p payments.Payment) (string, error) { return "addr-of-" + p.ID, nil }
		})
		p := paid
		p.Metadata = nil
		full := p.Amount
		_, err := g.Refund(t.Context(), p, payments.RefundOptions{Amount: &full})
		require.NoError(t, err)
		assert.Equal(t, "addr-of-"+p.ID, api.last().Fields["address"])
		assert.Equal(t, true, api.last().Fields["is_subtract"])
	})
	t.Run("refusals", func(t *testing.T) {
		api := newFakeAPI(t)
		api.answer("/v1/payment/refund", 422, `{"state":1,"message":"You are forbidden"}`)
		g := api.gateway()
		half := usd(t, "7.50")
		_, err := g.Refund(t.Context(), paid, payments.RefundOptions{Amount: &half})
		assert.ErrorIs(t, err, payments.ErrNotSupported)
		noAddress := paid
		noAddress.Metadata = nil
		_, err = g.Refund(t.Context(), noAddress, payments.RefundOptions{})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)
		type stripeReason struct{ Reason string }
		_, err = g.Refund(t.Context(), paid, payments.RefundOptions{Extension: stripeReason{"duplicate"}})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)
		assert.Regexp(t, "^cryptomus: refund payment "+paid.ID+": extension of type .*stripeReason is not a cryptomus.RefundExtension", err.Error())
		assert.Zero(t, api.requestCount(), "refused before Cryptomus is called")

		_, err = g.Refund(t.Context(), paid, payments.RefundOptions{})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)
		assert.EqualError(t, err, "cryptomus: refund "+paid.GatewayID+": HTTP 422 state 1: You are forbidden")
	})
}

func TestResendAndTestWebhook(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("/v1/payment/resend", 200, `{"state":0,"result":[]}`)
	api.answer("/v1/test-webhook/payment", 200, `{"state":0,"result":[]}`)
	g := api.gateway()

	require.NoError(t, g.ResendWebhook(t.Context(), cryptomus.InvoiceRef{OrderID: "pay_00112233445566778899aabb"}))
	assert.Equal(t, map[string]any{"order_id": "pay_00112233445566778899aabb"}, api.last().Fields)
	api.answer("/v1/payment/resend", 422, `{"state":1,"message":"Too much resend"}`)
	assert.ErrorIs(t, g.ResendWebhook(t.Context(), cryptomus.InvoiceRef{UUID: "u"}), payments.ErrInvalidInput)
	assert.ErrorIs(t, g.ResendWebhook(t.Context(), cryptomus.InvoiceRef{}), payments.ErrInvalidInput)

	require.NoError(t, g.TestWebhook(t.Context(), cryptomus.TestWebhookRequest{Currency: "USDT", Network: "tron"}))
	assert.Equal(t, map[string]any{
		"url_callback": "https://shop.example/payments/cryptomus-handleWebhookEvents",
		"currency":     "USDT", "network": "tron", "status": "paid",
	}, api.last().Fields)
	assert.ErrorIs(t, g.TestWebhook(t.Context(), cryptomus.TestWebhookRequest{Currency: "USDT"}), payments.ErrInvalidInput)
}

func TestCheckHealth(t *testing.T) {
	api := newFakeAPI(t)
	api.answer("/v1/payment/services", 200, `{"state":0,"result":[{"network":"TRON","currency":"TRX","is_available":true}]}`)
	require.NoError(t, api.gateway().CheckHealth(t.Context()))
	assert.Equal(t, "{}", string(api.last().Body))
	err := api.gateway(func(c *cryptomus.Config) { c.MerchantID = "someone-else" }).CheckHealth(t.Context())
	assert.EqualError(t, err, "cryptomus: health check: HTTP 401: Invalid Sign.")
}

func TestNewValidates(t *testing.T) {
	for name, cfg := range map[string]cryptomus.Config{
		"no merchant":         {PaymentKey: "k"},
		"no payment key":      {MerchantID: "m"},
		"payout key missing":  {MerchantID: "m", PaymentKey: "k", RefundKey: cryptomus.PayoutAPIKey},
		"unknown refund key":  {MerchantID: "m", PaymentKey: "k", RefundKey: 7},
		"unknown overpayment": {MerchantID: "m", PaymentKey: "k", Overpayment: 9},
		"lifetime too short":  {MerchantID: "m", PaymentKey: "k", Lifetime: time.Minute},
		"lifetime too long":   {MerchantID: "m", PaymentKey: "k", Lifetime: 13 * time.Hour},
		"base URL":            {MerchantID: "m", PaymentKey: "k", BaseURL: "api.cryptomus.com"},
	} {
		_, err := cryptomus.New(cfg)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
	g, err := cryptomus.New(cryptomus.Config{MerchantID: "m", PaymentKey: "k"})
	require.NoError(t, err)
	assert.Equal(t, "cryptomus", g.Name())
}
