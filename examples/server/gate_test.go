package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

const gateToken = "gtk_c2VydmVyLXRlc3QtdG9rZW4tdGhhdC1pcy1sb25nLWVub3VnaA"

func gateEnv(vars map[string]string) env {
	return func(name string) string { return vars[name] }
}

func gateVars(t *testing.T) map[string]string {
	return map[string]string{
		"GATE_ENABLED":  "true",
		"GATE_BASE_URL": "https://pay.example/gate/",
		"GATE_MERCHANTS": `[{"id":"shop","name":"Shop","gateways":["fake"],"tokens":["` + gateToken + `"],
			"postbackSecrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}]`,
		"SQLITE_PATH": filepath.Join(t.TempDir(), "payments.db"),
		"API_TOKEN":   "api-token",
	}
}

// gateConfig is the server's settings from vars, as loadConfig reads them.
func gateConfig(t *testing.T, vars map[string]string) *config {
	t.Helper()
	cfg, err := loadSettings(gateEnv(vars))
	require.NoError(t, err)
	return cfg
}

func TestGateIsOffByDefault(t *testing.T) {
	gs, err := startGate(t.Context(), gateConfig(t, nil), gateEnv(nil), nil, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Nil(t, gs)
}

func TestGateConfigErrors(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_x")))
	require.NoError(t, err)
	cases := map[string]func(map[string]string){
		"not a boolean":            func(v map[string]string) { v["GATE_ENABLED"] = "yes please" },
		"no base url":              func(v map[string]string) { delete(v, "GATE_BASE_URL") },
		"base url at root":         func(v map[string]string) { v["GATE_BASE_URL"] = "https://pay.example" },
		"base url under the admin": func(v map[string]string) { v["GATE_BASE_URL"] = "https://pay.example/gate/merchants" },
		"merchants not json": func(v map[string]string) {
			v["GATE_MERCHANTS"] = `[{"id":"shop","secret":"whsec_leak"}]`
		},
		"missing file": func(v map[string]string) { v["GATE_MERCHANTS"] = filepath.Join(t.TempDir(), "none.json") },
		"no token": func(v map[string]string) {
			v["GATE_MERCHANTS"] = `[{"id":"s","gateways":["fake"],"postbackSecrets":["whsec_MfKQ"]}]`
		},
		"bad token hash": func(v map[string]string) {
			v["GATE_MERCHANTS"] = `[{"id":"s","gateways":["fake"],"postbackSecrets":["whsec_MfKQ"],"tokenSha256":["zz"]}]`
		},
		"bad allow prefix": func(v map[string]string) { v["GATE_POSTBACK_ALLOW"] = "not-a-prefix" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			vars := gateVars(t)
			edit(vars)
			_, err := startGate(t.Context(), gateConfig(t, vars), gateEnv(vars), svc, slog.New(slog.DiscardHandler))
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "whsec_", "a secret is never in an error")
		})
	}
}

// startTestGate starts the gate from vars and returns it with the func
// that stops it, which the test's end calls too.
func startTestGate(t *testing.T, vars map[string]string, svc *payments.Service) (*gateServer, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	gs, err := startGate(ctx, gateConfig(t, vars), gateEnv(vars), svc, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, gs)
	stop := sync.OnceFunc(func() {
		gs.gate.Close()
		cancel()
		<-gs.done // the gate's store is closed before the test's files go
	})
	t.Cleanup(stop)
	return gs, stop
}

// runGate starts the gate from vars beside the server's own handler and
// stops it when the test ends.
func runGate(t *testing.T, vars map[string]string) *testServer {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_server_gate")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	require.NoError(t, err)
	gs, _ := startTestGate(t, vars, svc)
	srv := httptest.NewServer(gs.mount(newHandler(svc, gs.apiToken, slog.New(slog.DiscardHandler))))
	t.Cleanup(srv.Close) // before the gate stops: cleanups run last first
	return &testServer{Server: srv, fake: fake, token: vars["API_TOKEN"]}
}

// checkGate inits a payment as the merchant through the mounted gate, and
// sees the server's own routes still served beside it.
func checkGate(t *testing.T, srv *testServer) {
	t.Helper()
	body, _ := json.Marshal(map[string]string{"id": "order-1", "customerEmail": "ann@example.com", "amount": "10.50",
		"currency": "USD", "successUrl": "https://shop.example/ok", "errorUrl": "https://shop.example/fail",
		"postbackUrl": "https://shop.example/postback"})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/gate/api/v1/init-payment", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+gateToken)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var answer struct{ Status, ID, URL string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&answer))
	require.Equal(t, http.StatusOK, resp.StatusCode, answer)
	assert.Equal(t, "https://pay.example/gate/pay?id="+answer.ID, answer.URL)

	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(srv.URL + "/gate/pay?id=" + answer.ID)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "https://fake.invalid/pay/fp_1", resp.Header.Get("Location"), "the wrapper sends the customer to the gateway")

	resp, err = http.Get(srv.URL + "/gate/docs")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	resp, err = http.Get(srv.URL + "/status")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the server's own API, behind its own token, is untouched")
}

func TestGateOnSQLite(t *testing.T) {
	checkGate(t, runGate(t, gateVars(t)))
}

func TestGateMerchantsFromFile(t *testing.T) {
	vars := gateVars(t)
	path := filepath.Join(t.TempDir(), "merchants.json")
	sum := sha256Hex(gateToken)
	require.NoError(t, os.WriteFile(path, []byte(`[{"id":"shop","gateways":["fake"],"tokenSha256":["`+sum+`"],
		"postbackSecrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"]}]`), 0o600))
	vars["GATE_MERCHANTS"] = path
	checkGate(t, runGate(t, vars))
}

// A restart saves GATE_MERCHANTS again but keeps the times the store
// holds: when each merchant was created, when one was disabled while it
// stays so, and when each token was created.
func TestGateRestartKeepsMerchantTimes(t *testing.T) {
	vars := gateVars(t)
	declare := func(shopName string, shopDisabled, closedDisabled bool) {
		vars["GATE_MERCHANTS"] = fmt.Sprintf(`[
			{"id":"shop","name":%q,"gateways":["fake"],"tokens":[%q],"postbackSecrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"disabled":%t},
			{"id":"closed","gateways":["fake"],"tokenSha256":[%q],"postbackSecrets":["whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"],"disabled":%t}]`,
			shopName, gateToken, shopDisabled, sha256Hex(gateToken+"-closed"), closedDisabled)
	}
	// start starts and stops the gate, as a restart of the server does, and
	// answers the merchants it stored.
	start := func() map[string]*gate.Merchant {
		svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_x")))
		require.NoError(t, err)
		gs, stop := startTestGate(t, vars, svc)
		defer stop()
		out := map[string]*gate.Merchant{}
		for _, id := range []string{"shop", "closed"} {
			m, err := gs.admin.store.Merchant(t.Context(), id)
			require.NoError(t, err)
			require.Len(t, m.Tokens, 1)
			out[id] = m
		}
		return out
	}
	stamp := func(at time.Time) string {
		if at.IsZero() {
			return "never"
		}
		return at.UTC().Format(time.RFC3339Nano)
	}
	times := func(m *gate.Merchant) map[string]string {
		return map[string]string{"created": stamp(m.CreatedAt), "disabled": stamp(m.DisabledAt), "token created": stamp(m.Tokens[0].CreatedAt)}
	}

	declare("Shop", false, true)
	first := start()
	assert.Equal(t, "never", times(first["shop"])["disabled"])
	assert.NotEqual(t, "never", times(first["closed"])["disabled"])

	again := start()
	for id := range first {
		assert.Equal(t, times(first[id]), times(again[id]), "%s: an unchanged declaration keeps its times", id)
	}

	declare("Shop renamed", true, false)
	changed := start()
	assert.Equal(t, "Shop renamed", changed["shop"].Name)
	assert.Equal(t, times(first["shop"])["created"], times(changed["shop"])["created"])
	assert.Equal(t, times(first["shop"])["token created"], times(changed["shop"])["token created"])
	assert.True(t, changed["shop"].DisabledAt.After(first["shop"].CreatedAt), "disabled at this start: %v", changed["shop"].DisabledAt)
	assert.Equal(t, times(first["closed"])["created"], times(changed["closed"])["created"])
	assert.Equal(t, "never", times(changed["closed"])["disabled"], "enabled again")

	disabledAt := times(changed["shop"])["disabled"]
	assert.Equal(t, disabledAt, times(start()["shop"])["disabled"], "still disabled: when it was disabled stays")
}

func TestGateOnPostgres(t *testing.T) {
	dsn := os.Getenv("PAYMENTS_POSTGRES_DSN")
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but PAYMENTS_POSTGRES_DSN is not set")
		}
		t.Skip("set PAYMENTS_POSTGRES_DSN to run the gate on PostgreSQL")
	}
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gate_server_test_" + hex.EncodeToString(b[:])
	admin, err := pgxpool.New(t.Context(), dsn)
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	_, err = admin.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	require.NoError(t, err)
	t.Cleanup(func() {
		_, _ = admin.Exec(context.Background(), "DROP SCHEMA "+pgx.Identifier{schema}.Sanitize()+" CASCADE")
	})
	vars := gateVars(t)
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	vars["DATABASE_URL"] = dsn + sep + "search_path=" + schema
	checkGate(t, runGate(t, vars))
	var n int
	require.NoError(t, admin.QueryRow(t.Context(), "SELECT count(*) FROM "+pgx.Identifier{schema, "gate_records"}.Sanitize()).Scan(&n))
	assert.Equal(t, 1, n, "the gate's records are in PostgreSQL")
}

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}
