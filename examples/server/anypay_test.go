package main

import (
	"crypto/sha256"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// TestAnypayThroughTheServer checks out through the JSON API, posts
// Anypay's signed notification to /anypay-handleWebhookEvents, and reads
// the answer Anypay reads and the balance the host sees.
func TestAnypayThroughTheServer(t *testing.T) {
	const merchant, secret = "1399", "anypay_secret"
	g := gatewayFromEnv(t, map[string]string{"ANYPAY_ENABLED": "true", "ANYPAY_MERCHANT_ID": merchant, "ANYPAY_SECRET_KEY": secret})
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, "", slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	s := &testServer{Server: srv}

	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "anypay", "account": "user-42",
		"amount": "100.00", "currency": "RUB", "reference": "order:672626:k3j2h1"})
	require.Equal(t, http.StatusCreated, code, p)
	id := p["id"].(string)
	redirect, err := url.Parse(p["redirect_url"].(string))
	require.NoError(t, err)
	assert.Equal(t, "anypay.io", redirect.Host)
	assert.Equal(t, id, redirect.Query().Get("pay_id"))

	sum := sha256.Sum256([]byte(strings.Join([]string{"RUB", "100.00", id, merchant, "paid", secret}, ":")))
	form := url.Values{"merchant_id": {merchant}, "transaction_id": {"4950030"}, "pay_id": {id}, "amount": {"100.00"},
		"currency": {"RUB"}, "profit": {"95.00"}, "method": {"card"}, "status": {"paid"}, "sign": {hex.EncodeToString(sum[:])}}
	post := func() (int, string) {
		resp, err := http.PostForm(srv.URL+"/anypay-handleWebhookEvents", form)
		require.NoError(t, err)
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body)
	}
	for i := range 2 {
		code, body := post()
		assert.Equal(t, http.StatusOK, code, "delivery %d", i+1)
		assert.Equal(t, "OK", body, "delivery %d", i+1)
	}
	form.Set("status", "waiting") // not what was signed
	code, body := post()
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.NotEqual(t, "OK", body)

	bal := balance(t, s, "user-42")
	require.Len(t, bal, 1)
	assert.Equal(t, "100.00", bal[0]["amount"])
}
