package payments_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// recorder is an Observer that keeps what it is told and marks the context
// it hands back, so that tests can see which calls ran under it.
type recorder struct {
	payments.NopObserver
	mu       sync.Mutex
	starts   []payments.WebhookObservation
	webhooks []payments.WebhookObservation
	syncs    []payments.SyncObservation
}

type spanKey struct{}

func (r *recorder) Webhook(ctx context.Context, o payments.WebhookObservation) (context.Context, func(payments.WebhookObservation)) {
	r.mu.Lock()
	r.starts = append(r.starts, o)
	r.mu.Unlock()
	return context.WithValue(ctx, spanKey{}, "webhook "+o.NotificationID), func(o payments.WebhookObservation) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.webhooks = append(r.webhooks, o)
	}
}

func (r *recorder) SyncAttempt(ctx context.Context, o payments.SyncObservation) (context.Context, func(payments.SyncObservation)) {
	return ctx, func(o payments.SyncObservation) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.syncs = append(r.syncs, o)
	}
}

func (r *recorder) last() payments.WebhookObservation {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.webhooks[len(r.webhooks)-1]
}

func TestObserverSeesEachWebhookOutcome(t *testing.T) {
	ctx := t.Context()
	rec := &recorder{}
	svc, fake, _ := newService(t, payments.WithObserver(rec))
	now := time.Now()
	tampered := fake.Request(charge("e3", "p3", "alice", "1.00"), now)
	tampered.Body[len(tampered.Body)-3] ^= 1

	for _, tc := range []struct {
		name    string
		req     *payments.WebhookRequest
		outcome payments.Outcome
		status  int
		class   string
	}{
		{"recorded", fake.Request(charge("e1", "p1", "alice", "10.00"), now), payments.OutcomeRecorded, http.StatusOK, ""},
		{"duplicate", fake.Request(charge("e1", "p1", "alice", "10.00"), now), payments.OutcomeDuplicate, http.StatusOK, ""},
		{"ignored", fake.Request(gatewaytest.Event{ID: "e2", Type: "customer.created"}, now), payments.OutcomeIgnored, http.StatusOK, ""},
		{"unauthenticated", tampered, payments.OutcomeRejected, http.StatusUnauthorized, "unauthenticated"},
		{"invalid", fake.Request(charge("e4", "p4", "alice", "1.001"), now), payments.OutcomeRejected, http.StatusBadRequest, "invalid_input"},
		{"conflict", fake.Request(charge("e5", "p1", "bob", "10.00"), now), payments.OutcomeRejected, http.StatusConflict, "conflict"},
		{"parked", fake.Request(gatewaytest.Event{ID: "e6", Type: "refund.succeeded", PaymentID: "p9", RefundID: "r9",
			Amount: "1.00", Currency: "USD"}, now), payments.OutcomeParked, http.StatusOK, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := svc.HandleWebhook(ctx, "fake", tc.req)
			o := rec.last()
			assert.Equal(t, "fake", o.Gateway)
			assert.Equal(t, res.Notification.ID, o.NotificationID)
			assert.Equal(t, tc.outcome, o.Outcome)
			assert.Equal(t, tc.status, o.Status)
			assert.Equal(t, tc.class, payments.ErrorClass(o.Err))
			assert.Equal(t, err, o.Err, "the error the caller gets")
			assert.Positive(t, o.Duration)
			assert.False(t, o.Replay)
		})
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.starts, len(rec.webhooks), "every start ends once")
	assert.Equal(t, "payment.succeeded", rec.webhooks[0].EventType)
	assert.Empty(t, rec.starts[0].Outcome, "the outcome is not known at the start")
}

func TestObserverSeesReplaysAndRecordsAsSuch(t *testing.T) {
	ctx := t.Context()
	rec := &recorder{}
	svc, fake, _ := newService(t, payments.WithObserver(rec))
	refund := gatewaytest.Event{ID: "e9", Type: "refund.succeeded", PaymentID: "p9", RefundID: "r9", Amount: "1.00", Currency: "USD"}
	parked, err := svc.HandleWebhook(ctx, "fake", fake.Request(refund, time.Now()))
	require.NoError(t, err)
	_, err = svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: "carol"})
	require.NoError(t, err)
	o := rec.last()
	assert.True(t, o.Replay)
	assert.Equal(t, payments.OutcomeRecorded, o.Outcome)

	rec2 := &recorder{}
	svc, err = payments.New(memory.New(), payments.WithGateway(recordGateway{}), payments.WithObserver(rec2))
	require.NoError(t, err)
	_, err = svc.Record(ctx, "records", []byte("rec1"))
	require.NoError(t, err)
	o = rec2.last()
	assert.Equal(t, payments.SourceRecord, o.Source)
	assert.False(t, o.Replay)
	assert.Equal(t, payments.OutcomeRecorded, o.Outcome)
}

// recordGateway reads records (RecordParser): each body is a charge's id.
type recordGateway struct{}

func (recordGateway) Name() string { return "records" }

func (recordGateway) ParseWebhook(context.Context, *payments.WebhookRequest) (*payments.Changes, error) {
	return nil, payments.ErrUnauthenticated
}

func (recordGateway) ParseRecord(_ context.Context, body []byte) (*payments.Changes, error) {
	id := string(body)
	return &payments.Changes{EventID: id, EventType: "record", Entries: []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: id, GatewayPaymentID: id, Account: "dave",
		Amount: payments.Money{Amount: 200, Currency: "USD"}, OccurredAt: time.Now(),
	}}}, nil
}

// A tracing Observer's context reaches what the webhook causes: the host's
// first Apply runs under it.
func TestObserverContextReachesTheBalanceService(t *testing.T) {
	ctx := t.Context()
	rec := &recorder{}
	var seen any
	host := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		seen = ctx.Value(spanKey{})
		return nil
	})
	svc, fake, _ := newService(t, payments.WithObserver(rec), payments.WithBalanceService(host))
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "alice", "1.00"), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, "webhook "+res.Notification.ID, seen)
}

func TestObserverSeesSyncAttempts(t *testing.T) {
	ctx := t.Context()
	clk := &clock{now: time.Unix(1_700_000_000, 0)}
	rec := &recorder{}
	h := newHost()
	h.failures = 1
	fake := gatewaytest.NewFake("k", gatewaytest.WithClock(clk.Now))
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithBalanceService(h),
		payments.WithClock(clk.Now), payments.WithObserver(rec),
		payments.WithSyncOptions(payments.SyncOptions{BaseDelay: time.Second}))
	require.NoError(t, err)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "a", "3.00"), clk.Now()))
	require.NoError(t, err)

	backlog, err := svc.Backlog(ctx)
	require.NoError(t, err)
	assert.Zero(t, backlog.SyncLag, "recorded just now")
	clk.Advance(time.Minute)
	backlog, err = svc.Backlog(ctx)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, backlog.SyncLag)

	n, err := svc.SyncNow(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, n)
	rec.mu.Lock()
	defer rec.mu.Unlock()
	require.Len(t, rec.syncs, 2)
	first, second := rec.syncs[0], rec.syncs[1]
	assert.Equal(t, 1, first.Attempt)
	assert.Equal(t, payments.SyncPending, first.State, "failed, to be retried")
	assert.EqualError(t, first.Err, "host database unavailable")
	assert.Zero(t, first.Lag)
	assert.Equal(t, 2, second.Attempt)
	assert.Equal(t, payments.SyncDone, second.State)
	assert.NoError(t, second.Err)
	assert.Equal(t, time.Minute, second.Lag, "now less the entry's recording")
	assert.Equal(t, first.Entry.ID, second.Entry.ID)
}

func TestBacklogCountsUnresolvedParked(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	for i := range 3 {
		refund := gatewaytest.Event{ID: fmt.Sprint("e", i), Type: "refund.succeeded", PaymentID: "p9",
			RefundID: fmt.Sprint("r", i), Amount: "1.00", Currency: "USD"}
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(refund, time.Now()))
		require.NoError(t, err)
	}
	b, err := svc.Backlog(ctx)
	require.NoError(t, err)
	assert.Equal(t, payments.Backlog{Parked: 3}, b, "no BalanceService-less lag: nothing is pending")

	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked})
	require.NoError(t, err)
	_, err = svc.Attribute(ctx, journal[0].ID, payments.Attribution{Account: "carol"})
	require.NoError(t, err)
	b, err = svc.Backlog(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, b.Parked, "resolved rows no longer wait")
}

func TestWithObserverRefusesNil(t *testing.T) {
	_, err := payments.New(memory.New(), payments.WithObserver(nil))
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

func TestErrorClass(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{fmt.Errorf("stripe: signature: %w", payments.ErrUnauthenticated), "unauthenticated"},
		{fmt.Errorf("x: %w", payments.ErrInvalidInput), "invalid_input"},
		{fmt.Errorf("x: %w", payments.ErrConflict), "conflict"},
		{fmt.Errorf("x: %w", payments.ErrMismatch), "mismatch"},
		{fmt.Errorf("x: %w", payments.ErrNoRate), "no_rate"},
		{fmt.Errorf("apply: %w", context.DeadlineExceeded), "timeout"},
		{payments.Permanent(errors.New("account closed")), "permanent"},
		{errors.New("connection refused"), "other"},
		{errors.Join(fmt.Errorf("a: %w", payments.ErrInvalidInput), errors.New("journal: disk full")), "invalid_input"},
	} {
		assert.Equal(t, tc.want, payments.ErrorClass(tc.err), "%v", tc.err)
	}
}

// BenchmarkHandleWebhookObserved is BenchmarkHandleWebhook with an Observer
// that does nothing: the cost of the hook itself, a context and a closure.
func BenchmarkHandleWebhookObserved(b *testing.B) {
	fake := gatewaytest.NewFake("whsec_bench")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake), payments.WithObserver(payments.NopObserver{}))
	require.NoError(b, err)
	benchmarkWebhooks(b, svc, fake)
}

func benchmarkWebhooks(b *testing.B, svc *payments.Service, fake *gatewaytest.Fake) {
	now := time.Now()
	reqs := make([]*payments.WebhookRequest, b.N)
	for i := range reqs {
		id := fmt.Sprint(i)
		reqs[i] = fake.Request(gatewaytest.Event{ID: "evt_" + id, Type: "payment.succeeded", PaymentID: "pi_" + id,
			Account: fmt.Sprint("acct_", i%100), Amount: "10.00", Currency: "USD"}, now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.HandleWebhook(b.Context(), "fake", reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
