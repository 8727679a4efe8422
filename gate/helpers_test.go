package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

const base = "https://gate.example"

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// countingStore counts the payments the Service creates, so that a refused
// request can be shown to have recorded nothing.
type countingStore struct {
	*memory.Store
	created atomic.Int32
}

func (s *countingStore) CreatePayment(ctx context.Context, p *payments.Payment) error {
	s.created.Add(1)
	return s.Store.CreatePayment(ctx, p)
}

// clock is a settable clock, safe for the race detector.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

type env struct {
	t         *testing.T
	svc       *payments.Service
	store     *countingStore
	fake      *gatewaytest.Fake
	fake2     *gatewaytest.Fake
	gate      *gate.Gate
	handler   http.Handler
	merchants *gate.MemoryMerchants
	records   *gate.MemoryRecords
	clock     *clock
	// token is the merchant "m1"'s API token, secret its postback secret.
	token, secret string
}

// newEnv builds a Service over a counting memory store with two Fake
// gateways, and a gate with merchant m1 (gateway fake) and m2 (both).
func newEnv(t *testing.T, tweak func(*gate.Config)) *env {
	t.Helper()
	e := &env{t: t, store: &countingStore{Store: memory.New()}, fake: gatewaytest.NewFake("whsec_fake"),
		fake2:     gatewaytest.NewFake("whsec_fake2", gatewaytest.WithName("fake2")),
		merchants: gate.NewMemoryMerchants(), records: gate.NewMemoryRecords(),
		clock: &clock{t: time.Now().UTC()}}
	var err error
	e.svc, err = payments.New(e.store, payments.WithGateway(e.fake, e.fake2))
	require.NoError(t, err)
	cfg := gate.Config{BaseURL: base, Merchants: e.merchants, Records: e.records, Now: e.clock.Now}
	if tweak != nil {
		tweak(&cfg)
	}
	e.gate, err = gate.New(e.svc, cfg)
	require.NoError(t, err)
	e.handler = e.gate.Handler()
	e.token, e.secret = e.addMerchant("m1", "fake")
	return e
}

func (e *env) addMerchant(id string, gateways ...string) (token, secret string) {
	e.t.Helper()
	secret, err := gate.NewPostbackSecret()
	require.NoError(e.t, err)
	token, tok, err := gate.NewToken(e.clock.Now())
	require.NoError(e.t, err)
	require.NoError(e.t, e.merchants.SaveMerchant(e.t.Context(), &gate.Merchant{ID: id, Name: "Shop " + id,
		Gateways: gateways, PostbackSecrets: []string{secret}, Tokens: []gate.Token{tok}, CreatedAt: e.clock.Now()}))
	return token, secret
}

// body is a valid init-payment request; edit changes it.
func body(edit func(map[string]any)) map[string]any {
	b := map[string]any{
		"id": "order-1001", "customerEmail": "ann@example.com", "customerName": "Ann",
		"amount": "10.50", "currency": "USD",
		"successUrl": "https://shop.example/ok", "errorUrl": "https://shop.example/fail",
		"postbackUrl": "https://shop.example/postback",
	}
	if edit != nil {
		edit(b)
	}
	return b
}

type answer struct {
	code   int
	header http.Header
	body   string
	json   map[string]any
}

func (e *env) do(req *http.Request) answer {
	e.t.Helper()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	a := answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
	if strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") {
		require.NoError(e.t, json.Unmarshal(rec.Body.Bytes(), &a.json), rec.Body.String())
	}
	return a
}

func (e *env) init(token string, b any) answer {
	e.t.Helper()
	raw, ok := b.(string)
	if !ok {
		data, err := json.Marshal(b)
		require.NoError(e.t, err)
		raw = string(data)
	}
	req := httptest.NewRequest(http.MethodPost, base+gate.PathInitPayment, strings.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Token "+token)
	}
	return e.do(req)
}

func (e *env) get(url string) answer {
	e.t.Helper()
	return e.do(httptest.NewRequest(http.MethodGet, url, nil))
}

// webhook delivers a Fake notification through the webhook package's
// handler, as the gateway would.
func (e *env) webhook(fake *gatewaytest.Fake, ev gatewaytest.Event) {
	e.t.Helper()
	wr := fake.Request(ev, time.Now())
	req := httptest.NewRequest(http.MethodPost, "/"+fake.Name()+"-handleWebhookEvents", bytes.NewReader(wr.Body))
	for k, v := range wr.Header {
		req.Header[k] = v
	}
	rec := httptest.NewRecorder()
	webhook.Handler(e.svc, fake.Name()).ServeHTTP(rec, req)
	require.Equal(e.t, http.StatusOK, rec.Code, rec.Body.String())
}

// receiver is a merchant's postback endpoint that verifies every message
// with the Standard Webhooks library.
type receiver struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	got    []map[string]any
	ids    []string
	*httptest.Server
}

func newReceiver(t *testing.T, secret string) *receiver {
	r := &receiver{t: t, secret: secret}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	wh, err := standardwebhooks.NewWebhook(r.secret)
	if !assert.NoError(r.t, err) || !assert.NoError(r.t, wh.Verify(body, req.Header), "the Standard Webhooks library verifies the gate's signature") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var msg map[string]any
	if !assert.NoError(r.t, json.Unmarshal(body, &msg)) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	r.mu.Lock()
	r.got = append(r.got, msg)
	r.ids = append(r.ids, req.Header.Get("webhook-id"))
	r.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() ([]map[string]any, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...), append([]string(nil), r.ids...)
}
