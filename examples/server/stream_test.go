package main

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// TestLiveStatus checks out with the API token, then follows the payment
// with only the stream URL the checkout answered, as a browser would.
func TestLiveStatus(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 32)
	fake := gatewaytest.NewFake("whsec_server_test")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, "api-token", slog.New(slog.DiscardHandler), withStream(key, nil)))
	t.Cleanup(srv.Close)
	s := &testServer{Server: srv, fake: fake, token: "api-token"}

	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "fake", "account": "user-42",
		"amount": "25.00", "currency": "USD", "reference": "order:672626:k3j2h1"})
	require.Equal(t, http.StatusCreated, code, p)
	id := p["id"].(string)
	require.NotEmpty(t, p["stream_token"])
	assert.Equal(t, "/payments/"+id+"/events?token="+p["stream_token"].(string), p["stream_url"])

	req, err := http.NewRequestWithContext(t.Context(), "GET", srv.URL+p["stream_url"].(string), nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req) // no API token: the stream token is enough
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	lines := bufio.NewScanner(resp.Body)
	status := func() string {
		t.Helper()
		for lines.Scan() {
			if data, ok := strings.CutPrefix(lines.Text(), "data: "); ok {
				var ev struct{ Status string }
				require.NoError(t, json.Unmarshal([]byte(data), &ev))
				return ev.Status
			}
		}
		t.Fatal("the stream ended")
		return ""
	}
	assert.Equal(t, "pending", status())

	ev := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: p["gateway_id"].(string), Account: "user-42", Amount: "25.00", Currency: "USD"}
	wreq := fake.Request(ev, time.Now())
	httpReq, err := http.NewRequestWithContext(t.Context(), "POST", srv.URL+"/fake-handleWebhookEvents", bytes.NewReader(wreq.Body))
	require.NoError(t, err)
	httpReq.Header = wreq.Header
	wresp, err := http.DefaultClient.Do(httpReq)
	require.NoError(t, err)
	wresp.Body.Close()
	require.Equal(t, http.StatusOK, wresp.StatusCode)
	assert.Equal(t, "succeeded", status())

	req, err = http.NewRequestWithContext(t.Context(), "GET", srv.URL+"/payments/"+id+"/events", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer api-token")
	resp2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp2.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp2.StatusCode, "the API token is not a stream token")
}

func TestLiveStatusOff(t *testing.T) {
	s := newTestServer(t, "")
	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "fake", "account": "user-42",
		"amount": "25.00", "currency": "USD", "reference": "order:672626:k3j2h1"})
	require.Equal(t, http.StatusCreated, code, p)
	assert.NotContains(t, p, "stream_token")
	resp, err := http.Get(s.URL + "/payments/" + p["id"].(string) + "/events")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestStreamKeyFromEnv(t *testing.T) {
	key := bytes.Repeat([]byte{0xab}, 32)
	for name, v := range map[string]string{
		"hex":        hex.EncodeToString(key),
		"base64":     base64.StdEncoding.EncodeToString(key),
		"base64 raw": base64.RawStdEncoding.EncodeToString(key),
		"base64url":  base64.RawURLEncoding.EncodeToString(key),
	} {
		got, err := streamKeyFromEnv(func(string) string { return v })
		require.NoError(t, err, name)
		assert.Equal(t, key, got, name)
	}
	got, err := streamKeyFromEnv(func(string) string { return "" })
	assert.NoError(t, err)
	assert.Nil(t, got, "unset: streams off")
	for name, v := range map[string]string{"short": hex.EncodeToString(key[:31]), "neither": "not a key!"} {
		_, err := streamKeyFromEnv(func(string) string { return v })
		assert.Error(t, err, name)
	}
}
