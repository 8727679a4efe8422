package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/sqlite"
)

// TestPostbacksAndHoldsAcrossTwoProcesses stands in for two instances of a
// host, each with its own Store on one file: the hold watcher captures an
// expiring authorization once, and the postbacks of what that capture
// recorded reach the merchant once each, signed, whichever instance
// delivers them.
func TestPostbacksAndHoldsAcrossTwoProcesses(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "shared.db")
	fake := gatewaytest.NewFake("whsec_fake")
	var mu sync.Mutex
	received := map[string]int{} // webhook-id → deliveries
	merchant := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		assert.True(t, strings.HasPrefix(r.Header.Get("webhook-signature"), "v1,"))
		mu.Lock()
		received[r.Header.Get("webhook-id")]++
		mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	defer merchant.Close()
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

	var services []*payments.Service
	for range 2 {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		svc, err := payments.New(s, payments.WithGateway(fake),
			payments.WithPostbacks(payments.PostbackOptions{Allow: loopback}),
			payments.WithHoldWatch(payments.HoldWatch{Action: payments.HoldCapture, Margin: time.Hour}))
		require.NoError(t, err)
		services = append(services, svc)
	}
	a := services[0]
	ep, err := a.AddEndpoint(ctx, payments.Endpoint{URL: merchant.URL,
		Events: []payments.EventType{payments.EventStatusChanged, payments.EventEntryRecorded}})
	require.NoError(t, err)

	p, err := a.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "amy", Amount: payments.Money{Amount: 700, Currency: "USD"},
		Capture: payments.CaptureManual})
	require.NoError(t, err)
	_, err = a.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "auth_1", Type: "payment.authorized",
		PaymentID: p.GatewayID, CaptureBefore: time.Now().Add(30 * time.Minute).Format(time.RFC3339)}, time.Now()))
	require.NoError(t, err)

	handled := 0
	var wg sync.WaitGroup
	for _, svc := range services {
		wg.Go(func() {
			n, err := svc.WatchHolds(ctx)
			assert.NoError(t, err)
			mu.Lock()
			handled += n
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Equal(t, 1, handled, "one watcher captures the hold")
	got, err := a.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, got.Status)

	queued, _, err := a.Deliveries(ctx, payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	require.Len(t, queued, 3, "authorized; then, at the capture, succeeded and its charge")
	for _, svc := range services {
		wg.Go(func() {
			_, err := svc.DeliverPostbacks(ctx)
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, received, 3)
	for _, d := range queued {
		assert.Equal(t, 1, received[d.Message.ID], "message %s (%s)", d.Message.ID, d.Message.Type)
	}
	delivered, _, err := a.Deliveries(ctx, payments.DeliveryFilter{State: payments.DeliveryDelivered})
	require.NoError(t, err)
	assert.Len(t, delivered, 3)
}

// TestFailedBatchQueuesNoPostback: the messages of a batch are written in
// its transaction, so a batch that fails leaves none behind, also when it
// shares a group commit with batches that succeed.
func TestFailedBatchQueuesNoPostback(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_1", URL: "https://merchant.example/"}))
	_, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Postbacks: true,
		Entries: []payments.Entry{charge("ch_big", "acct_full", math.MaxInt64)}})
	require.NoError(t, err)

	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			account := "acct_ok"
			if i%2 == 0 {
				account = "acct_full" // overflows its balance: the batch fails
			}
			_, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Postbacks: true,
				Entries: []payments.Entry{charge(fmt.Sprint("ch_", i), account, 1)}})
			assert.Equal(t, account == "acct_full", err != nil, "batch %d: %v", i, err)
		})
	}
	wg.Wait()
	list, _, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, list, 1+n/2, "the first charge's and one per batch that committed")
	entries, _, err := s.Entries(ctx, payments.EntryFilter{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, entries, len(list), "a message for every entry recorded, none for another")
}

// TestAttemptJournalIsBounded: an attempt keeps the start of what an
// endpoint answered, whatever length it is handed, cut where a character
// starts.
func TestAttemptJournalIsBounded(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_1", URL: "https://merchant.example/"}))
	now := time.Now()
	_, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: now, Postbacks: true,
		Entries: []payments.Entry{charge("ch_1", "acct", 100)}})
	require.NoError(t, err)
	claimed, err := s.ClaimDeliveries(ctx, payments.DeliveryClaim{Owner: "w", Now: now, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	d := claimed[0]
	long := "x" + strings.Repeat("é", 4096)
	errs, err := s.SettleDeliveries(ctx, []payments.DeliverySettlement{{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "w",
		State: payments.DeliveryPending, Attempts: 1, NextAttempt: now.Add(time.Minute),
		Attempt: payments.Attempt{At: now, Status: 500, Latency: 3 * time.Millisecond, Response: long, Error: long}}})
	require.NoError(t, err)
	require.NoError(t, errs[0])
	attempts, err := s.Attempts(ctx, d.Message.ID, "ep_1")
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	for _, text := range []string{attempts[0].Response, attempts[0].Error} {
		assert.LessOrEqual(t, len(text), 1024)
		assert.Greater(t, len(text), 1000)
		assert.True(t, strings.HasPrefix(long, text))
		assert.NotContains(t, text, "\uFFFD")
	}
	assert.Equal(t, d.Message.ID, attempts[0].MessageID)
	assert.Equal(t, 3*time.Millisecond, attempts[0].Latency)
}

// TestHoldsOfPaymentsStoredBeforeTheMigration: a payment authorized before
// migration 0006 gave payments the hold watcher's columns is claimed like
// any other once Open has applied it.
func TestHoldsOfPaymentsStoredBeforeTheMigration(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := sqlite.Migrations("")
	require.NoError(t, err)
	require.Equal(t, "postbacks_and_holds", ms[5].Name)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	_, err = db.Exec(`CREATE TABLE payments_schema_migrations (version INTEGER NOT NULL PRIMARY KEY,
		name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`)
	require.NoError(t, err)
	for _, m := range ms[:5] {
		_, err := db.Exec(m.SQL)
		require.NoError(t, err, m.Name)
		_, err = db.Exec(`INSERT INTO payments_schema_migrations VALUES (?, ?, 0)`, m.Version, m.Name)
		require.NoError(t, err)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err = db.Exec(`INSERT INTO payments_payments (id, gateway, gateway_id, status, capture_before, created_at, updated_at)
		VALUES ('pay_old', 'fake', 'pi_old', 'authorized', ?, 0, 0)`, now.Add(10*time.Minute).UnixMicro())
	require.NoError(t, err)
	require.NoError(t, db.Close())

	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	claimed, err := s.ClaimHolds(ctx, payments.HoldClaim{Owner: "w", Now: now, Before: now.Add(time.Hour), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, "pay_old", claimed[0].ID)
	assert.True(t, claimed[0].CaptureBefore.Equal(now.Add(10*time.Minute)))
	require.NoError(t, s.SettleHold(ctx, "pay_old", "w", now))
	assert.ErrorIs(t, s.SettleHold(ctx, "pay_old", "w", now), payments.ErrConflict, "handled once")
	assert.ErrorIs(t, s.SettleHold(ctx, "pay_missing", "w", now), payments.ErrConflict)
}
