package stream_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/stream"
)

// noPoll makes the store poll too rare to matter, so that what a test sees
// came from the Service's in-process events.
const noPoll = time.Hour

func token(id string) string { return stream.Token(testKey, id, 10*time.Minute, time.Now()) }

func TestStreamFollowsPaymentUntilFinal(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll})
	p := in.checkout(t)

	c, resp := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c, "status %d", resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	assert.Equal(t, "no-store", resp.Header.Get("Cache-Control"))

	first := c.next(t, 5*time.Second)
	assert.Equal(t, strconv.FormatInt(p.Version, 10), first.ID, "the id is the payment's version")
	assert.Equal(t, statusData{PaymentID: p.ID, Status: "pending", Version: p.Version, Amount: "25.00", Currency: "USD"}, decodeStatus(t, first))

	in.postWebhook(t, p, "payment.authorized")
	ev := c.next(t, 5*time.Second)
	got := decodeStatus(t, ev)
	assert.Equal(t, "authorized", got.Status)
	assert.False(t, got.Final, "an authorized payment waits for its capture")

	in.postWebhook(t, p, "payment.succeeded")
	ev = c.next(t, 5*time.Second)
	got = decodeStatus(t, ev)
	assert.Equal(t, "succeeded", got.Status)
	assert.True(t, got.Final)
	stored, err := in.svc.Payment(t.Context(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, strconv.FormatInt(stored.Version, 10), ev.ID, "the id is the payment's version")
	assert.Equal(t, stored.Version, got.Version)

	assert.Empty(t, c.ended(t, 5*time.Second), "the stream ends after the final status")
}

func TestFailedIsNotFinal(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll})
	p := in.checkout(t)
	c, _ := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)

	in.postWebhook(t, p, "payment.failed")
	assert.Equal(t, statusData{PaymentID: p.ID, Status: "failed", Version: p.Version + 1, Amount: "25.00", Currency: "USD"},
		decodeStatus(t, c.next(t, 5*time.Second)), "a failed attempt can still be retried")
	in.postWebhook(t, p, "payment.succeeded")
	assert.Equal(t, "succeeded", decodeStatus(t, c.next(t, 5*time.Second)).Status)
	c.ended(t, 5*time.Second)
}

func TestResume(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll, Heartbeat: 50 * time.Millisecond})
	p := in.checkout(t)
	in.postWebhook(t, p, "payment.authorized")
	authorized, err := in.svc.Payment(t.Context(), p.ID)
	require.NoError(t, err)
	require.Equal(t, p.Version+1, authorized.Version)
	url := in.streamURL(p.ID, token(p.ID))
	has, older := strconv.FormatInt(authorized.Version, 10), strconv.FormatInt(p.Version, 10)

	t.Run("has the current version: nothing is resent", func(t *testing.T) {
		for name, open := range map[string]func() *sseClient{
			"Last-Event-ID": func() *sseClient {
				c, _ := openStream(t, nil, url, http.Header{"Last-Event-Id": {has}})
				return c
			},
			"?lastEventId": func() *sseClient {
				c, _ := openStream(t, nil, url+"&lastEventId="+has, nil)
				return c
			},
		} {
			c := open()
			require.NotNil(t, c, name)
			b := c.nextBlock(t, 5*time.Second)
			assert.Equal(t, []string{"heartbeat"}, b.Comments, "%s: the first thing sent is a heartbeat, not an event", name)
			assert.Empty(t, b.Data, name)
			c.close()
		}
	})
	t.Run("has an older version: the current one at once", func(t *testing.T) {
		c, _ := openStream(t, nil, url, http.Header{"Last-Event-Id": {older}})
		require.NotNil(t, c)
		ev := c.next(t, 5*time.Second)
		assert.Equal(t, has, ev.ID)
		assert.Equal(t, "authorized", decodeStatus(t, ev).Status)
		c.close()
	})
	t.Run("claims a version that does not exist: the current one", func(t *testing.T) {
		c, _ := openStream(t, nil, url, http.Header{"Last-Event-Id": {"99"}})
		require.NotNil(t, c)
		assert.Equal(t, has, c.next(t, 5*time.Second).ID)
		c.close()
	})

	in.postWebhook(t, p, "payment.succeeded")
	final, err := in.svc.Payment(t.Context(), p.ID)
	require.NoError(t, err)
	last := strconv.FormatInt(final.Version, 10)

	t.Run("a final payment is sent, then the stream ends", func(t *testing.T) {
		c, _ := openStream(t, nil, url, http.Header{"Last-Event-Id": {has}})
		require.NotNil(t, c)
		ev := c.next(t, 5*time.Second)
		assert.Equal(t, last, ev.ID)
		assert.True(t, decodeStatus(t, ev).Final)
		c.ended(t, 5*time.Second)
	})
	t.Run("the client has the final state: 204 stops EventSource", func(t *testing.T) {
		c, resp := openStream(t, nil, url, http.Header{"Last-Event-Id": {last}})
		require.Nil(t, c)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	})
}

func TestAuthorization(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll})
	p := in.checkout(t)
	other := in.checkout(t)
	unknown := "pay_0123456789abcdef0123456789abcdef"
	otherKey := []byte("fedcba9876543210fedcba9876543210")

	tests := []struct {
		name   string
		id     string
		query  string
		header http.Header
		want   int
	}{
		{name: "no token", id: p.ID, want: http.StatusUnauthorized},
		{name: "garbage", id: p.ID, query: "?token=garbage", want: http.StatusUnauthorized},
		{name: "another payment's token", id: p.ID, query: "?token=" + token(other.ID), want: http.StatusUnauthorized},
		{name: "signed with another key", id: p.ID, query: "?token=" + stream.Token(otherKey, p.ID, time.Minute, time.Now()), want: http.StatusUnauthorized},
		{name: "expired", id: p.ID, query: "?token=" + stream.Token(testKey, p.ID, -time.Second, time.Now()), want: http.StatusUnauthorized},
		{name: "unknown payment, no token", id: unknown, want: http.StatusUnauthorized},
		{name: "unknown payment, another's token", id: unknown, query: "?token=" + token(p.ID), want: http.StatusUnauthorized},
		{name: "bearer, wrong", id: p.ID, header: http.Header{"Authorization": {"Bearer " + token(other.ID)}}, want: http.StatusUnauthorized},
		{name: "unknown payment, valid token", id: unknown, query: "?token=" + token(unknown), want: http.StatusNotFound},
		{name: "query token", id: p.ID, query: "?token=" + token(p.ID), want: http.StatusOK},
		{name: "bearer token", id: p.ID, header: http.Header{"Authorization": {"Bearer " + token(p.ID)}}, want: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, resp := openStream(t, nil, in.srv.URL+"/payments/"+tt.id+"/events"+tt.query, tt.header)
			require.Equal(t, tt.want, resp.StatusCode)
			if c != nil {
				c.close()
				return
			}
			defer resp.Body.Close()
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.NotContains(t, string(body), "pending", "no payment data")
			assert.NotContains(t, string(body), "25.00", "no payment data")
			assert.NotContains(t, resp.Header.Get("Content-Type"), "event-stream")
			if tt.want == http.StatusUnauthorized {
				assert.Contains(t, resp.Header.Get("WWW-Authenticate"), "Bearer")
			}
		})
	}

	t.Run("POST", func(t *testing.T) {
		resp, err := http.Post(in.streamURL(p.ID, token(p.ID)), "text/plain", nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
	})
}

func TestTokenExpiryEndsTheStream(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll})
	p := in.checkout(t)
	// Expiry has a resolution of a second: this token lasts 1 to 2 seconds.
	tok := stream.Token(testKey, p.ID, 2*time.Second, time.Now())
	c, _ := openStream(t, nil, in.streamURL(p.ID, tok), nil)
	require.NotNil(t, c)
	assert.Equal(t, "pending", decodeStatus(t, c.next(t, 5*time.Second)).Status)

	rest := c.ended(t, 5*time.Second)
	require.NotEmpty(t, rest)
	assert.Equal(t, "expired", rest[len(rest)-1].Event, "the client is told why the stream ended")

	_, resp := openStream(t, nil, in.streamURL(p.ID, tok), http.Header{"Last-Event-Id": {"1"}})
	defer resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "the reconnect needs a new token")
}

// TestOtherInstanceOnSameStore is the cross-instance case on the memory
// store: two Services share one store, as two processes share one
// PostgreSQL. What B records never reaches A's in-process events; A's
// stream sees it by polling.
func TestOtherInstanceOnSameStore(t *testing.T) {
	store := memory.New()
	a := newInstance(t, store, stream.Options{PollInterval: 50 * time.Millisecond}, nil)
	b := newInstance(t, store, stream.Options{}, nil)
	p := a.checkout(t)

	c, _ := openStream(t, nil, a.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)
	b.postWebhook(t, p, "payment.succeeded")
	got := decodeStatus(t, c.next(t, 5*time.Second))
	assert.Equal(t, "succeeded", got.Status)
	assert.True(t, got.Final)
	c.ended(t, 5*time.Second)
}

// silent hides a Source's events: only polling can see a change.
type silent struct{ stream.Source }

func (silent) Subscribe(ctx context.Context, _ int) <-chan payments.Event {
	ch := make(chan payments.Event)
	context.AfterFunc(ctx, func() { close(ch) })
	return ch
}

// flaky fails every read while down is set.
type flaky struct {
	*payments.Service
	down atomic.Bool
}

func (f *flaky) Payment(ctx context.Context, id string) (*payments.Payment, error) {
	if f.down.Load() {
		return nil, errors.New("connection refused")
	}
	return f.Service.Payment(ctx, id)
}

func TestPollingSurvivesStoreFailures(t *testing.T) {
	var src *flaky
	in := newInstance(t, memory.New(), stream.Options{PollInterval: 20 * time.Millisecond}, func(svc *payments.Service) stream.Source {
		src = &flaky{Service: svc}
		return silent{src}
	})
	p := in.checkout(t)
	c, _ := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)

	src.down.Store(true)
	time.Sleep(100 * time.Millisecond) // a few failed polls
	in.postWebhook(t, p, "payment.succeeded")
	src.down.Store(false)
	assert.Equal(t, "succeeded", decodeStatus(t, c.next(t, 5*time.Second)).Status)
	c.ended(t, 5*time.Second)
}

func TestStoreFailureAtStartIsNotEchoed(t *testing.T) {
	in := newInstance(t, memory.New(), stream.Options{}, func(svc *payments.Service) stream.Source {
		f := &flaky{Service: svc}
		f.down.Store(true)
		return f
	})
	p := in.checkout(t)
	_, resp := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	body, _ := io.ReadAll(resp.Body)
	assert.NotContains(t, string(body), "connection refused")
}

// TestNoGoroutineLeaks opens streams, drops their clients, and checks that
// every stream ended, the shared subscription went with the last one, and
// no goroutine stayed behind.
func TestNoGoroutineLeaks(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: 10 * time.Millisecond, Heartbeat: 10 * time.Millisecond})
	p := in.checkout(t)
	transport := &http.Transport{}
	client := &http.Client{Transport: transport}
	before := runtime.NumGoroutine()

	var clients []*sseClient
	for range 5 {
		c, _ := openStream(t, client, in.streamURL(p.ID, token(p.ID)), nil)
		require.NotNil(t, c)
		c.next(t, 5*time.Second)
		clients = append(clients, c)
	}
	assert.Equal(t, 5, stream.OpenStreams(in.handler))
	assert.True(t, stream.Subscribed(in.handler))

	for _, c := range clients {
		c.close()
	}
	require.Eventually(t, func() bool { return stream.OpenStreams(in.handler) == 0 }, 5*time.Second, 5*time.Millisecond,
		"every stream ends when its client goes")
	assert.False(t, stream.Subscribed(in.handler), "the subscription ends with the last stream")
	transport.CloseIdleConnections()
	// Polled here, not with assert.Eventually, which runs its condition on
	// goroutines of its own.
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > before; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines before the streams, %d after:\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
	}

	// The Handler subscribes again for the next stream.
	c, _ := openStream(t, client, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)
	in.postWebhook(t, p, "payment.succeeded")
	assert.Equal(t, "succeeded", decodeStatus(t, c.next(t, 5*time.Second)).Status)
}

func TestNewRejectsShortKey(t *testing.T) {
	svc, err := payments.New(memory.New())
	require.NoError(t, err)
	_, err = stream.New(svc, stream.Options{Key: testKey[:31]})
	assert.Error(t, err)
	_, err = stream.New(svc, stream.Options{Key: testKey, PollInterval: -1})
	assert.Error(t, err)
	_, err = stream.New(nil, stream.Options{Key: testKey})
	assert.Error(t, err)
}

func TestIsFinal(t *testing.T) {
	for s, want := range map[payments.Status]bool{
		payments.StatusPending: false, payments.StatusAuthorized: false, payments.StatusFailed: false,
		payments.StatusSucceeded: true, payments.StatusCanceled: true, payments.StatusExpired: true,
		payments.StatusPartiallyRefunded: true, payments.StatusRefunded: true, payments.StatusDisputed: true,
		"": false, "weird": false,
	} {
		assert.Equal(t, want, stream.IsFinal(s), s)
	}
}

// TestOutlivesServerWriteTimeout: a server's WriteTimeout (examples/server
// sets 60 s) would cut every stream; each write moves the deadline on.
func TestOutlivesServerWriteTimeout(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll, Heartbeat: 50 * time.Millisecond})
	in.srv.Close()
	srv := httptest.NewUnstartedServer(in.mux)
	srv.Config.WriteTimeout = 300 * time.Millisecond
	srv.Start()
	t.Cleanup(srv.Close)
	in.srv = srv
	p := in.checkout(t)

	c, _ := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)
	time.Sleep(time.Second) // three write timeouts
	in.postWebhook(t, p, "payment.succeeded")
	assert.Equal(t, "succeeded", decodeStatus(t, c.next(t, 5*time.Second)).Status)
}

// TestCloseEndsStreams: Close, registered with RegisterOnShutdown, lets a
// graceful Shutdown finish although streams are open.
func TestCloseEndsStreams(t *testing.T) {
	in := newMemoryInstance(t, stream.Options{PollInterval: noPoll})
	in.srv.Config.RegisterOnShutdown(in.handler.Close)
	p := in.checkout(t)
	c, _ := openStream(t, nil, in.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	c.next(t, 5*time.Second)

	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	require.NoError(t, in.srv.Config.Shutdown(ctx), "Shutdown does not wait for the stream")
	c.ended(t, 5*time.Second)
	assert.Equal(t, 0, stream.OpenStreams(in.handler))
}
