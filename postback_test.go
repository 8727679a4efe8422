package payments_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// receiver is a merchant's postback endpoint: it verifies each message with
// the Standard Webhooks project's own library and records it, or answers
// what the test tells it to.
type receiver struct {
	t      *testing.T
	mu     sync.Mutex
	secret string
	fail   int // answer 503 to this many first
	// anyTime skips the library's timestamp tolerance, for tests whose
	// Service runs on an advanced clock.
	anyTime bool
	got     []map[string]any
	ids     []string
	*httptest.Server
}

func newReceiver(t *testing.T) *receiver {
	r := &receiver{t: t}
	r.Server = httptest.NewServer(http.HandlerFunc(r.serve))
	t.Cleanup(r.Close)
	return r
}

func (r *receiver) serve(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	wh, err := standardwebhooks.NewWebhook(r.secret)
	verify := wh.Verify
	if r.anyTime {
		verify = wh.VerifyIgnoringTimestamp
	}
	if !assert.NoError(r.t, err) || !assert.NoError(r.t, verify(body, req.Header), "the standard library verifies our signature") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if r.fail > 0 {
		r.fail--
		w.WriteHeader(http.StatusServiceUnavailable)
		return
	}
	var msg map[string]any
	require.NoError(r.t, json.Unmarshal(body, &msg))
	r.got = append(r.got, msg)
	r.ids = append(r.ids, req.Header.Get("webhook-id"))
	w.WriteHeader(http.StatusNoContent)
}

func (r *receiver) received() ([]map[string]any, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]map[string]any(nil), r.got...), append([]string(nil), r.ids...)
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

func TestPostbacksAreSignedQueuedAndDeliveredOnce(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Now()}
	// One post at a time, so that the 503 meets the first message.
	svc, fake, _ := newService(t, payments.WithClock(clk.Now), payments.WithPostbacks(payments.PostbackOptions{Allow: loopback, Concurrency: 1}))
	rcv := newReceiver(t)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventStatusChanged, payments.EventEntryRecorded}})
	require.NoError(t, err)
	rcv.secret = ep.Secrets[0]
	rcv.fail = 1

	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "e1", Type: "payment.pending", PaymentID: "p1", Account: "amy"}, clk.Now()))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e2", "p1", "", "5.00"), clk.Now()))
	require.NoError(t, err)

	n, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the first delivery met a 503 and waits for its retry; the entry's went through")
	attempts, err := svc.Attempts(ctx, firstMessage(t, svc, ep.ID), ep.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	assert.Equal(t, http.StatusServiceUnavailable, attempts[0].Status)

	clk.Advance(6 * time.Second) // past the first retry (5 s, with up to a tenth of jitter)
	n, err = svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	n, err = svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "delivered once")

	got, ids := rcv.received()
	require.Len(t, got, 2, "payment.created is not among the endpoint's events")
	types := []any{got[0]["type"], got[1]["type"]}
	assert.ElementsMatch(t, []any{"payment.status_changed", "entry.recorded"}, types)
	assert.NotEqual(t, ids[0], ids[1])
	for _, m := range got {
		data := m["data"].(map[string]any)
		if m["type"] == "entry.recorded" {
			assert.Equal(t, "5.00", data["amount"], "amounts as decimal strings")
		}
	}
}

func TestPostbackPassDrainsFullClaims(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t, payments.WithPostbacks(payments.PostbackOptions{Allow: loopback, BatchSize: 2, Concurrency: 3}))
	rcv := newReceiver(t)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventEntryRecorded}})
	require.NoError(t, err)
	rcv.secret = ep.Secrets[0]
	for i := range 7 {
		id := string(rune('a' + i))
		_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e"+id, "p"+id, "amy", "1.00"), time.Now()))
		require.NoError(t, err)
	}
	n, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 7, n, "one pass claims again while claims come back full")
	_, ids := rcv.received()
	assert.Len(t, ids, 7)
}

func firstMessage(t *testing.T, svc *payments.Service, endpointID string) string {
	t.Helper()
	list, _, err := svc.Deliveries(t.Context(), payments.DeliveryFilter{EndpointID: endpointID})
	require.NoError(t, err)
	require.NotEmpty(t, list)
	return list[0].Message.ID
}

func TestPostbackSSRFGuard(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t, payments.WithPostbacks(payments.PostbackOptions{}))
	for _, u := range []string{"http://example.com/hook", "https://127.0.0.1/hook", "https://10.0.0.8/hook", "https://[::1]/hook",
		"https://169.254.169.254/latest", "https://0.0.0.0/", "ftp://example.com/", "https://user:pw@example.com/",
		"https://localhost/hook", "https://api.localhost./hook"} {
		_, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: u})
		assert.ErrorIs(t, err, payments.ErrInvalidInput, u)
	}
	// A name that resolves to loopback (this machine's own name here)
	// passes registration, and is refused at the connection, after DNS.
	host, err := os.Hostname()
	require.NoError(t, err)
	if !resolvesToLoopback(host) {
		t.Skipf("the connection-time half needs a host name that resolves to loopback; %q does not here", host)
	}
	rcv := newReceiver(t)
	_, port, _ := splitHostPort(rcv.URL)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: "https://" + host + ":" + port + "/hook"})
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "amy", "5.00"), time.Now()))
	require.NoError(t, err)
	n, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	list, _, err := svc.Deliveries(ctx, payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	require.NotEmpty(t, list)
	attempts, err := svc.Attempts(ctx, list[0].Message.ID, ep.ID)
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	assert.Contains(t, attempts[0].Error, "may not reach")
	got, _ := rcv.received()
	assert.Empty(t, got)
}

// resolvesToLoopback reports whether every address host resolves to is a
// loopback address.
func resolvesToLoopback(host string) bool {
	addrs, err := net.LookupHost(host)
	if err != nil || len(addrs) == 0 {
		return false
	}
	for _, a := range addrs {
		if ip, err := netip.ParseAddr(a); err != nil || !ip.IsLoopback() {
			return false
		}
	}
	return true
}

func splitHostPort(u string) (string, string, error) {
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		return "", "", err
	}
	return req.URL.Hostname(), req.URL.Port(), nil
}

func TestFailingEndpointIsDisabledNotDropped(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Now()}
	svc, fake, _ := newService(t, payments.WithClock(clk.Now), payments.WithPostbacks(payments.PostbackOptions{
		Allow: loopback, Schedule: []time.Duration{time.Minute, time.Minute}, DisableAfter: time.Hour}))
	events := svc.Subscribe(ctx, 8)
	rcv := newReceiver(t)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventEntryRecorded}})
	require.NoError(t, err)
	rcv.secret, rcv.fail, rcv.anyTime = ep.Secrets[0], 1000, true
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "amy", "5.00"), clk.Now()))
	require.NoError(t, err)
	drain(events)

	for range 3 {
		_, err = svc.DeliverPostbacks(ctx)
		require.NoError(t, err)
		clk.Advance(2 * time.Minute)
	}
	list, _, err := svc.Deliveries(ctx, payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, payments.DeliveryFailed, list[0].State, "three attempts: the first and two retries")

	// A second message keeps failing until the endpoint has failed for an hour.
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e2", "p2", "amy", "6.00"), time.Now()))
	require.NoError(t, err)
	_, err = svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	clk.Advance(2 * time.Hour)
	_, err = svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	eps, err := svc.Endpoints(ctx)
	require.NoError(t, err)
	assert.False(t, eps[0].DisabledAt.IsZero(), "disabled")
	assert.Contains(t, eps[0].DisabledReason, "failing since")
	reported := false
	for !reported {
		select {
		case ev := <-events:
			if ev.Type == payments.EventEndpointDisabled {
				assert.Equal(t, ep.ID, ev.EndpointID)
				reported = true
			}
		case <-time.After(time.Second):
			t.Fatal("the disabling is reported")
		}
	}
	list, _, err = svc.Deliveries(ctx, payments.DeliveryFilter{EndpointID: ep.ID, State: payments.DeliveryPending})
	require.NoError(t, err)
	assert.Len(t, list, 1, "its pending delivery waits, it is not dropped")

	rcv.mu.Lock()
	rcv.fail = 0
	rcv.mu.Unlock()
	require.NoError(t, svc.SetEndpointDisabled(ctx, ep.ID, false, ""))
	clk.Advance(time.Hour)
	n, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "re-enabled, it resumes")
	require.NoError(t, svc.Redeliver(ctx, list[0].Message.ID, ep.ID))
	n, err = svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "redelivered on request")
}

func drain(ch <-chan payments.Event) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

func TestPostbacksNeedAStoreThatKeepsThem(t *testing.T) {
	_, err := payments.New(failingStore{memory.New()}, payments.WithPostbacks(payments.PostbackOptions{}))
	assert.NoError(t, err, "memory keeps them, through the embedded store")
	_, err = payments.New(plainStore{}, payments.WithPostbacks(payments.PostbackOptions{}))
	assert.ErrorIs(t, err, payments.ErrNotSupported)
}

// plainStore is a Store that keeps no postbacks.
type plainStore struct{ payments.Store }

// TestRunDeliversWhatItQueuedAtOnce: a postback this Service queued leaves
// as soon as it is committed, not on the next Interval.
func TestRunDeliversWhatItQueuedAtOnce(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t, payments.WithPostbacks(payments.PostbackOptions{Allow: loopback, Interval: time.Hour}))
	rcv := newReceiver(t)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventEntryRecorded}})
	require.NoError(t, err)
	rcv.mu.Lock()
	rcv.secret = ep.Secrets[0]
	rcv.mu.Unlock()
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); _ = svc.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-done })

	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "amy", "5.00"), time.Now()))
	require.NoError(t, err)
	require.Eventually(t, func() bool { got, _ := rcv.received(); return len(got) == 1 },
		5*time.Second, 10*time.Millisecond, "delivered long before the hour-long Interval")
}

// gatedStore holds its first SettleDeliveries call until open is closed,
// and records the size of every call.
type gatedStore struct {
	*memory.Store
	open  chan struct{}
	mu    sync.Mutex
	sizes []int
}

func (g *gatedStore) SettleDeliveries(ctx context.Context, list []payments.DeliverySettlement) ([]error, error) {
	g.mu.Lock()
	first := len(g.sizes) == 0
	g.sizes = append(g.sizes, len(list))
	g.mu.Unlock()
	if first {
		<-g.open
	}
	return g.Store.SettleDeliveries(ctx, list)
}

// TestPostbackSettlementsShareACall: attempts that end while a settlement
// is being written are settled together by the next call, and every one of
// them is settled by the time the pass returns.
func TestPostbackSettlementsShareACall(t *testing.T) {
	ctx := t.Context()
	fake := gatewaytest.NewFake("whsec_svc")
	store := &gatedStore{Store: memory.New(), open: make(chan struct{})}
	svc, err := payments.New(store, payments.WithGateway(fake),
		payments.WithPostbacks(payments.PostbackOptions{Allow: loopback, Concurrency: 4}))
	require.NoError(t, err)
	rcv := newReceiver(t)
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventEntryRecorded}})
	require.NoError(t, err)
	rcv.secret = ep.Secrets[0]
	const n = 10
	for i := range n {
		id := string(rune('a' + i))
		_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e"+id, "p"+id, "amy", "1.00"), time.Now()))
		require.NoError(t, err)
	}
	go func() {
		// Open the store once every message has arrived: the attempts
		// after the first have then queued behind its settlement.
		for {
			if got, _ := rcv.received(); len(got) == n {
				break
			}
			time.Sleep(time.Millisecond)
		}
		time.Sleep(20 * time.Millisecond)
		close(store.open)
	}()
	delivered, err := svc.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, n, delivered)

	store.mu.Lock()
	sizes := slices.Clone(store.sizes)
	store.mu.Unlock()
	total := 0
	for _, size := range sizes {
		total += size
	}
	assert.Equal(t, n, total, "every attempt settled once")
	assert.Less(t, len(sizes), n, "in fewer calls than attempts: %v", sizes)
	list, _, err := svc.Deliveries(ctx, payments.DeliveryFilter{EndpointID: ep.ID, State: payments.DeliveryDelivered})
	require.NoError(t, err)
	assert.Len(t, list, n, "settled before DeliverPostbacks returned")
}

func TestDeliveryStateValid(t *testing.T) {
	for state, valid := range map[payments.DeliveryState]bool{
		payments.DeliveryPending:   true,
		payments.DeliveryDelivered: true,
		payments.DeliveryFailed:    true,
		"":                         false,
		"lost":                     false,
		"Pending":                  false,
	} {
		assert.Equal(t, valid, state.Valid(), "%q", state)
	}
}

// TestAttemptBounded covers what the store conformance suite cannot send
// through every store: bytes that are no UTF-8, which Response may hold.
func TestAttemptBounded(t *testing.T) {
	const limit = payments.MaxAttemptText
	tests := []struct{ name, text, want string }{
		{"short", "oops", "oops"},
		{"a character split", strings.Repeat("a", limit-2) + "€", strings.Repeat("a", limit-2)},
		{"binary", strings.Repeat("\x80", limit+10), strings.Repeat("\x80", limit)},
		{"invalid byte at the bound", strings.Repeat("a", limit-1) + "\xff\x80", strings.Repeat("a", limit-1) + "\xff"},
		// Lead bytes that no continuation follows are bytes like any other.
		{"a lone lead byte at the bound", strings.Repeat("a", limit-1) + "\xe2bbb", strings.Repeat("a", limit-1) + "\xe2"},
		{"a broken character across the bound", strings.Repeat("a", limit-2) + "\xe2\x82b", strings.Repeat("a", limit-2) + "\xe2\x82"},
		{"a character ending at the bound", strings.Repeat("a", limit-3) + "€b", strings.Repeat("a", limit-3) + "€"},
	}
	for _, tc := range tests {
		a := payments.Attempt{MessageID: "msg_1", Status: 500, Response: tc.text, Error: tc.text}.Bounded()
		assert.Equal(t, tc.want, a.Response, tc.name)
		assert.Equal(t, tc.want, a.Error, tc.name)
		assert.Equal(t, "msg_1", a.MessageID, "%s: the rest is kept", tc.name)
	}
}
