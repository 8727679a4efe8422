package payments_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

func balanceOf(t *testing.T, svc *payments.Service, account string) int64 {
	t.Helper()
	b, err := svc.Balance(t.Context(), account, "USD")
	require.NoError(t, err)
	return b.Money.Amount
}

func TestReconcileRecordsWhatNoNotificationBrought(t *testing.T) {
	ctx := t.Context()
	svc, fake, store := newService(t)
	now := time.Now()
	dropped := fake.Move(charge("e1", "p1", "alice", "10.00"), now.Add(-time.Minute))

	rep, err := svc.Reconcile(ctx, "fake")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Listed)
	assert.Equal(t, 1, rep.Recorded, "the charge whose notification never arrived")
	assert.Empty(t, rep.Differences)
	assert.Equal(t, "", rep.Cursor)
	assert.Equal(t, "1", rep.Next)
	assert.False(t, rep.CursorInMemory, "the memory Store keeps cursors")
	assert.Equal(t, int64(1000), balanceOf(t, svc, "alice"))

	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{})
	require.NoError(t, err)
	require.Len(t, journal, 1)
	assert.Equal(t, payments.SourceRecord, journal[0].Source, "journaled as a record")
	assert.Equal(t, payments.OutcomeRecorded, journal[0].Outcome)
	saved, err := store.Cursor(ctx, "reconcile:fake")
	require.NoError(t, err)
	assert.Equal(t, "1", saved)

	late, err := svc.HandleWebhook(ctx, "fake", dropped)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, late.Notification.Outcome, "the late notification finds it recorded")
	assert.Equal(t, int64(1000), balanceOf(t, svc, "alice"), "nothing doubles")

	rep, err = svc.Reconcile(ctx, "fake")
	require.NoError(t, err)
	assert.Equal(t, "1", rep.Cursor, "the cursor advanced")
	assert.Zero(t, rep.Listed, "a second pass lists nothing new")

	replayed, err := svc.Replay(ctx, journal[0].ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, replayed.Notification.Outcome, "the record replays through ParseRecord")
	assert.Equal(t, int64(1000), balanceOf(t, svc, "alice"))
}

func TestReconcileFirstPassReachesBackLookback(t *testing.T) {
	svc, fake, _ := newService(t, payments.WithReconcile(payments.Reconcile{Lookback: time.Hour}))
	now := time.Now()
	fake.Move(charge("old", "p_old", "alice", "5.00"), now.Add(-2*time.Hour))
	fake.Move(charge("new", "p_new", "alice", "7.00"), now.Add(-time.Minute))
	rep, err := svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Listed, "only what moved within the lookback")
	assert.Equal(t, "2", rep.Next)
	assert.Equal(t, int64(700), balanceOf(t, svc, "alice"))
}

type differenceObserver struct {
	payments.NopObserver
	mu    sync.Mutex
	kinds []string
}

func (o *differenceObserver) ReconcileDifference(_ context.Context, r payments.ReconcileObservation) {
	o.mu.Lock()
	o.kinds = append(o.kinds, r.Gateway+":"+r.Kind)
	o.mu.Unlock()
}

func TestReconcileReportsAmountThatDiffersWithoutBookingIt(t *testing.T) {
	for _, tc := range []struct {
		reported string
		minor    int64
		journal  payments.Outcome
	}{
		{"8.00", 800, payments.OutcomeRejected}, // the same key with another amount: a conflict
		{"12.00", 1200, payments.OutcomeParked}, // and above the payment's amount: a mismatch first
	} {
		t.Run(tc.reported, func(t *testing.T) {
			ctx := t.Context()
			obs := &differenceObserver{}
			svc, fake, _ := newService(t, payments.WithObserver(obs))
			events := svc.Subscribe(ctx, 16)
			now := time.Now()
			_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "alice", "10.00"), now))
			require.NoError(t, err)
			<-events // the payment
			<-events // its entry
			fake.Move(charge("e1", "p1", "alice", tc.reported), now)

			rep, err := svc.Reconcile(ctx, "fake")
			require.NoError(t, err, "a difference is reported, not an error")
			assert.Zero(t, rep.Recorded)
			require.Len(t, rep.Differences, 1)
			d := rep.Differences[0]
			assert.Equal(t, payments.DifferenceAmount, d.Kind)
			require.NotNil(t, d.Entry)
			require.NotNil(t, d.Reported)
			assert.Equal(t, int64(1000), d.Entry.Amount.Amount, "the ledger's")
			assert.Equal(t, tc.minor, d.Reported.Amount.Amount, "the gateway's")
			assert.Equal(t, d.Entry.ID, d.Reported.ID, "under the same key")
			assert.Equal(t, int64(1000), balanceOf(t, svc, "alice"), "not booked")
			assert.Equal(t, "1", rep.Next, "reported is done with: the cursor moves")

			n, err := svc.Notification(ctx, d.NotificationID)
			require.NoError(t, err)
			assert.Equal(t, tc.journal, n.Outcome)
			assert.Equal(t, payments.SourceRecord, n.Source)

			ev := <-events
			assert.Equal(t, payments.EventReconcileDifference, ev.Type)
			require.NotNil(t, ev.Difference)
			assert.Equal(t, payments.DifferenceAmount, ev.Difference.Kind)
			assert.Equal(t, []string{"fake:amount_differs"}, obs.kinds)
		})
	}
}

func TestReconcileReportsParkedMoney(t *testing.T) {
	svc, fake, _ := newService(t)
	fake.Move(gatewaytest.Event{ID: "e1", Type: "payment.succeeded", PaymentID: "p_unknown", Amount: "3.00", Currency: "USD"}, time.Now())
	rep, err := svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	require.Len(t, rep.Differences, 1)
	assert.Equal(t, payments.DifferenceParked, rep.Differences[0].Kind, "money without an account waits for Attribute")
	res, err := svc.Attribute(t.Context(), rep.Differences[0].NotificationID, payments.Attribution{Account: "bob"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Equal(t, int64(300), balanceOf(t, svc, "bob"))
}

func TestReconcileReportsEntriesTheGatewayDoesNotList(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t, payments.WithReconcile(payments.Reconcile{CheckUnlisted: true}))
	now := time.Now().Add(-time.Hour)
	fake.Move(charge("e1", "p1", "alice", "1.00"), now)
	ghost := charge("e2", "p2", "alice", "2.00")
	ghost.OccurredAt = now.Add(time.Minute).Format(time.RFC3339Nano)
	_, err := svc.HandleWebhook(ctx, "fake", fake.Request(ghost, time.Now()))
	require.NoError(t, err)
	outside := charge("e3", "p3", "alice", "4.00")
	outside.OccurredAt = now.Add(-time.Hour).Format(time.RFC3339Nano)
	_, err = svc.HandleWebhook(ctx, "fake", fake.Request(outside, time.Now()))
	require.NoError(t, err)
	fake.Move(charge("e4", "p4", "alice", "8.00"), now.Add(2*time.Minute))

	rep, err := svc.Reconcile(ctx, "fake")
	require.NoError(t, err)
	assert.Equal(t, 2, rep.Recorded)
	require.Len(t, rep.Differences, 1, "only the entry inside the listed window")
	d := rep.Differences[0]
	assert.Equal(t, payments.DifferenceUnlisted, d.Kind)
	require.NotNil(t, d.Entry)
	assert.Equal(t, "p2", d.Entry.GatewayRef)
	assert.Equal(t, int64(1500), balanceOf(t, svc, "alice"), "reported, never taken back")
}

func TestReconcileKeepsTheCursorWhenListingFails(t *testing.T) {
	svc, fake, _ := newService(t)
	fake.Move(charge("e1", "p1", "alice", "1.00"), time.Now())
	down := errors.New("fake: 503")
	fake.FailListing(down)
	rep, err := svc.Reconcile(t.Context(), "fake")
	require.ErrorIs(t, err, down)
	assert.Equal(t, "", rep.Next)
	rep, err = svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Recorded, "listed again")
}

func TestReconcilePagesThroughABacklog(t *testing.T) {
	svc, fake, _ := newService(t, payments.WithReconcile(payments.Reconcile{Limit: 2}))
	now := time.Now()
	for i, p := range []string{"p1", "p2", "p3", "p4", "p5"} {
		fake.Move(charge("e"+p, p, "alice", "1.00"), now.Add(time.Duration(i)*time.Second))
	}
	rep, err := svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	assert.Equal(t, 5, rep.Recorded)
	assert.Equal(t, "5", rep.Next)
	assert.Equal(t, []string{"list ", "list 2", "list 4"}, fake.Calls(), "three pages, the lookback only on the first")
}

// cursorlessStore hides the memory Store's cursors.
type cursorlessStore struct{ payments.Store }

func TestReconcileWithAStoreWithoutCursors(t *testing.T) {
	var logs bytes.Buffer
	fake := gatewaytest.NewFake("whsec_svc")
	svc, err := payments.New(cursorlessStore{memory.New()}, payments.WithGateway(fake),
		payments.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	require.NoError(t, err)
	fake.Move(charge("e1", "p1", "alice", "1.00"), time.Now())
	rep, err := svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	assert.True(t, rep.CursorInMemory)
	assert.Equal(t, 1, rep.Recorded)
	rep, err = svc.Reconcile(t.Context(), "fake")
	require.NoError(t, err)
	assert.Equal(t, "1", rep.Cursor, "kept in memory")
	assert.Zero(t, rep.Listed)
	assert.Equal(t, 1, strings.Count(logs.String(), "keeps no cursors"), "logged once")
}

func TestTwoServicesReconcilingAtOnceBookOnce(t *testing.T) {
	ctx := t.Context()
	fake := gatewaytest.NewFake("whsec_svc")
	store := memory.New()
	var svcs []*payments.Service
	for range 2 {
		svc, err := payments.New(store, payments.WithGateway(fake))
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	now := time.Now()
	for i, p := range []string{"p1", "p2", "p3"} {
		fake.Move(charge("e"+p, p, "alice", "1.00"), now.Add(time.Duration(i)*time.Second))
	}
	var wg sync.WaitGroup
	recorded := make([]int, 8)
	for i := range recorded {
		wg.Go(func() {
			rep, err := svcs[i%2].Reconcile(ctx, "fake")
			assert.NoError(t, err)
			recorded[i] = rep.Recorded
		})
	}
	wg.Wait()
	total := 0
	for _, n := range recorded {
		total += n
	}
	assert.Equal(t, 3, total, "each movement booked once")
	assert.Equal(t, int64(300), balanceOf(t, svcs[0], "alice"))
	saved, err := store.Cursor(ctx, "reconcile:fake")
	require.NoError(t, err)
	assert.Equal(t, "3", saved)
}

func TestRunReconciles(t *testing.T) {
	svc, fake, _ := newService(t, payments.WithReconcile(payments.Reconcile{Every: 10 * time.Millisecond}))
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	fake.Move(charge("e1", "p1", "alice", "1.00"), time.Now())
	require.Eventually(t, func() bool { return balanceOf(t, svc, "alice") == 100 }, 5*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}

func TestReconcileNeedsAReconciler(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(bareGateway{}))
	require.NoError(t, err)
	_, err = svc.Reconcile(t.Context(), "bare")
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	_, err = svc.Reconcile(t.Context(), "nope")
	assert.ErrorIs(t, err, payments.ErrNotSupported)
	reports, err := svc.ReconcileNow(t.Context())
	assert.NoError(t, err, "no gateway to reconcile")
	assert.Empty(t, reports)
}
