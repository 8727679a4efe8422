package anypay_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/anypay"
)

func TestPaymentsLookup(t *testing.T) {
	peer := newFakeAnypay(t, false)
	g := newGateway(t, peer.config)
	co, err := g.CreateCheckout(t.Context(), checkoutRequest(t))
	require.NoError(t, err)
	peer.open(t, co.RedirectURL)

	list, err := g.Payments(t.Context(), checkoutID)
	require.NoError(t, err)
	assert.Empty(t, list, "opened, not paid: Anypay's empty list is []")

	peer.pay(t, checkoutID, rub(t, "100.00"))
	list, err = g.Payments(t.Context(), checkoutID)
	require.NoError(t, err)
	assert.Equal(t, []anypay.Payment{{
		TransactionID: "4950030", PayID: checkoutID, Status: "paid", Method: "card",
		Amount: rub(t, "100.00"), Profit: rub(t, "95.00"), Description: "Пополнение баланса",
		Date: "01.02.2024 10:00:00", PayDate: "01.02.2024 10:01:30",
	}}, list)
	assert.NoError(t, g.CheckHealth(t.Context()))
	assert.Equal(t, 3, peer.requestCount())

	_, err = newGateway(t, peer.config, func(c *anypay.Config) { c.APIKey = "wrong" }).Payments(t.Context(), checkoutID)
	var apiErr *anypay.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 102, apiErr.Code)
	assert.Contains(t, err.Error(), "anypay: payments: HTTP 200: error 102")
}

func TestAPIAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		ok         bool
	}{
		{"error", `{"error":{"code":"104","message":"IP address restriction"}}`, 200, false},
		{"server error", `<html>`, 502, false},
		{"not JSON", `<html>`, 200, false},
		{"no result", `{}`, 200, false},
		{"amount with more decimals than RUB", `{"result":{"total":1,"payments":{"1":{"transaction_id":1,"pay_id":"x","amount":1.005,"currency":"RUB"}}}}`, 200, false},
		{"numbers and strings for ids", `{"result":{"total":1,"payments":{"7":{"transaction_id":"7","pay_id":12345,"status":"paid","amount":100,"currency":"RUB","profit":97.125}}}}`, 200, true},
		{"null payments", `{"result":{"total":0,"payments":null}}`, 200, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tc.status)
				fmt.Fprint(w, tc.body)
			}))
			defer srv.Close()
			g := newGateway(t, func(c *anypay.Config) { c.APIURL, c.APIID, c.APIKey = srv.URL, apiID, apiKey })
			list, err := g.Payments(t.Context(), "12345")
			if !tc.ok {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			if len(list) > 0 {
				assert.Equal(t, "12345", list[0].PayID)
				assert.Equal(t, rub(t, "100.00"), list[0].Amount)
				assert.Zero(t, list[0].Profit, "97.125 RUB is not exact: left zero, never rounded")
			}
		})
	}
}

func TestWithoutAPI(t *testing.T) {
	g := newGateway(t)
	_, err := g.Payments(t.Context(), "1")
	assert.ErrorIs(t, err, anypay.ErrNoAPI)
	assert.NoError(t, g.CheckHealth(t.Context()), "nothing to check without API credentials")
}
