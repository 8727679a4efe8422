package main

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/postback"
)

// adminVars is gateVars without GATE_MERCHANTS: every merchant is the
// operator's routes' to manage.
func adminVars(t *testing.T) map[string]string {
	vars := gateVars(t)
	delete(vars, "GATE_MERCHANTS")
	return vars
}

// createdMerchant is the answer to POST /gate/merchants.
type createdMerchant struct {
	token, tokenID, secret, secretID string
	merchant                         map[string]any
}

func createMerchant(t *testing.T, s *testServer, id string) createdMerchant {
	t.Helper()
	code, res := s.call(t, "POST", "/gate/merchants", map[string]any{"id": id, "name": "Shop " + id, "gateways": []string{"fake"}})
	require.Equal(t, http.StatusCreated, code, res)
	c := createdMerchant{merchant: res["merchant"].(map[string]any)}
	c.token, _ = res["token"].(string)
	c.tokenID, _ = res["token_id"].(string)
	c.secret, _ = res["postback_secret"].(string)
	c.secretID, _ = res["secret_id"].(string)
	return c
}

// initPayment calls the gate's init-payment as a merchant with token and
// answers its status and body.
func initPayment(t *testing.T, s *testServer, token, orderID, postbackURL string) (int, map[string]any) {
	t.Helper()
	if postbackURL == "" {
		postbackURL = "https://shop.example/postback"
	}
	body, _ := json.Marshal(map[string]string{"id": orderID, "customerEmail": "ann@example.com", "amount": "10.50",
		"currency": "USD", "successUrl": "https://shop.example/ok", "errorUrl": "https://shop.example/fail",
		"postbackUrl": postbackURL})
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, s.URL+"/gate/api/v1/init-payment", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

// exported lists the merchant's payments as the gate's export has them.
func exported(t *testing.T, s *testServer, token string) []string {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, s.URL+"/gate/api/v1/transactions.jsonl", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var ids []string
	dec := json.NewDecoder(resp.Body)
	for dec.More() {
		var tx struct{ ID string }
		require.NoError(t, dec.Decode(&tx))
		ids = append(ids, tx.ID)
	}
	return ids
}

// raw sends a request to the admin and answers the status and body as is.
func raw(t *testing.T, s *testServer, method, path, authorization string) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, s.URL+path, strings.NewReader("{}"))
	require.NoError(t, err)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, resp.Header, string(body)
}

func tokenAt(t *testing.T, m map[string]any, i int) map[string]any {
	t.Helper()
	tokens := list(t, m, "tokens")
	require.Greater(t, len(tokens), i)
	return tokens[i]
}

func TestGateAdminNeedsTheAPIToken(t *testing.T) {
	s := runGate(t, gateVars(t))
	routes := []struct{ method, path string }{
		{"GET", "/gate/merchants"},
		{"POST", "/gate/merchants"},
		{"GET", "/gate/merchants/shop"},
		{"POST", "/gate/merchants/shop/tokens"},
		{"DELETE", "/gate/merchants/shop/tokens/tok_x"},
		{"POST", "/gate/merchants/shop/secrets"},
		{"DELETE", "/gate/merchants/shop/secrets/sec_x"},
		{"POST", "/gate/merchants/shop/disable"},
		{"POST", "/gate/merchants/shop/enable"},
		{"PUT", "/gate/merchants/shop/gateways"},
	}
	for _, r := range routes {
		for _, auth := range []string{"", "Bearer wrong", "Token " + gateToken} {
			code, header, body := raw(t, s, r.method, r.path, auth)
			assert.Equal(t, http.StatusUnauthorized, code, "%s %s with %q: %s", r.method, r.path, auth, body)
			assert.Equal(t, "Bearer", header.Get("WWW-Authenticate"))
			assert.JSONEq(t, `{"error":"unauthorized"}`, body)
		}
	}
	code, _, body := raw(t, s, "GET", "/gate/merchants/shop", "Bearer api-token")
	assert.Equal(t, http.StatusOK, code, body)
}

// A merchant created by the operator works at once; a rotation keeps the
// old token working until it is revoked; a revoked token is refused and
// records nothing.
func TestGateAdminCreateRotateRevoke(t *testing.T) {
	s := runGate(t, adminVars(t))
	created := createMerchant(t, s, "acme")
	assert.Regexp(t, `^gtk_[A-Za-z0-9_-]{43}$`, created.token)
	assert.Regexp(t, `^whsec_`, created.secret)
	assert.Regexp(t, `^sec_[0-9a-f]{12}$`, created.secretID)
	assert.Equal(t, "acme", created.merchant["id"])
	assert.Equal(t, "api", created.merchant["managed_by"])
	assert.Equal(t, false, created.merchant["disabled"])
	assert.Equal(t, created.tokenID, tokenAt(t, created.merchant, 0)["id"])

	code, res := initPayment(t, s, created.token, "order-1", "")
	require.Equal(t, http.StatusOK, code, res)

	// Shown once: reads carry ids only, never a token, its hash or a secret.
	for _, path := range []string{"/gate/merchants", "/gate/merchants/acme"} {
		code, _, body := raw(t, s, "GET", path, "Bearer api-token")
		require.Equal(t, http.StatusOK, code, body)
		assert.Contains(t, body, created.tokenID)
		assert.Contains(t, body, created.secretID)
		for _, leak := range []string{created.token, sha256Hex(created.token), created.secret, strings.TrimPrefix(created.secret, "whsec_")} {
			assert.NotContains(t, body, leak, path)
		}
	}
	code, header, _ := raw(t, s, "POST", "/gate/merchants/acme/tokens", "Bearer api-token")
	require.Equal(t, http.StatusCreated, code)
	assert.Equal(t, "no-store", header.Get("Cache-Control"), "an answer with a token is not cached")

	code, res = s.call(t, "POST", "/gate/merchants/acme/tokens", nil)
	require.Equal(t, http.StatusCreated, code, res)
	rotated, _ := res["token"].(string)
	require.Regexp(t, `^gtk_`, rotated)
	assert.Len(t, list(t, res["merchant"].(map[string]any), "tokens"), 3)

	code, res = initPayment(t, s, created.token, "order-2", "")
	require.Equal(t, http.StatusOK, code, "the old token works until it is revoked: %v", res)
	code, res = initPayment(t, s, rotated, "order-3", "")
	require.Equal(t, http.StatusOK, code, res)

	code, res = s.call(t, "DELETE", "/gate/merchants/acme/tokens/"+created.tokenID, nil)
	require.Equal(t, http.StatusOK, code, res)
	revoked := tokenAt(t, res, 0)
	assert.Equal(t, true, revoked["revoked"])
	assert.NotEmpty(t, revoked["revoked_at"])
	assert.Equal(t, false, tokenAt(t, res, 2)["revoked"])

	code, res = initPayment(t, s, created.token, "order-revoked", "")
	assert.Equal(t, http.StatusUnauthorized, code, res)
	assert.Equal(t, []string{"order-1", "order-2", "order-3"}, exported(t, s, rotated), "the refused call recorded nothing")

	code, res = s.call(t, "DELETE", "/gate/merchants/acme/tokens/"+created.tokenID, nil)
	assert.Equal(t, http.StatusOK, code, "revoking again is no error: %v", res)
	code, res = s.call(t, "DELETE", "/gate/merchants/acme/tokens/tok_unknown", nil)
	assert.Equal(t, http.StatusNotFound, code, res)
	code, res = s.call(t, "POST", "/gate/merchants/nobody/tokens", nil)
	assert.Equal(t, http.StatusNotFound, code, res)
}

func TestGateAdminDisable(t *testing.T) {
	s := runGate(t, adminVars(t))
	created := createMerchant(t, s, "acme")

	code, res := s.call(t, "POST", "/gate/merchants/acme/disable", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, true, res["disabled"])
	since := res["disabled_at"]
	require.NotEmpty(t, since)
	code, res = initPayment(t, s, created.token, "order-1", "")
	assert.Equal(t, http.StatusUnauthorized, code, res)

	code, res = s.call(t, "POST", "/gate/merchants/acme/disable", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, since, res["disabled_at"], "disabling again keeps the first time")

	code, res = s.call(t, "POST", "/gate/merchants/acme/enable", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, false, res["disabled"])
	assert.NotContains(t, res, "disabled_at")
	code, res = initPayment(t, s, created.token, "order-1", "")
	assert.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, []string{"order-1"}, exported(t, s, created.token), "the refused call recorded nothing")
}

// postbackSink is a merchant's postback endpoint that keeps what it gets.
type postbackSink struct {
	mu   sync.Mutex
	got  []receivedPostback
	seen chan struct{}
}

type receivedPostback struct {
	body   []byte
	header http.Header
}

func newPostbackSink(t *testing.T) (*postbackSink, *httptest.Server) {
	sink := &postbackSink{seen: make(chan struct{}, 16)}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		sink.mu.Lock()
		sink.got = append(sink.got, receivedPostback{body: body, header: r.Header.Clone()})
		sink.mu.Unlock()
		sink.seen <- struct{}{}
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(srv.Close)
	return sink, srv
}

func (p *postbackSink) next(t *testing.T) receivedPostback {
	t.Helper()
	select {
	case <-p.seen:
	case <-time.After(15 * time.Second):
		t.Fatal("no postback arrived")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.got[len(p.got)-1]
}

// pay inits a payment, sends the customer to the Fake and has the Fake
// report it paid, so that the gate posts it back.
func pay(t *testing.T, s *testServer, token, orderID, postbackURL string) {
	t.Helper()
	code, res := initPayment(t, s, token, orderID, postbackURL)
	require.Equal(t, http.StatusOK, code, res)
	wrapper := strings.Replace(res["url"].(string), "https://pay.example", s.URL, 1)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := noFollow.Get(wrapper)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	fakeID := strings.TrimPrefix(resp.Header.Get("Location"), "https://fake.invalid/pay/")
	code, body := s.deliver(t, gatewaytest.Event{ID: "evt_" + orderID, Type: "payment.succeeded", PaymentID: fakeID,
		Amount: "10.50", Currency: "USD"})
	require.Equal(t, http.StatusOK, code, body)
}

func verifies(t *testing.T, secret string, p receivedPostback) bool {
	t.Helper()
	v, err := postback.NewVerifier(secret)
	require.NoError(t, err)
	_, err = v.Verify(p.body, p.header)
	return err == nil
}

// During a secret rotation postbacks carry a signature for each secret, so
// that the merchant verifies with either; once the old one is dropped,
// only the new one verifies.
func TestGateAdminPostbackSecretRotation(t *testing.T) {
	vars := adminVars(t)
	vars["GATE_POSTBACK_ALLOW"] = "127.0.0.1/32"
	s := runGate(t, vars)
	sink, merchantSrv := newPostbackSink(t)
	created := createMerchant(t, s, "acme")

	code, res := s.call(t, "POST", "/gate/merchants/acme/secrets", nil)
	require.Equal(t, http.StatusCreated, code, res)
	newSecret, _ := res["postback_secret"].(string)
	require.Regexp(t, `^whsec_`, newSecret)
	secrets := list(t, res["merchant"].(map[string]any), "postback_secrets")
	require.Len(t, secrets, 2)
	assert.Equal(t, created.secretID, secrets[0]["id"])
	assert.Equal(t, res["secret_id"], secrets[1]["id"])

	pay(t, s, created.token, "order-1", merchantSrv.URL+"/postback")
	first := sink.next(t)
	assert.True(t, verifies(t, created.secret, first), "the old secret verifies during the rotation")
	assert.True(t, verifies(t, newSecret, first), "the new secret verifies during the rotation")

	code, res = s.call(t, "DELETE", "/gate/merchants/acme/secrets/"+created.secretID, nil)
	require.Equal(t, http.StatusOK, code, res)
	require.Len(t, list(t, res, "postback_secrets"), 1)

	pay(t, s, created.token, "order-2", merchantSrv.URL+"/postback")
	second := sink.next(t)
	assert.Contains(t, string(second.body), "order-2")
	assert.False(t, verifies(t, created.secret, second), "the dropped secret no longer signs")
	assert.True(t, verifies(t, newSecret, second))

	code, res = s.call(t, "DELETE", "/gate/merchants/acme/secrets/"+res["postback_secrets"].([]any)[0].(map[string]any)["id"].(string), nil)
	assert.Equal(t, http.StatusConflict, code, "the only secret stays: %v", res)
	code, res = s.call(t, "DELETE", "/gate/merchants/acme/secrets/"+created.secretID, nil)
	assert.Equal(t, http.StatusNotFound, code, res)
}

// Merchants GATE_MERCHANTS lists are read here and changed there: a
// change here would be undone at the next start.
func TestGateAdminLeavesEnvMerchantsToTheEnvironment(t *testing.T) {
	s := runGate(t, gateVars(t))
	code, res := s.call(t, "GET", "/gate/merchants/shop", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, "GATE_MERCHANTS", res["managed_by"])
	tokenID := tokenAt(t, res, 0)["id"].(string)
	assert.Regexp(t, `^tok_env_`, tokenID)

	refused := []struct {
		method, path string
		body         any
	}{
		{"POST", "/gate/merchants", map[string]any{"id": "shop", "gateways": []string{"fake"}}},
		{"POST", "/gate/merchants/shop/tokens", nil},
		{"DELETE", "/gate/merchants/shop/tokens/" + tokenID, nil},
		{"POST", "/gate/merchants/shop/secrets", nil},
		{"DELETE", "/gate/merchants/shop/secrets/" + list(t, res, "postback_secrets")[0]["id"].(string), nil},
		{"POST", "/gate/merchants/shop/disable", nil},
		{"PUT", "/gate/merchants/shop/gateways", map[string]any{"gateways": []string{"fake"}}},
	}
	for _, r := range refused {
		code, res := s.call(t, r.method, r.path, r.body)
		assert.Equal(t, http.StatusConflict, code, "%s %s: %v", r.method, r.path, res)
		assert.Contains(t, res["error"], "GATE_MERCHANTS", "the answer says where to change it")
	}
	checkGate(t, s) // its token still works

	createMerchant(t, s, "acme")
	code, res = s.call(t, "GET", "/gate/merchants", nil)
	require.Equal(t, http.StatusOK, code, res)
	merchants := list(t, res, "merchants")
	require.Len(t, merchants, 2)
	assert.Equal(t, []any{"acme", "api", "shop", "GATE_MERCHANTS"},
		[]any{merchants[0]["id"], merchants[0]["managed_by"], merchants[1]["id"], merchants[1]["managed_by"]})
}

func TestGateAdminRefusals(t *testing.T) {
	s := runGate(t, adminVars(t))
	createMerchant(t, s, "acme")
	cases := []struct {
		name         string
		method, path string
		body         any
		want         int
	}{
		{"unknown gateway", "POST", "/gate/merchants", map[string]any{"id": "b", "gateways": []string{"stripe"}}, http.StatusUnprocessableEntity},
		{"no gateway", "POST", "/gate/merchants", map[string]any{"id": "b"}, http.StatusUnprocessableEntity},
		{"gateway twice", "POST", "/gate/merchants", map[string]any{"id": "b", "gateways": []string{"fake", "fake"}}, http.StatusUnprocessableEntity},
		{"no id", "POST", "/gate/merchants", map[string]any{"gateways": []string{"fake"}}, http.StatusUnprocessableEntity},
		{"id not a path segment", "POST", "/gate/merchants", map[string]any{"id": "a/b", "gateways": []string{"fake"}}, http.StatusUnprocessableEntity},
		{"unknown field", "POST", "/gate/merchants", map[string]any{"id": "b", "gateways": []string{"fake"}, "tokens": []string{"gtk_x"}}, http.StatusBadRequest},
		{"existing id", "POST", "/gate/merchants", map[string]any{"id": "acme", "gateways": []string{"fake"}}, http.StatusConflict},
		{"unknown merchant", "GET", "/gate/merchants/nobody", nil, http.StatusNotFound},
		{"disable unknown", "POST", "/gate/merchants/nobody/disable", nil, http.StatusNotFound},
		{"secret of unknown", "POST", "/gate/merchants/nobody/secrets", nil, http.StatusNotFound},
		{"gateways unknown", "PUT", "/gate/merchants/acme/gateways", map[string]any{"gateways": []string{"paypal"}}, http.StatusUnprocessableEntity},
		{"limit out of range", "GET", "/gate/merchants?limit=0", nil, http.StatusBadRequest},
		{"unknown parameter", "GET", "/gate/merchants?name=acme", nil, http.StatusBadRequest},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, res := s.call(t, tc.method, tc.path, tc.body)
			assert.Equal(t, tc.want, code, res)
		})
	}
	code, res := s.call(t, "PUT", "/gate/merchants/acme/gateways", map[string]any{"gateways": []string{"fake"}})
	require.Equal(t, http.StatusOK, code, res)
	assert.Equal(t, []any{"fake"}, res["gateways"])
	code, res = s.call(t, "GET", "/gate/merchants", nil)
	require.Equal(t, http.StatusOK, code, res)
	assert.Len(t, list(t, res, "merchants"), 1, "a refused call created nothing")
}

func TestGateAdminListPages(t *testing.T) {
	s := runGate(t, adminVars(t))
	for _, id := range []string{"c", "a", "b"} {
		createMerchant(t, s, id)
	}
	code, res := s.call(t, "GET", "/gate/merchants?limit=2", nil)
	require.Equal(t, http.StatusOK, code, res)
	page := list(t, res, "merchants")
	require.Len(t, page, 2)
	assert.Equal(t, []any{"a", "b"}, []any{page[0]["id"], page[1]["id"]})
	require.Equal(t, "b", res["next"])
	code, res = s.call(t, "GET", "/gate/merchants?limit=2&after=b", nil)
	require.Equal(t, http.StatusOK, code, res)
	page = list(t, res, "merchants")
	require.Len(t, page, 1)
	assert.Equal(t, "c", page[0]["id"])
	assert.Empty(t, res["next"], "after the last page")
}
