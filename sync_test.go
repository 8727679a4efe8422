package payments_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// host is a BalanceService that behaves as a host must: it applies each
// entry id once, however often it is called, and it can be told to fail.
type host struct {
	mu        sync.Mutex
	applied   map[string]int64 // entry id → amount applied
	balance   int64
	calls     int
	failures  int   // fail this many calls first
	failWith  error // with this error
	failEvery int   // then fail every failEvery-th call
	delay     time.Duration
	inFlight  map[string]bool
	overlaps  int // calls for an entry already being applied
}

func newHost() *host { return &host{applied: map[string]int64{}, inFlight: map[string]bool{}} }

func (h *host) Apply(ctx context.Context, e payments.Entry) error {
	h.mu.Lock()
	h.calls++
	if h.inFlight[e.ID] {
		h.overlaps++
	}
	h.inFlight[e.ID] = true
	fail := h.failures > 0 || (h.failEvery > 0 && h.calls%h.failEvery == 0)
	if h.failures > 0 {
		h.failures--
	}
	h.mu.Unlock()
	defer func() { h.mu.Lock(); delete(h.inFlight, e.ID); h.mu.Unlock() }()
	time.Sleep(h.delay) // a window in which a second, concurrent call would be seen
	if fail {
		if h.failWith != nil {
			return h.failWith
		}
		return errors.New("host database unavailable")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, done := h.applied[e.ID]; !done {
		h.applied[e.ID] = e.Amount.Amount
		h.balance += e.Amount.Amount
	}
	return nil
}

func (h *host) snapshot() (applied int, balance int64, calls int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.applied), h.balance, h.calls
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }

func (c *clock) Advance(d time.Duration) { c.mu.Lock(); c.now = c.now.Add(d); c.mu.Unlock() }

func TestSyncAppliesAtOnce(t *testing.T) {
	ctx := t.Context()
	h := newHost()
	svc, fake, _ := newService(t, payments.WithBalanceService(h))
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), time.Now()))
	require.NoError(t, err)
	applied, balance, calls := h.snapshot()
	assert.Equal(t, 1, applied)
	assert.Equal(t, int64(300), balance)
	assert.Equal(t, 1, calls)
	done, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncDone})
	require.NoError(t, err)
	assert.Len(t, done, 1)
	n, err := svc.SyncNow(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing left to apply")
}

func TestSyncRetriesWithBackoff(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	h := newHost()
	h.failures = 2
	fake := gatewaytest.NewFake("k", gatewaytest.WithClock(clk.Now))
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithBalanceService(h),
		payments.WithClock(clk.Now), payments.WithSyncOptions(payments.SyncOptions{BaseDelay: 10 * time.Second}))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), clk.Now()))
	require.NoError(t, err)

	tasks, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, 1, tasks[0].Attempts)
	assert.Equal(t, "host database unavailable", tasks[0].LastError)
	delay := tasks[0].NextAttempt.Sub(clk.Now())
	assert.True(t, delay >= 5*time.Second && delay <= 10*time.Second, "first retry after %s", delay)

	n, err := svc.SyncNow(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "not due yet")

	clk.Advance(10 * time.Second)
	n, err = svc.SyncNow(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "second failure")
	tasks, _, err = svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, 2, tasks[0].Attempts)
	delay = tasks[0].NextAttempt.Sub(clk.Now())
	assert.True(t, delay >= 10*time.Second && delay <= 20*time.Second, "second retry after %s", delay)

	clk.Advance(20 * time.Second)
	n, err = svc.SyncNow(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	applied, balance, calls := h.snapshot()
	assert.Equal(t, 1, applied)
	assert.Equal(t, int64(300), balance)
	assert.Equal(t, 3, calls)
}

func TestSyncParksPermanentFailuresAndRequeues(t *testing.T) {
	ctx := t.Context()
	h := newHost()
	h.failures, h.failWith = 1, payments.Permanent(errors.New("account closed"))
	svc, fake, _ := newService(t, payments.WithBalanceService(h))
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), time.Now()))
	require.NoError(t, err)
	parked, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	require.Len(t, parked, 1)
	assert.Contains(t, parked[0].LastError, "account closed")

	require.NoError(t, svc.RequeueSync(ctx, parked[0].Entry.ID))
	n, err := svc.SyncNow(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	applied, _, _ := h.snapshot()
	assert.Equal(t, 1, applied)
}

func TestSyncParksAfterMaxAttempts(t *testing.T) {
	ctx := t.Context()
	h := newHost()
	h.failures = 3
	clk := &clock{now: time.Now()}
	fake := gatewaytest.NewFake("k", gatewaytest.WithClock(clk.Now))
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithBalanceService(h),
		payments.WithClock(clk.Now), payments.WithSyncOptions(payments.SyncOptions{MaxAttempts: 3}))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), clk.Now()))
	require.NoError(t, err)
	for range 2 {
		clk.Advance(time.Hour)
		_, err = svc.SyncNow(ctx)
		require.NoError(t, err)
	}
	parked, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	require.Len(t, parked, 1)
	assert.Equal(t, 3, parked[0].Attempts)
	assert.Contains(t, parked[0].LastError, "too many attempts")
}

// Two Services sharing one Store, both running their loops while the host
// fails often: every entry is applied exactly once and never twice at once.
func TestTwoServicesNeverApplyTheSameEntryAtOnce(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := memory.New()
	fake := gatewaytest.NewFake("k")
	h := newHost()
	h.failEvery, h.delay = 3, 200*time.Microsecond
	opts := []payments.Option{payments.WithGateway(fake), payments.WithBalanceService(h),
		payments.WithSyncOptions(payments.SyncOptions{Interval: time.Millisecond, BaseDelay: time.Millisecond, MaxDelay: 5 * time.Millisecond, BatchSize: 20, DisableImmediate: true})}
	var svcs []*payments.Service
	for range 2 {
		svc, err := payments.New(store, opts...)
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	const n = 300
	var want int64
	for i := range n {
		_, err := svcs[i%2].HandleWebhook(ctx, "fake", fake.Request(charge(fmt.Sprint("e", i), fmt.Sprint("p", i), "a", "1.00"), time.Now()))
		require.NoError(t, err)
		want += 100
	}
	var wg sync.WaitGroup
	for _, svc := range svcs {
		wg.Go(func() { _ = svc.Run(ctx) })
	}
	require.Eventually(t, func() bool { applied, _, _ := h.snapshot(); return applied == n }, 20*time.Second, 5*time.Millisecond)
	cancel()
	wg.Wait()
	applied, balance, _ := h.snapshot()
	assert.Equal(t, n, applied)
	assert.Equal(t, want, balance)
	h.mu.Lock()
	assert.Zero(t, h.overlaps, "an entry was applied by two Services at once")
	h.mu.Unlock()
	done, _, err := store.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncDone})
	require.NoError(t, err)
	assert.Len(t, done, n)
}

// With leases shorter than a batch takes to apply, claims expire while their
// Service is still working through them: each Service must stop before its
// lease runs out, so no entry is ever applied twice, concurrently or not.
func TestShortLeasesNeverApplyTwice(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := memory.New()
	fake := gatewaytest.NewFake("k")
	h := newHost()
	h.delay = 20 * time.Millisecond
	opts := []payments.Option{payments.WithGateway(fake), payments.WithBalanceService(h),
		payments.WithSyncOptions(payments.SyncOptions{Lease: 300 * time.Millisecond, Interval: time.Millisecond, BatchSize: 40, DisableImmediate: true})}
	var svcs []*payments.Service
	for range 2 {
		svc, err := payments.New(store, opts...)
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	const n = 60
	for i := range n {
		_, err := svcs[0].HandleWebhook(ctx, "fake", fake.Request(charge(fmt.Sprint("e", i), fmt.Sprint("p", i), "a", "1.00"), time.Now()))
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	for _, svc := range svcs {
		wg.Go(func() { _ = svc.Run(ctx) })
	}
	require.Eventually(t, func() bool { applied, _, _ := h.snapshot(); return applied == n }, 30*time.Second, 5*time.Millisecond)
	cancel()
	wg.Wait()
	_, _, calls := h.snapshot()
	assert.Equal(t, n, calls, "an entry was applied more than once")
	h.mu.Lock()
	assert.Zero(t, h.overlaps)
	h.mu.Unlock()
}
