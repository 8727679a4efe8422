package anypay_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

const checkoutID = "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3b7"

func checkoutRequest(t *testing.T) payments.CheckoutRequest {
	return payments.CheckoutRequest{PaymentID: checkoutID, Account: "user-42", Reference: "order:1001:k3j2h1",
		Amount: rub(t, "100.00"), Description: "Пополнение баланса", Capture: payments.CaptureAutomatic}
}

func query(t *testing.T, co *payments.Checkout) url.Values {
	u, err := url.Parse(co.RedirectURL)
	require.NoError(t, err)
	return u.Query()
}

func TestCheckoutLinkSHA256(t *testing.T) {
	g := newGateway(t, func(c *anypay.Config) { c.FailURL, c.Language = "https://shop.example/fail", "en" })
	req := checkoutRequest(t)
	req.ReturnURL = "https://shop.example/orders/1001?paid=1"
	co, err := g.CreateCheckout(t.Context(), req)
	require.NoError(t, err)
	assert.Equal(t, checkoutID, co.GatewayID)
	assert.Equal(t, payments.StatusPending, co.Status)
	assert.True(t, strings.HasPrefix(co.RedirectURL, "https://anypay.io/merchant?"))
	assert.Equal(t, url.Values{
		"merchant_id": {testMerchant}, "pay_id": {checkoutID}, "amount": {"100.00"}, "currency": {"RUB"},
		"desc": {"Пополнение баланса"}, "success_url": {"https://shop.example/orders/1001?paid=1"},
		"fail_url": {"https://shop.example/fail"}, "lang": {"en"},
		"sign": {hexSum(strings.Join([]string{testMerchant, checkoutID, "100.00", "RUB", "Пополнение баланса",
			"https://shop.example/orders/1001?paid=1", "https://shop.example/fail", testSecret}, ":"), false)},
	}, query(t, co))
}

func TestCheckoutLinkWithoutURLs(t *testing.T) {
	req := checkoutRequest(t)
	req.Description = ""
	co, err := newGateway(t).CreateCheckout(t.Context(), req)
	require.NoError(t, err)
	q := query(t, co)
	assert.NotContains(t, q, "success_url")
	assert.NotContains(t, q, "fail_url")
	assert.Equal(t, "Payment "+checkoutID, q.Get("desc"))
	assert.Equal(t, anypay.FormSign(testMerchant, checkoutID, "100.00", "RUB", "Payment "+checkoutID, "", "", testSecret), q.Get("sign"),
		"URLs the link does not carry are empty in the sign")
}

func TestCheckoutLinkMD5(t *testing.T) {
	co, err := newGateway(t, func(c *anypay.Config) {
		c.SignMD5, c.APIID, c.APIKey = true, apiID, apiKey
	}).CreateCheckout(t.Context(), checkoutRequest(t))
	require.NoError(t, err)
	q := query(t, co)
	assert.Equal(t, md5Hex("RUB:100.00:"+testSecret+":"+testMerchant+":"+checkoutID), q.Get("sign"))
}

func TestCheckoutDescriptionIsCut(t *testing.T) {
	req := checkoutRequest(t)
	req.Description = strings.Repeat("ж", 200)
	co, err := newGateway(t).CreateCheckout(t.Context(), req)
	require.NoError(t, err)
	q := query(t, co)
	assert.Equal(t, strings.Repeat("ж", 150), q.Get("desc"))
	assert.Equal(t, anypay.FormSign(testMerchant, checkoutID, "100.00", "RUB", strings.Repeat("ж", 150), "", "", testSecret), q.Get("sign"),
		"the sign covers what is sent")
}

func TestCheckoutRefusals(t *testing.T) {
	g := newGateway(t)
	for name, mutate := range map[string]func(*payments.CheckoutRequest){
		"no payment id":     func(r *payments.CheckoutRequest) { r.PaymentID = "" },
		"':' in payment id": func(r *payments.CheckoutRequest) { r.PaymentID = "a:b" },
		"zero amount":       func(r *payments.CheckoutRequest) { r.Amount.Amount = 0 },
		"unknown currency":  func(r *payments.CheckoutRequest) { r.Amount.Currency = "XYZ" },
		"bad return URL":    func(r *payments.CheckoutRequest) { r.CancelURL = "javascript:alert(1)" },
	} {
		req := checkoutRequest(t)
		mutate(&req)
		_, err := g.CreateCheckout(t.Context(), req)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
	req := checkoutRequest(t)
	req.Capture = payments.CaptureManual
	_, err := g.CreateCheckout(t.Context(), req)
	assert.ErrorIs(t, err, payments.ErrNotSupported)
}

func TestNewRefusesBadConfig(t *testing.T) {
	for name, cfg := range map[string]anypay.Config{
		"no merchant":     {SecretKey: testSecret},
		"no secret":       {MerchantID: testMerchant},
		"':' in merchant": {MerchantID: "1:2", SecretKey: testSecret},
		"success URL":     {MerchantID: testMerchant, SecretKey: testSecret, SuccessURL: "shop.example"},
		"language":        {MerchantID: testMerchant, SecretKey: testSecret, Language: "de"},
		"half the API":    {MerchantID: testMerchant, SecretKey: testSecret, APIID: "1"},
		"merchant URL":    {MerchantID: testMerchant, SecretKey: testSecret, MerchantURL: "https://anypay.io/merchant?x=1"},
		"API URL":         {MerchantID: testMerchant, SecretKey: testSecret, APIURL: "anypay.io/api"},
	} {
		_, err := anypay.New(cfg)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
	g, err := anypay.New(anypay.Config{MerchantID: testMerchant, SecretKey: testSecret, Name: "anypay-kzt"})
	require.NoError(t, err)
	assert.Equal(t, "anypay-kzt", g.Name())
}
