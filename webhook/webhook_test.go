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

// plain is a gateway without a WebhookReplier, to see the Service's default
// replies.
type plain struct{ fake *gatewaytest.Fake }

func (p plain) Name() string { return "plain" }
func (p plain) ParseWebhook(ctx context.Context, r *payments.WebhookRequest) (*payments.Changes, error) {
	return p.fake.ParseWebhook(ctx, r)
}

// accepting is a gateway whose replier answers 202 with a body of its own
// for what it acknowledges and 503 for failures, to see that the handler
// writes the status the reply carries rather than one of its own.
type accepting struct{ plain }

func (a accepting) Name() string { return "accepting" }
func (a accepting) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	if res.Reply.Status < 300 {
		return payments.WebhookReply{Status: http.StatusAccepted, ContentType: "text/csv", Body: []byte(res.Notification.EventID + ",accepted\n")}
	}
	return payments.WebhookReply{Status: http.StatusServiceUnavailable, Body: []byte("retry\n")}
}

type server struct {
	*httptest.Server
	fake  *gatewaytest.Fake
	store payments.Store
}

func newServer(t *testing.T, store payments.Store, opts ...webhook.Option) *server {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_http")
	svc, err := payments.New(store, payments.WithGateway(fake,
		plain{gatewaytest.NewFake("whsec_http", gatewaytest.WithName("plain"))},
		accepting{plain{gatewaytest.NewFake("whsec_http", gatewaytest.WithName("accepting"))}}))
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

// reply is what a client of the handler saw.
type reply struct {
	code        int
	contentType string
	body        string
}

func (s *server) post(t *testing.T, path string, req *payments.WebhookRequest) (int, string) {
	t.Helper()
	r := s.send(t, path, req)
	return r.code, r.body
}

func (s *server) send(t *testing.T, path string, req *payments.WebhookRequest) reply {
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
	return reply{resp.StatusCode, resp.Header.Get("Content-Type"), string(body)}
}

func event(id, typ, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: typ, PaymentID: "p-" + id, RefundID: "r-" + id, Account: account, Amount: amount, Currency: "USD"}
}

const (
	jsonType = "application/json"
	textType = "text/plain; charset=utf-8"
)

// TestHandlerWritesTheReply sends each kind of notification to a gateway
// with a replier (the Fake: "ok <event id>" or "error") and to one without
// (plain: the Service's JSON outcome or the status text).
func TestHandlerWritesTheReply(t *testing.T) {
	s := newServer(t, memory.New())
	now := time.Now()
	other := gatewaytest.NewFake("other")
	tests := []struct {
		name string
		path string
		req  *payments.WebhookRequest
		want reply
	}{
		{"recorded, the driver's reply", "/fake-handleWebhookEvents",
			s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), now), reply{200, textType, "ok e1"}},
		{"duplicate, the driver's reply", "/fake-handleWebhookEvents",
			s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), now), reply{200, textType, "ok e1"}},
		{"recorded, the default reply", "/plain-handleWebhookEvents",
			s.fake.Request(event("e2", "payment.succeeded", "a", "1.00"), now), reply{200, jsonType, `{"outcome":"recorded"}` + "\n"}},
		{"duplicate, the default reply", "/plain-handleWebhookEvents",
			s.fake.Request(event("e2", "payment.succeeded", "a", "1.00"), now), reply{200, jsonType, `{"outcome":"duplicate"}` + "\n"}},
		{"ignored event type", "/plain-handleWebhookEvents",
			s.fake.Request(event("e3", "customer.updated", "", ""), now), reply{200, jsonType, `{"outcome":"ignored"}` + "\n"}},
		{"parked", "/plain-handleWebhookEvents",
			s.fake.Request(event("e4", "refund.succeeded", "", "1.00"), now), reply{200, jsonType, `{"outcome":"parked"}` + "\n"}},
		{"parked, the driver's reply", "/fake-handleWebhookEvents",
			s.fake.Request(event("e5", "refund.succeeded", "", "1.00"), now), reply{200, textType, "ok e5"}},
		{"stale signature, the driver's reply", "/fake-handleWebhookEvents",
			s.fake.Request(event("e6", "payment.succeeded", "a", "1.00"), now.Add(-time.Hour)), reply{401, textType, "error"}},
		{"stale signature, the default reply", "/plain-handleWebhookEvents",
			s.fake.Request(event("e6", "payment.succeeded", "a", "1.00"), now.Add(-time.Hour)), reply{401, textType, "Unauthorized\n"}},
		{"wrong secret", "/plain-handleWebhookEvents",
			other.Request(event("e7", "payment.succeeded", "a", "1.00"), now), reply{401, textType, "Unauthorized\n"}},
		{"no signature, a body that is not JSON", "/plain-handleWebhookEvents",
			&payments.WebhookRequest{Body: []byte("<xml/>")}, reply{401, textType, "Unauthorized\n"}},
		{"signed, a body that is not JSON", "/plain-handleWebhookEvents",
			&payments.WebhookRequest{Header: s.fake.Sign([]byte("<xml/>"), now), Body: []byte("<xml/>")}, reply{400, textType, "Bad Request\n"}},
		{"unparseable amount, the driver's reply", "/fake-handleWebhookEvents",
			s.fake.Request(event("e8", "payment.succeeded", "a", "1.001"), now), reply{400, textType, "error"}},
		{"unparseable amount, the default reply", "/plain-handleWebhookEvents",
			s.fake.Request(event("e8", "payment.succeeded", "a", "1.001"), now), reply{400, textType, "Bad Request\n"}},
		// Less than the charge recorded under the same key: a conflict.
		// (More would be money above its payment's, parked for review.)
		{"conflicting amount", "/fake-handleWebhookEvents",
			s.fake.Request(gatewaytest.Event{ID: "e9", Type: "payment.succeeded", PaymentID: "p-e1", Account: "a", Amount: "0.50", Currency: "USD"}, now),
			reply{409, textType, "error"}},
		{"conflicting amount, the default reply", "/plain-handleWebhookEvents",
			s.fake.Request(gatewaytest.Event{ID: "e9", Type: "payment.succeeded", PaymentID: "p-e2", Account: "a", Amount: "0.50", Currency: "USD"}, now),
			reply{409, textType, "Conflict\n"}},
		{"a replier's own status and type", "/accepting-handleWebhookEvents",
			s.fake.Request(event("e10", "payment.succeeded", "a", "1.00"), now), reply{202, "text/csv", "e10,accepted\n"}},
		{"a replier's own failure status", "/accepting-handleWebhookEvents",
			other.Request(event("e11", "payment.succeeded", "a", "1.00"), now), reply{503, "", "retry\n"}},
		{"unknown gateway", "/nope-handleWebhookEvents",
			s.fake.Request(event("e12", "payment.succeeded", "a", "1.00"), now), reply{404, textType, "404 page not found\n"}},
	}
	for _, tt := range tests {
		got := s.send(t, tt.path, tt.req)
		assert.Equal(t, tt.want.code, got.code, tt.name)
		assert.Equal(t, tt.want.body, got.body, tt.name)
		if tt.want.contentType != "" {
			assert.Equal(t, tt.want.contentType, got.contentType, tt.name)
		}
	}

	// Every notification the Service saw is journaled, whatever it was
	// answered; the unknown gateway's never reached it.
	journal, next, err := s.store.Notifications(t.Context(), payments.NotificationFilter{})
	require.NoError(t, err)
	assert.Empty(t, next)
	assert.Len(t, journal, len(tests)-1)
	rejected, _, err := s.store.Notifications(t.Context(), payments.NotificationFilter{Gateway: "plain", Outcome: payments.OutcomeRejected})
	require.NoError(t, err)
	verified := 0
	for _, n := range rejected {
		if n.Verified {
			verified++
		}
	}
	assert.Len(t, rejected, 6)
	assert.Equal(t, 3, verified, "the unreadable body, the amount and the conflict verified; the stale, forged and unsigned ones did not")
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

	journal, _, err := s.store.Notifications(t.Context(), payments.NotificationFilter{})
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
	for path, want := range map[string]string{
		"/fake-handleWebhookEvents":  "error",
		"/plain-handleWebhookEvents": "Internal Server Error\n",
	} {
		code, body := s.post(t, path, s.fake.Request(event("e1", "payment.succeeded", "a", "1.00"), time.Now()))
		assert.Equal(t, http.StatusInternalServerError, code, path)
		assert.Equal(t, want, body, path)
		assert.NotContains(t, body, "password", path)
	}
	journal, _, err := s.store.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeFailed})
	require.NoError(t, err)
	assert.Len(t, journal, 2, "the failures are journaled for the operator, who may see why")
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
