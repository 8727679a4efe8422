package postback_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/postback"
	"github.com/payrail/payments/store/memory"
)

// merchant is a receiver built as a merchant would build it: Handler in
// front, Decode behind. It keeps every message and its raw body.
type merchant struct {
	mu     sync.Mutex
	ids    []string
	msgs   []*postback.Message
	bodies [][]byte
	heads  []http.Header
}

func (m *merchant) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, "read", http.StatusBadRequest)
		return
	}
	msg, err := postback.Decode(body)
	if err != nil {
		http.Error(w, "decode", http.StatusBadRequest)
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.ids = append(m.ids, r.Header.Get(postback.HeaderID))
	m.msgs = append(m.msgs, msg)
	m.bodies = append(m.bodies, body)
	m.heads = append(m.heads, r.Header.Clone())
	w.WriteHeader(http.StatusNoContent)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// TestServiceDeliveriesVerifyAndDecode runs the library's real delivery
// path — a Fake gateway's webhook recorded in the memory store, then
// DeliverPostbacks — into a receiver guarded by this package, during a
// secret rotation.
func TestServiceDeliveriesVerifyAndDecode(t *testing.T) {
	ctx := t.Context()
	fake := gatewaytest.NewFake("whsec_gateway")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithPostbacks(payments.PostbackOptions{Allow: loopback}))
	require.NoError(t, err)

	rcv := &merchant{}
	var verifier *postback.Verifier
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { verifier.Handler(rcv).ServeHTTP(w, r) }))
	t.Cleanup(srv.Close)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: srv.URL + "/postbacks", Secrets: []string{oldSecret, newSecret}})
	require.NoError(t, err)
	// The merchant has already moved to the new secret; the Service still
	// signs with both.
	verifier, err = postback.NewVerifier(ep.Secrets[1])
	require.NoError(t, err)

	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "e1", Type: "payment.succeeded", PaymentID: "pi_1",
		Account: "amy", Reference: "order:1", Amount: "12.50", Currency: "EUR"}, time.Now()))
	require.NoError(t, err)
	n, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)

	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	require.Len(t, rcv.msgs, n, "every delivery passed the Verifier")
	byType := map[postback.EventType]*postback.Message{}
	for i, m := range rcv.msgs {
		byType[m.Type] = m
		assert.NotEmpty(t, rcv.ids[i])
		// Both ways: what our Service signs, the Standard Webhooks library
		// verifies too, with either secret.
		for _, s := range ep.Secrets {
			wh, err := standardwebhooks.NewWebhook(s)
			require.NoError(t, err)
			assert.NoError(t, wh.Verify(rcv.bodies[i], rcv.heads[i]))
		}
		assertDataRoundTrips(t, m)
	}
	require.Contains(t, byType, postback.EventPaymentCreated)
	require.Contains(t, byType, postback.EventEntryRecorded)

	p, err := byType[postback.EventPaymentCreated].Payment()
	require.NoError(t, err)
	assert.Equal(t, "pi_1", p.GatewayID)
	assert.Equal(t, "amy", p.Account)
	assert.Equal(t, "order:1", p.Reference)
	assert.Equal(t, "fake", p.Gateway)
	assert.NotEmpty(t, p.ID)
	assert.Positive(t, p.Version)

	e, err := byType[postback.EventEntryRecorded].Entry()
	require.NoError(t, err)
	assert.Equal(t, "12.50", e.Amount, "a decimal string, never a float")
	assert.Equal(t, "EUR", e.Currency)
	assert.Equal(t, "charge", e.Kind)
	assert.Equal(t, p.ID, e.PaymentID)
	assert.False(t, e.RecordedAt.IsZero())
	assert.False(t, byType[postback.EventEntryRecorded].Timestamp.IsZero())

	_, err = byType[postback.EventEntryRecorded].Payment()
	assert.ErrorIs(t, err, postback.ErrWrongType)
	_, err = byType[postback.EventPaymentCreated].Entry()
	assert.ErrorIs(t, err, postback.ErrWrongType)
}

// assertDataRoundTrips checks that the typed data holds every field the
// Service sends, unchanged: a field added at the sender fails here until
// it is added to Payment or Entry.
func assertDataRoundTrips(t *testing.T, m *postback.Message) {
	t.Helper()
	var typed any
	switch m.Type {
	case postback.EventPaymentCreated, postback.EventStatusChanged:
		p, err := m.Payment()
		require.NoError(t, err)
		typed = p
	case postback.EventEntryRecorded:
		e, err := m.Entry()
		require.NoError(t, err)
		typed = e
	default:
		t.Fatalf("the Service sent %s, which the package does not name", m.Type)
	}
	again, err := json.Marshal(typed)
	require.NoError(t, err)
	var sent, kept map[string]any
	require.NoError(t, json.Unmarshal(m.Data, &sent))
	require.NoError(t, json.Unmarshal(again, &kept))
	assert.Equal(t, sent, kept, "%s data survives the typed struct", m.Type)
}

func TestEventTypesMatchTheService(t *testing.T) {
	assert.EqualValues(t, payments.EventPaymentCreated, postback.EventPaymentCreated)
	assert.EqualValues(t, payments.EventStatusChanged, postback.EventStatusChanged)
	assert.EqualValues(t, payments.EventEntryRecorded, postback.EventEntryRecorded)
}
