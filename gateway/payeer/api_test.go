package payeer_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
)

func TestPaymentDetails(t *testing.T) {
	peer := newFakePayeer(t)
	g := newGateway(t, peer.config)
	co, err := g.CreateCheckout(t.Context(), checkoutRequest(t))
	require.NoError(t, err)
	peer.open(t, co.RedirectURL)

	details, err := g.PaymentDetails(t.Context(), checkoutID)
	require.NoError(t, err)
	assert.Empty(t, details, "opened, not paid")

	peer.pay(t, checkoutID, usd(t, "25.00"))
	details, err = g.PaymentDetails(t.Context(), checkoutID)
	require.NoError(t, err)
	require.Len(t, details, 1)
	assert.Equal(t, payeer.PaymentDetail{
		OrderID: checkoutID, Amount: usd(t, "25.00"), Description: "Top-up — 25 $",
		Created: time.Unix(1579518330, 0).UTC(), Processed: time.Unix(1579518348, 0).UTC(),
		PaySystem: "Payeer", Profit: usd(t, "24.75"), MerchantFee: usd(t, "0.25"),
		MerchantTransactionID: "928562360", ProfitTransactionID: "928562504",
	}, details[0])
	assert.NoError(t, g.CheckHealth(t.Context()))
	assert.Equal(t, 3, peer.requestCount())
}

// TestPaymentDetailsDocumentedAnswer decodes the answer Payeer's API
// documentation shows for paymentDetails (https://github.com/payeer/docs,
// rest-api/en.md), amounts as JSON numbers included.
func TestPaymentDetailsDocumentedAnswer(t *testing.T) {
	const documented = `{"auth_error":"0","errors":[],"success":true,"items":[{"amount":1,"currency":"USD","description":"Test payment","referenceId":"117d3e31-f950-4766-a63d-5b7785aa51b6","created":"2020-01-20 14:05:30","processed":"2020-01-20 14:05:48","paySystemName":"Payeer","paySystemId":"2609","clientAmount":1,"clientCurrency":"USD","clientAccount":"P1000001","clientEmail":"client@payeer.com","profitAmount":0.99,"profitCurrency":"USD","profitTransactionId":"928562504","merchantTransactionId":"928562360","created_ts":1579518330,"processed_ts":1579518348,"merchantFee":0.01,"merchantCurrency":"USD"}]}`
	g := apiGateway(t, http.StatusOK, documented)
	details, err := g.PaymentDetails(t.Context(), "117d3e31-f950-4766-a63d-5b7785aa51b6")
	require.NoError(t, err)
	require.Len(t, details, 1)
	assert.Equal(t, usd(t, "1.00"), details[0].Amount)
	assert.Equal(t, usd(t, "0.99"), details[0].Profit)
	assert.Equal(t, usd(t, "0.01"), details[0].MerchantFee)
}

func TestAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status int
		body   string
		auth   bool
	}{
		{"authorization refused", http.StatusOK, `{"auth_error":"1","errors":["IP 1.2.3.4 does not satisfy the security settings"]}`, true},
		{"errors as a map", http.StatusOK, `{"auth_error":"0","errors":{"referenceId":"not found"}}`, false},
		{"error as text", http.StatusOK, `{"auth_error":"0","errors":"balanceError"}`, false},
		{"server error", http.StatusBadGateway, `<html>`, false},
		{"not JSON", http.StatusOK, `<html>`, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := apiGateway(t, tc.status, tc.body).PaymentDetails(t.Context(), "1")
			var apiErr *payeer.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.auth, apiErr.AuthError)
			assert.Contains(t, err.Error(), "payeer: payment details")
		})
	}
	for _, none := range []string{`[]`, `false`, `null`, `"0"`, `0`, `""`, `{}`} {
		_, err := apiGateway(t, http.StatusOK, `{"auth_error":"0","errors":`+none+`,"items":[]}`).PaymentDetails(t.Context(), "1")
		assert.NoError(t, err, none)
	}
	_, err := apiGateway(t, http.StatusOK, `{"auth_error":"0","errors":[],"items":[{"amount":1.0e-8,"currency":"USD"}]}`).PaymentDetails(t.Context(), "1")
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "an amount not exact in its currency is an error, never a float")
}

func TestWithoutAPIUser(t *testing.T) {
	g := newGateway(t)
	_, err := g.PaymentDetails(t.Context(), "1")
	assert.ErrorIs(t, err, payeer.ErrNoAPI)
	assert.NoError(t, g.CheckHealth(t.Context()), "nothing to check without an API user")
}

// apiGateway is a Gateway whose API answers every call with status and body.
func apiGateway(t *testing.T, status int, body string) *payeer.Gateway {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return newGateway(t, func(c *payeer.Config) { c.APIURL, c.APIAccount, c.APIID, c.APIKey = srv.URL, apiAccount, apiID, apiKey })
}
