package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

type testServer struct {
	*httptest.Server
	fake  *gatewaytest.Fake
	token string
}

// newTestServer serves the handler over a memory store and the gatewaytest
// Fake, which implements every operation.
func newTestServer(t *testing.T, token string, opts ...payments.Option) *testServer {
	fake := gatewaytest.NewFake("whsec_server_test")
	svc, err := payments.New(memory.New(), append([]payments.Option{payments.WithGateway(fake)}, opts...)...)
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, token, slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	return &testServer{Server: srv, fake: fake, token: token}
}

// call sends a JSON request and decodes the JSON answer.
func (s *testServer) call(t *testing.T, method, path string, body any) (int, map[string]any) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, r)
	require.NoError(t, err)
	if s.token != "" {
		req.Header.Set("Authorization", "Bearer "+s.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func (s *testServer) checkout(t *testing.T, capture string) string {
	t.Helper()
	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "fake", "account": "user-42",
		"amount": "25.00", "currency": "USD", "reference": "order:672626:k3j2h1", "capture": capture})
	require.Equal(t, http.StatusCreated, code, p)
	return p["id"].(string)
}

func TestPaymentLifecycle(t *testing.T) {
	s := newTestServer(t, "")
	code, p := s.call(t, "POST", "/checkout", map[string]any{"gateway": "fake", "account": "user-42",
		"amount": "25.00", "currency": "USD", "reference": "order:672626:k3j2h1", "capture": "manual"})
	require.Equal(t, http.StatusCreated, code, p)
	assert.Equal(t, "pending", p["status"])
	assert.Equal(t, "25.00", p["amount"])
	assert.Equal(t, "fp_1_secret", p["client_secret"], "the client secret is in the checkout answer")
	id := p["id"].(string)

	code, res := s.call(t, "POST", "/payments/"+id+"/capture", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "approved", res["result"])
	assert.Equal(t, "succeeded", res["payment"].(map[string]any)["status"])

	code, res = s.call(t, "POST", "/payments/"+id+"/refund", map[string]any{"amount": "5.50", "key": "ticket-7"})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "approved", res["result"])
	assert.Equal(t, "-5.50", res["entries"].([]any)[0].(map[string]any)["amount"])

	code, res = s.call(t, "POST", "/payments/"+id+"/refund", map[string]any{"amount": "5.50", "key": "ticket-7"})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "approved", res["result"], "a retried refund is the same, recorded refund")

	code, res = s.call(t, "POST", "/payments/"+id+"/cancel", nil)
	require.Equal(t, http.StatusAccepted, code, res)
	assert.Equal(t, "received", res["result"], "the gateway answered but nothing changed: a captured payment stays succeeded")

	code, bal := s.call(t, "GET", "/accounts/user-42/balances", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]any{"currency": "USD", "amount": "19.50", "minor_units": float64(1950), "entries": float64(2)},
		without(bal["balances"].([]any)[0].(map[string]any), "updated_at"))

	code, got := s.call(t, "GET", "/payments/"+id, nil)
	require.Equal(t, http.StatusOK, code)
	assert.NotContains(t, got, "client_secret", "stores never keep it")

	assert.Equal(t, []string{"checkout " + id, "capture " + id + ":capture", "refund " + id + ":refund:ticket-7",
		"refund " + id + ":refund:ticket-7", "cancel " + id + ":cancel"}, s.fake.Calls())
}

func TestCancelBeforeCapture(t *testing.T) {
	s := newTestServer(t, "")
	id := s.checkout(t, "manual")
	code, res := s.call(t, "POST", "/payments/"+id+"/cancel", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "approved", res["result"])
	assert.Equal(t, "canceled", res["payment"].(map[string]any)["status"])
}

func TestRejections(t *testing.T) {
	s := newTestServer(t, "")
	id := s.checkout(t, "")
	tests := []struct {
		name, method, path string
		body               any
		code               int
	}{
		{"unknown payment", "POST", "/payments/pay_nope/capture", nil, http.StatusNotFound},
		{"more precision than the currency", "POST", "/payments/" + id + "/refund", map[string]any{"amount": "5.505"}, http.StatusUnprocessableEntity},
		{"more than the payment", "POST", "/payments/" + id + "/refund", map[string]any{"amount": "30.00"}, http.StatusUnprocessableEntity},
		{"cancel with an amount", "POST", "/payments/" + id + "/cancel", map[string]any{"amount": "1.00"}, http.StatusUnprocessableEntity},
		{"unknown gateway", "POST", "/checkout", map[string]any{"gateway": "nope", "account": "a", "amount": "1.00", "currency": "USD"}, http.StatusUnprocessableEntity},
		{"float amount", "POST", "/checkout", map[string]any{"gateway": "fake", "account": "a", "amount": 1.5, "currency": "USD"}, http.StatusBadRequest},
		{"unknown field", "POST", "/checkout", map[string]any{"gateway": "fake", "amount_cents": 150}, http.StatusBadRequest},
		{"bad capture mode", "POST", "/checkout", map[string]any{"gateway": "fake", "account": "a", "amount": "1.00", "currency": "USD", "capture": "later"}, http.StatusUnprocessableEntity},
		{"no account", "POST", "/checkout", map[string]any{"gateway": "fake", "amount": "1.00", "currency": "USD"}, http.StatusUnprocessableEntity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, res := s.call(t, tt.method, tt.path, tt.body)
			assert.Equal(t, tt.code, code, res)
			assert.NotEmpty(t, res["error"])
		})
	}
}

func TestWebhooksAreMounted(t *testing.T) {
	s := newTestServer(t, "api-token")
	ev := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "fp_9", Account: "user-1", Amount: "3.00", Currency: "EUR"}
	req := s.fake.Request(ev, time.Now())
	httpReq, err := http.NewRequestWithContext(t.Context(), "POST", s.URL+"/fake-handleWebhookEvents", bytes.NewReader(req.Body))
	require.NoError(t, err)
	httpReq.Header = req.Header
	resp, err := http.DefaultClient.Do(httpReq)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "webhooks are authenticated by signature, not the API token")

	code, bal := s.call(t, "GET", "/accounts/user-1/balances", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "3.00", bal["balances"].([]any)[0].(map[string]any)["amount"])
}

func TestAPIToken(t *testing.T) {
	s := newTestServer(t, "s3cret")
	s.token = "wrong"
	code, res := s.call(t, "GET", "/status", nil)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "unauthorized", res["error"])
	s.token = "s3cret"
	code, _ = s.call(t, "GET", "/status", nil)
	assert.Equal(t, http.StatusOK, code)
}

func TestStatus(t *testing.T) {
	s := newTestServer(t, "")
	code, res := s.call(t, "GET", "/status", nil)
	require.Equal(t, http.StatusOK, code)
	assert.Equal(t, "OK", res["status"])
	g := res["gateways"].([]any)[0].(map[string]any)
	assert.Equal(t, "fake", g["name"])
	assert.Equal(t, true, g["up"])

	s.fake.SetHealth(errors.New("fake: key revoked"))
	code, res = s.call(t, "GET", "/status", nil)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.Equal(t, "Unavailable", res["status"])
	assert.Equal(t, "fake: key revoked", res["gateways"].([]any)[0].(map[string]any)["error"])
}

func without(m map[string]any, key string) map[string]any {
	delete(m, key)
	return m
}

// TestLoadConfig checks what the server reads besides its gateways, and
// that its gateways are internal/gatewayenv's (whose tests cover each
// gateway's variables).
func TestLoadConfig(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(vars map[string]string) env { return func(k string) string { return vars[k] } }
	stripeVars := map[string]string{"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_123",
		"STRIPE_WEBHOOK_SECRET": " whsec_new , whsec_old ,"}

	cfg, err := loadConfig(env(stripeVars), log)
	require.NoError(t, err)
	assert.Equal(t, ":8080", cfg.addr)
	assert.Equal(t, "./payments.db", cfg.sqlitePath)
	assert.Empty(t, cfg.databaseURL)
	require.Len(t, cfg.gateways, 1)
	assert.Equal(t, "stripe", cfg.gateways[0].Name())

	bad := []struct {
		name string
		vars map[string]string
		want string
	}{
		{"nothing enabled", map[string]string{}, "no gateway is enabled: set STRIPE_ENABLED, PAYPAL_ENABLED, CRYPTOMUS_ENABLED, " +
			"PAYEER_ENABLED, ANYPAY_ENABLED, APPSTORE_ENABLED or GOOGLE_PLAY_ENABLED to true"},
		{"stripe disabled", map[string]string{"STRIPE_ENABLED": "false", "STRIPE_SECRET_KEY": "sk_test_123"}, "no gateway is enabled"},
		{"not a boolean", map[string]string{"STRIPE_ENABLED": "yes please"}, `STRIPE_ENABLED="yes please" is not a boolean`},
		{"no key", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_WEBHOOK_SECRET": "whsec_1"}, "STRIPE_SECRET_KEY is empty"},
		{"no webhook secret", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": " , "}, "WebhookSecrets is empty"},
		{"another gateway broken", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_1",
			"CRYPTOMUS_ENABLED": "1", "CRYPTOMUS_MERCHANT_ID": "m"}, "CRYPTOMUS_PAYMENT_KEY is empty"},
		{"bad stream key", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_1",
			"STREAM_KEY": "short"}, "STREAM_KEY"},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(env(tt.vars), log)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "sk_test_123")
		})
	}

	vars := map[string]string{"ADDR": "127.0.0.1:9090", "DATABASE_URL": "postgres://db/payments", "SQLITE_PATH": "/var/lib/p.db", "API_TOKEN": "t",
		"CRYPTOMUS_ENABLED": "true", "CRYPTOMUS_MERCHANT_ID": "c26b80a8-0000-4000-8000-000000000000", "CRYPTOMUS_PAYMENT_KEY": "pk_secret"}
	maps.Copy(vars, stripeVars)
	cfg, err = loadConfig(env(vars), log)
	require.NoError(t, err)
	assert.Equal(t, "127.0.0.1:9090", cfg.addr)
	assert.Equal(t, "postgres://db/payments", cfg.databaseURL)
	assert.Equal(t, "/var/lib/p.db", cfg.sqlitePath)
	assert.Equal(t, "t", cfg.apiToken)
	require.Len(t, cfg.gateways, 2)
	assert.Equal(t, "stripe", cfg.gateways[0].Name())
	assert.Equal(t, "cryptomus", cfg.gateways[1].Name())
}

// gatewayFromEnv is the one gateway vars enable, configured as the server
// configures it.
func gatewayFromEnv(t *testing.T, vars map[string]string) payments.Gateway {
	t.Helper()
	cfg, err := loadConfig(func(k string) string { return vars[k] }, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.Len(t, cfg.gateways, 1)
	return cfg.gateways[0]
}

// TestRunServesAndShutsDownGracefully starts the real server with the
// Stripe driver on a SQLite file, records a Stripe-signed event through it,
// parks one that names no account and credits it through the operator API,
// and stops it the way SIGTERM does, by ending its context.
func TestRunServesAndShutsDownGracefully(t *testing.T) {
	vars := map[string]string{"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_old,whsec_1",
		"ADDR": "127.0.0.1:0", "SQLITE_PATH": t.TempDir() + "/payments.db", "API_TOKEN": "op-token"}
	ctx, stop := context.WithCancel(t.Context())
	defer stop()
	logs := &listenHandler{addr: make(chan string, 1)}
	done := make(chan error, 1)
	go func() { done <- run(ctx, func(k string) string { return vars[k] }, slog.New(logs)) }()
	var addr string
	select {
	case addr = <-logs.addr:
	case err := <-done:
		t.Fatalf("run returned early: %v", err)
	}

	code, answer := postStripeEvent(t, addr, "evt_server_1", "pi_server_1", 1000, `{"payments_account": "user-1"}`)
	assert.Equal(t, http.StatusOK, code, answer)
	assert.JSONEq(t, `{"outcome":"recorded"}`, answer)
	code, answer = postStripeEvent(t, addr, "evt_server_2", "pi_server_2", 2000, `{}`)
	assert.Equal(t, http.StatusOK, code, answer)
	assert.JSONEq(t, `{"outcome":"parked"}`, answer, "money without an account is kept, and acknowledged")

	api := &testServer{Server: &httptest.Server{URL: "http://" + addr}, token: "op-token"}
	code, res := api.call(t, "GET", "/notifications?gateway=stripe&outcome=parked&unresolved=true", nil)
	require.Equal(t, http.StatusOK, code, res)
	parked := list(t, res, "notifications")
	require.Len(t, parked, 1)
	assert.Equal(t, "evt_server_2", parked[0]["event_id"])
	code, res = api.call(t, "POST", "/notifications/"+parked[0]["id"].(string)+"/attribute", map[string]any{"account": "user-2"})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "recorded", res["outcome"])
	bal := balance(t, api, "user-2")
	require.Len(t, bal, 1)
	assert.Equal(t, "20.00", bal[0]["amount"])
	code, res = api.call(t, "GET", "/notifications?outcome=parked&unresolved=true", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Empty(t, list(t, res, "notifications"))

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

// postStripeEvent sends a payment_intent.succeeded signed with whsec_1 and
// returns the answer.
func postStripeEvent(t *testing.T, addr, eventID, intentID string, amount int, metadata string) (int, string) {
	t.Helper()
	body := []byte(fmt.Sprintf(`{"id": %q, "object": "event", "api_version": "2023-10-16", "created": 1703175362,
	  "type": "payment_intent.succeeded", "data": {"object": {"id": %q, "object": "payment_intent",
	  "amount": %d, "amount_received": %d, "currency": "usd", "status": "succeeded",
	  "metadata": %s}}}`, eventID, intentID, amount, amount, metadata))
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_1", Timestamp: time.Now()})
	req, err := http.NewRequestWithContext(t.Context(), "POST", "http://"+addr+"/stripe-handleWebhookEvents", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Stripe-Signature", signed.Header)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	answer, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(answer)
}

// listenHandler is a slog.Handler that reports the address run listens on.
type listenHandler struct{ addr chan string }

func (h *listenHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h *listenHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h *listenHandler) WithGroup(string) slog.Handler            { return h }
func (h *listenHandler) Handle(_ context.Context, r slog.Record) error {
	if r.Message == "listening" {
		r.Attrs(func(a slog.Attr) bool {
			if a.Key == "addr" {
				h.addr <- a.Value.String()
			}
			return true
		})
	}
	return nil
}
