package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"io"
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
	"github.com/payrail/payments/webhook"
)

// plain is a gateway without an Acknowledger, to see the default answer.
type plain struct{ fake *gatewaytest.Fake }

func (p plain) Name() string { return "plain" }
func (p plain) ParseWebhook(ctx context.Context, r *payments.WebhookRequest) (*payments.Changes, error) {
	return p.fake.ParseWebhook(ctx, r)
}

type server struct {
	*httptest.Server
	fake  *gatewaytest.Fake
	store payments.Store
}

func newServer(t *testing.T, store payments.Store, opts ...webhook.Option) *server {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_http")
	svc, err := payments.New(store, payments.WithGateway(fake, plain{gatewaytest.NewFake("whsec_http", gatewaytest.WithName("plain"))}))
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc, opts...)
	return &server{Server: newHTTPServer(t, mux), fake: fake, store: store}
}

func newHTTPServer(t *testing.T, h http.Handler) *httptest.Server {
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

func (s *server) post(t *testing.T, path string, req *payments.WebhookRequest) (int, string) {
	t.Helper()
	httpReq, err := http.NewRequest(http.MethodPost, s.URL+path, bytes.NewReader(req.Body))
	require.NoError(t, err)
	for k, v := range req.Header {
		httpReq.Header[k] = v
	}
	resp, err := s.Client().Do(httpReq)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body)
}

func event(id, typ, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: typ, PaymentID: "p-" + id, RefundID: "r-" + id, Account: account, Amount: amount, Currency: "USD"}
}

func TestHandlerAnswers(t *testing.T) {
	s := newServer(t, memory.New())
	now := time.Now()
	tests := []struct {
		name     string
		path     string
		req      *payments.WebhookRequest
		wantCode int
		wantBody string
	}{
		{"recorded, with the driver's acknowledgement", "/fake-handleWebhookEvents",
			s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), now), 200, "ok e1"},
		{"duplicate", "/fake-handleWebhookEvents",
			s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), now), 200, "ok e1"},
		{"default answer", "/plain-handleWebhookEvents",
			s.fake.Request(event("e2", "payment.succeeded", "a", "1.00"), now), 200, `{"outcome":"recorded"}` + "\n"},
		{"ignored event type", "/plain-handleWebhookEvents",
			s.fake.Request(event("e3", "customer.updated", "", ""), now), 200, `{"outcome":"ignored"}` + "\n"},
		{"parked", "/plain-handleWebhookEvents",
			s.fake.Request(event("e4", "refund.succeeded", "", "1.00"), now), 200, `{"outcome":"parked"}` + "\n"},
		{"stale signature", "/fake-handleWebhookEvents",
			s.fake.Request(event("e5", "payment.succeeded", "a", "1.00"), now.Add(-time.Hour)), 401, "Unauthorized\n"},
		{"wrong secret", "/fake-handleWebhookEvents",
			gatewaytest.NewFake("other").Request(event("e6", "payment.succeeded", "a", "1.00"), now), 401, "Unauthorized\n"},
		{"unparseable amount", "/fake-handleWebhookEvents",
			s.fake.Request(event("e7", "payment.succeeded", "a", "1.001"), now), 400, "Bad Request\n"},
		{"conflicting amount", "/fake-handleWebhookEvents",
			s.fake.Request(gatewaytest.Event{ID: "e8", Type: "payment.succeeded", PaymentID: "p-e1", Account: "a", Amount: "2.00", Currency: "USD"}, now), 409, "Conflict\n"},
		{"unknown gateway", "/nope-handleWebhookEvents",
			s.fake.Request(event("e9", "payment.succeeded", "a", "1.00"), now), 404, "404 page not found\n"},
	}
	for _, tt := range tests {
		code, body := s.post(t, tt.path, tt.req)
		assert.Equal(t, tt.wantCode, code, tt.name)
		assert.Equal(t, tt.wantBody, body, tt.name)
	}
}

func TestHandlerLimitsBodyAndMethod(t *testing.T) {
	s := newServer(t, memory.New(), webhook.WithMaxBodyBytes(64))
	big := s.fake.Request(event("e1", "payment.succeeded", strings.Repeat("a", 100), "1.00"), time.Now())
	code, _ := s.post(t, "/fake-handleWebhookEvents", big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)

	resp, err := s.Client().Get(s.URL + "/fake-handleWebhookEvents")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)

	journal, err := s.store.Notifications(t.Context(), payments.NotificationFilter{})
	require.NoError(t, err)
	assert.Empty(t, journal, "nothing over the limit reaches the driver")
}

func TestHandlerWithCustomPattern(t *testing.T) {
	s := newServer(t, memory.New(), webhook.WithPattern(func(g string) string { return "POST /hooks/" + g }))
	code, _ := s.post(t, "/hooks/fake", s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), time.Now()))
	assert.Equal(t, http.StatusOK, code)
	code, _ = s.post(t, "/fake-handleWebhookEvents", s.fake.Request(event("e2", "payment.succeeded", "a", "1.00"), time.Now()))
	assert.Equal(t, http.StatusNotFound, code)
}

// brokenStore fails every write the way a lost database connection does,
// with an error text that must not reach the gateway.
type brokenStore struct{ *memory.Store }

var errSecret = errors.New("dial tcp 10.0.0.5:5432: password authentication failed for user payments")

func (brokenStore) Commit(context.Context, *payments.Batch) (*payments.BatchResult, error) {
	return nil, errSecret
}

func TestStoreFailureAnswers500WithoutDetails(t *testing.T) {
	s := newServer(t, brokenStore{memory.New()})
	code, body := s.post(t, "/fake-handleWebhookEvents", s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), time.Now()))
	assert.Equal(t, http.StatusInternalServerError, code)
	assert.Equal(t, "Internal Server Error\n", body)
	assert.NotContains(t, body, "password")
}

func TestHandlerForOneGateway(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	require.NoError(t, err)
	h := webhook.Handler(svc, "fake")
	req := fake.Request(event("e1", "payment.succeeded", "a", "1.00"), time.Now())
	rec := httptest.NewRecorder()
	httpReq := httptest.NewRequest(http.MethodPost, "/anything", bytes.NewReader(req.Body))
	httpReq.Header = req.Header
	h.ServeHTTP(rec, httpReq)
	assert.Equal(t, http.StatusOK, rec.Code)
	bal, err := svc.Balance(t.Context(), "a", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(100), bal.Money.Amount)
}

func TestHandlerForUnknownGatewayPanicsAtWiring(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("k")))
	require.NoError(t, err)
	assert.PanicsWithValue(t, `webhook: the Service has no gateway "stripe"`, func() { webhook.Handler(svc, "stripe") })
}
