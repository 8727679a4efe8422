package payments_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// blockingHost applies nothing until released, as a host whose database
// hangs would.
type blockingHost struct {
	release chan struct{}
	applied chan string
}

func (h *blockingHost) Apply(ctx context.Context, e payments.Entry) error {
	select {
	case <-h.release:
		h.applied <- e.ID
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func TestSlowBalanceServiceDoesNotHoldTheAnswer(t *testing.T) {
	h := &blockingHost{release: make(chan struct{}), applied: make(chan string, 1)}
	svc, fake, store := newService(t, payments.WithBalanceService(h),
		payments.WithSyncOptions(payments.SyncOptions{ImmediateWait: 50 * time.Millisecond}))
	start := time.Now()
	res, err := svc.HandleWebhook(t.Context(), "fake", fake.Request(charge("e1", "p1", "a", "3.00"), time.Now()))
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second, "the answer waits ImmediateWait, not ApplyTimeout (30s)")
	require.Len(t, res.Recorded.Entries, 1)

	close(h.release) // the host recovers: the apply that went on in the background lands
	select {
	case id := <-h.applied:
		assert.Equal(t, res.Recorded.Entries[0].ID, id)
	case <-time.After(10 * time.Second):
		t.Fatal("the background apply never finished")
	}
	require.Eventually(t, func() bool {
		done, _, err := store.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncDone})
		return err == nil && len(done) == 1
	}, 5*time.Second, 10*time.Millisecond, "settled under its own lease")
}

// panickyHost panics, as a host with a nil map would.
type panickyHost struct {
	mu    sync.Mutex
	calls int
}

func (h *panickyHost) Apply(context.Context, payments.Entry) error {
	h.mu.Lock()
	h.calls++
	h.mu.Unlock()
	var m map[string]int
	m["boom"]++
	return nil
}

func TestPanickingBalanceServiceIsAFailedAttempt(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	h := &panickyHost{}
	svc, fake, _ := newService(t, payments.WithBalanceService(h), payments.WithClock(clk.Now),
		payments.WithSyncOptions(payments.SyncOptions{MaxAttempts: 2}))
	require.NotPanics(t, func() {
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), time.Now()))
		require.NoError(t, err, "the entry committed: the webhook is answered")
	})
	pending, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, 1, pending[0].Attempts)
	assert.Contains(t, pending[0].LastError, "panicked")

	clk.Advance(time.Hour)
	require.NotPanics(t, func() {
		_, err = svc.SyncNow(ctx)
	})
	require.NoError(t, err)
	parked, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	assert.Len(t, parked, 1, "parked after MaxAttempts, like any failure")
}

// timedHost fails every call and records when it was called.
type timedHost struct {
	mu    sync.Mutex
	calls []time.Time
}

func (h *timedHost) Apply(context.Context, payments.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls = append(h.calls, time.Now())
	return assert.AnError
}

func (h *timedHost) times() []time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]time.Time(nil), h.calls...)
}

func TestRetryGapsStayWithinMaxDelay(t *testing.T) {
	h := &timedHost{}
	const maxDelay = 200 * time.Millisecond
	svc, fake, _ := newService(t, payments.WithBalanceService(h), payments.WithSyncOptions(payments.SyncOptions{
		BaseDelay: 100 * time.Millisecond, MaxDelay: maxDelay, Interval: time.Hour, MaxAttempts: 100,
	}))
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	go func() { _ = svc.Run(ctx) }()
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), time.Now()))
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(h.times()) >= 6 }, 5*time.Second, 10*time.Millisecond,
		"retries come when their backoff has passed, not at the next Interval (an hour)")
	calls := h.times()
	for i := 1; i < len(calls); i++ {
		gap := calls[i].Sub(calls[i-1])
		assert.GreaterOrEqual(t, gap, 50*time.Millisecond, "gap %d: at least half of BaseDelay", i)
		assert.LessOrEqual(t, gap, maxDelay+100*time.Millisecond, "gap %d: within MaxDelay, give or take scheduling", i)
	}
}

func TestEventsCarryPaymentVersions(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	events := svc.Subscribe(ctx, 16)
	for _, ev := range []gatewaytest.Event{
		{ID: "e1", Type: "payment.pending", PaymentID: "p1", Account: "a"},
		{ID: "e2", Type: "payment.authorized", PaymentID: "p1"},
		{ID: "e3", Type: "payment.authorized", PaymentID: "p1"}, // a redelivery: no event
		charge("e4", "p1", "", "3.00"),
	} {
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(ev, time.Now()))
		require.NoError(t, err)
	}
	var versions []int64
	for len(versions) < 3 {
		ev := <-events
		if ev.Payment != nil {
			versions = append(versions, ev.Payment.Version)
		}
	}
	assert.Equal(t, []int64{1, 2, 3}, versions, "created, authorized, succeeded")
}

func TestUnverifiedBodyIsJournaledBounded(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	spam := bytes.Repeat([]byte("x"), 1<<20)
	res, err := svc.HandleWebhook(ctx, "fake", &payments.WebhookRequest{Body: spam})
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	row, err := svc.Notification(ctx, res.Notification.ID)
	require.NoError(t, err)
	sum := sha256.Sum256(spam)
	assert.Len(t, row.Body, payments.UnverifiedBodyPrefix)
	assert.EqualValues(t, len(spam), row.BodyLen)
	assert.Equal(t, hex.EncodeToString(sum[:]), row.BodySHA256)

	big := charge("e1", "p1", "a", "3.00")
	big.Reference = string(bytes.Repeat([]byte("r"), 2*payments.UnverifiedBodyPrefix))
	req := fake.Request(big, time.Now())
	res, err = svc.HandleWebhook(ctx, "fake", req)
	require.NoError(t, err)
	row, err = svc.Notification(ctx, res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, req.Body, row.Body, "what verified is kept whole, for replays")
	assert.Zero(t, row.BodyLen)
}

func TestPruneJournalKeepsWhatWaits(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Now()}
	fake := gatewaytest.NewFake("k", gatewaytest.WithClock(clk.Now))
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithClock(clk.Now),
		payments.WithJournalRetention(payments.JournalRetention{Rejected: time.Hour, Parked: time.Hour}))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", &payments.WebhookRequest{Body: []byte("junk")})
	require.Error(t, err)
	parked, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "", "3.00"), clk.Now()))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeParked, parked.Notification.Outcome)

	n, err := svc.PruneJournal(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "nothing is old enough yet")
	clk.Advance(2 * time.Hour)
	n, err = svc.PruneJournal(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "the rejected row goes; the unresolved parked one stays")
	rows, _, err := svc.Notifications(ctx, payments.NotificationFilter{})
	require.NoError(t, err)
	require.Len(t, rows, 1)
	assert.Equal(t, parked.Notification.ID, rows[0].ID)
}

func TestMoneyThatDoesNotMatchItsPaymentIsParked(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	p, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "ann", Amount: payments.Money{Amount: 1000, Currency: "USD"}})
	require.NoError(t, err)
	for _, c := range []struct{ amount, currency string }{{"10.00", "EUR"}, {"1000.00", "USD"}} {
		ev := gatewaytest.Event{ID: "e_" + c.currency + c.amount, Type: "payment.succeeded", PaymentID: p.GatewayID,
			Amount: c.amount, Currency: c.currency}
		res, err := svc.HandleWebhook(ctx, "fake", fake.Request(ev, time.Now()))
		require.NoError(t, err, "parked money is acknowledged")
		assert.Equal(t, payments.OutcomeParked, res.Notification.Outcome, "%s %s", c.amount, c.currency)
		assert.Contains(t, res.Notification.Detail, "does not match its payment")
	}
	after, err := svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusPending, after.Status, "nothing moved")
	entries, _, err := svc.Entries(ctx, payments.EntryFilter{})
	require.NoError(t, err)
	assert.Empty(t, entries)

	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "e_ok", Type: "payment.succeeded",
		PaymentID: p.GatewayID, Amount: "10.00", Currency: "USD"}, time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
}

// journalDown is a Store whose journal fails, as a full disk would.
type journalDown struct{ *memory.Store }

func (journalDown) AppendNotification(context.Context, *payments.Notification) error {
	return assert.AnError
}

func TestVerifiedRejectionIsRetriedWhenTheJournalFails(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	svc, err := payments.New(journalDown{memory.New()}, payments.WithGateway(fake))
	require.NoError(t, err)
	// Signed, but an amount USD cannot hold: verified, rejected for good.
	res, err := svc.HandleWebhook(t.Context(), "fake", fake.Request(charge("e1", "p1", "a", "1.001"), time.Now()))
	require.Error(t, err)
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome, "not journaled, so not acknowledged")
	assert.Equal(t, 500, res.Reply.Status)

	res, err = svc.HandleWebhook(t.Context(), "fake", &payments.WebhookRequest{Body: []byte("forged")})
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.Equal(t, 401, res.Reply.Status, "a forgery is refused whether or not the journal works")
}
