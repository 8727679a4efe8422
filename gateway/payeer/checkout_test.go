package payeer_test

import (
	"encoding/base64"
	"encoding/json"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
)

const checkoutID = "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3b7"

func checkoutRequest(t *testing.T) payments.CheckoutRequest {
	return payments.CheckoutRequest{
		PaymentID: checkoutID, Account: "user-42", Reference: "order:1001:k3j2h1",
		Amount: usd(t, "25.00"), Description: "Top-up — 25 $", Capture: payments.CaptureAutomatic,
	}
}

func TestCheckoutForm(t *testing.T) {
	co, err := newGateway(t).CreateCheckout(t.Context(), checkoutRequest(t))
	require.NoError(t, err)
	assert.Equal(t, checkoutID, co.GatewayID, "Payeer numbers the payment only in the callback; the order id names it until then")
	assert.Equal(t, payments.StatusPending, co.Status)
	u, err := url.Parse(co.RedirectURL)
	require.NoError(t, err)
	assert.Equal(t, "https://payeer.com/merchant/", u.Scheme+"://"+u.Host+u.Path)
	q := u.Query()
	desc := base64.StdEncoding.EncodeToString([]byte("Top-up — 25 $"))
	assert.Equal(t, url.Values{
		"m_shop": {testShop}, "m_orderid": {checkoutID}, "m_amount": {"25.00"}, "m_curr": {"USD"}, "m_desc": {desc},
		"m_sign": {sha256Upper(testKey, testShop, checkoutID, "25.00", "USD", desc)},
	}, q, "no m_params without a ParamsKey, no lang without a Language")
}

func TestCheckoutParams(t *testing.T) {
	g := newGateway(t, func(c *payeer.Config) {
		c.ParamsKey, c.StatusURL, c.SuccessURL, c.FailURL, c.Language = testParamsKey,
			"https://shop.example/payeer-handleWebhookEvents", "https://shop.example/ok", "https://shop.example/fail", "en"
	})
	req := checkoutRequest(t)
	req.ReturnURL = "https://shop.example/orders/1001?paid=1&x=<y>"
	co, err := g.CreateCheckout(t.Context(), req)
	require.NoError(t, err)
	u, err := url.Parse(co.RedirectURL)
	require.NoError(t, err)
	q := u.Query()
	assert.Equal(t, "AES-256-CBC", q.Get("m_cipher_method"))
	assert.Equal(t, "en", q.Get("lang"))
	assert.Equal(t, sha256Upper(testKey, testShop, checkoutID, "25.00", "USD", q.Get("m_desc"), q.Get("m_params")), q.Get("m_sign"),
		"m_params is signed after m_desc, as its encoded value")
	plain, err := payeer.DecryptParams(testParamsKey, checkoutID, q.Get("m_params"))
	require.NoError(t, err)
	var params map[string]any
	require.NoError(t, json.Unmarshal(plain, &params))
	assert.Equal(t, map[string]any{
		"success_url": "https://shop.example/orders/1001?paid=1&x=<y>", // the checkout's, before the Config's
		"fail_url":    "https://shop.example/fail",
		"status_url":  "https://shop.example/payeer-handleWebhookEvents",
		"reference":   map[string]any{"account": "user-42", "reference": "order:1001:k3j2h1"},
	}, params)
	assert.NotContains(t, string(plain), `\u003c`, "no HTML escapes")
}

func TestCheckoutAmounts(t *testing.T) {
	for _, tc := range []struct {
		amount payments.Money
		want   string
	}{
		{payments.Money{Amount: 2500, Currency: "USD"}, "25.00"},
		{payments.Money{Amount: 5, Currency: "RUB"}, "0.05"},
		{payments.Money{Amount: 100, Currency: "JPY"}, "100.00"},
		{payments.Money{Amount: 1500, Currency: "KWD"}, "1.50"},
		{payments.Money{Amount: 1_000_000, Currency: "BTC"}, "0.01"},
	} {
		req := checkoutRequest(t)
		req.Amount = tc.amount
		co, err := newGateway(t).CreateCheckout(t.Context(), req)
		require.NoError(t, err, tc.amount.String())
		u, _ := url.Parse(co.RedirectURL)
		assert.Equal(t, tc.want, u.Query().Get("m_amount"), tc.amount.String())
	}
	for _, amount := range []payments.Money{
		{Amount: 1505, Currency: "KWD"}, {Amount: 1, Currency: "BTC"}, {Amount: 0, Currency: "USD"},
		{Amount: -100, Currency: "USD"}, {Amount: 100, Currency: "XYZ"},
	} {
		req := checkoutRequest(t)
		req.Amount = amount
		_, err := newGateway(t).CreateCheckout(t.Context(), req)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "%s is refused, never rounded", amount)
	}
}

func TestCheckoutRefusals(t *testing.T) {
	g := newGateway(t)
	req := checkoutRequest(t)
	req.PaymentID = ""
	_, err := g.CreateCheckout(t.Context(), req)
	assert.ErrorIs(t, err, payments.ErrInvalidInput)

	req = checkoutRequest(t)
	req.Capture = payments.CaptureManual
	_, err = g.CreateCheckout(t.Context(), req)
	assert.ErrorIs(t, err, payments.ErrNotSupported)

	req = checkoutRequest(t)
	req.CancelURL = "javascript:alert(1)"
	_, err = newGateway(t, func(c *payeer.Config) { c.ParamsKey = testParamsKey }).CreateCheckout(t.Context(), req)
	assert.ErrorIs(t, err, payments.ErrInvalidInput)

	req = checkoutRequest(t)
	req.Description = ""
	co, err := g.CreateCheckout(t.Context(), req)
	require.NoError(t, err)
	u, _ := url.Parse(co.RedirectURL)
	desc, _ := base64.StdEncoding.DecodeString(u.Query().Get("m_desc"))
	assert.Equal(t, "Payment "+checkoutID, string(desc))
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]payeer.Config{
		"no shop":               {SecretKey: testKey},
		"no key":                {ShopID: testShop},
		"':' in shop":           {ShopID: "1:2", SecretKey: testKey},
		"status URL, no key":    {ShopID: testShop, SecretKey: testKey, StatusURL: "https://shop.example/s"},
		"status URL not http":   {ShopID: testShop, SecretKey: testKey, ParamsKey: "k", StatusURL: "ftp://shop.example/s"},
		"language":              {ShopID: testShop, SecretKey: testKey, Language: "de"},
		"half an API user":      {ShopID: testShop, SecretKey: testKey, APIAccount: "P1"},
		"merchant URL":          {ShopID: testShop, SecretKey: testKey, MerchantURL: "payeer.com/merchant"},
		"merchant URL w/ query": {ShopID: testShop, SecretKey: testKey, MerchantURL: "https://payeer.com/merchant/?a=1"},
		"API URL":               {ShopID: testShop, SecretKey: testKey, APIURL: "://x"},
	} {
		_, err := payeer.New(cfg)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
	g, err := payeer.New(payeer.Config{ShopID: testShop, SecretKey: testKey, Name: "payeer-rub"})
	require.NoError(t, err)
	assert.Equal(t, "payeer-rub", g.Name())
}
