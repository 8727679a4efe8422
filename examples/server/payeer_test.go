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

// TestPayeerThroughTheServer checks out through the JSON API, posts
// Payeer's signed callback to /payeer-handleWebhookEvents, and reads the
// answer Payeer reads and the balance the host sees.
func TestPayeerThroughTheServer(t *testing.T) {
	const shop, key = "987654321", "payeer_secret"
	g := gatewayFromEnv(t, map[string]string{"PAYEER_ENABLED": "true", "PAYEER_SHOP_ID": shop, "PAYEER_SECRET_KEY": key})
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, "", slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	s := &testServer{Server: srv}

	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "payeer", "account": "user-42",
		"amount": "25.00", "currency": "USD", "reference": "order:672626:k3j2h1"})
	require.Equal(t, http.StatusCreated, code, p)
	id := p["id"].(string)
	assert.Equal(t, id, p["gateway_id"])
	redirect, err := url.Parse(p["redirect_url"].(string))
	require.NoError(t, err)
	assert.Equal(t, "payeer.com", redirect.Host)
	assert.Equal(t, id, redirect.Query().Get("m_orderid"))

	// Payeer's callback: the signed fields in its order, m_sign, then what
	// it adds unsigned.
	fields := []string{"1293284312", "2609", "01.02.2021 05:13:13", "01.02.2021 05:13:19", shop, id, "25.00", "USD", "VG9wLXVw", "success"}
	sum := sha256.Sum256([]byte(strings.Join(append(fields, key), ":")))
	form := url.Values{"m_operation_id": {fields[0]}, "m_operation_ps": {fields[1]}, "m_operation_date": {fields[2]},
		"m_operation_pay_date": {fields[3]}, "m_shop": {shop}, "m_orderid": {id}, "m_amount": {"25.00"}, "m_curr": {"USD"},
		"m_desc": {fields[8]}, "m_status": {"success"}, "m_sign": {strings.ToUpper(hex.EncodeToString(sum[:]))}, "summa_out": {"25.00"}}
	for i, want := range []string{id + "|success", id + "|success"} {
		resp, err := http.PostForm(srv.URL+"/payeer-handleWebhookEvents", form)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "delivery %d", i+1)
		assert.Equal(t, want, string(body), "delivery %d", i+1)
	}
	form.Set("m_amount", "2500.00")
	resp, err := http.PostForm(srv.URL+"/payeer-handleWebhookEvents", form)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, id+"|error", string(body))

	bal := balance(t, s, "user-42")
	require.Len(t, bal, 1)
	assert.Equal(t, "25.00", bal[0]["amount"])
}
