package webhook_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// hostLedger is a host's BalanceService: it keeps its own balance, honours
// the entry id as the idempotency key, and fails its first two calls.
type hostLedger struct {
	mu        sync.Mutex
	failFirst int
	calls     int
	applied   map[string]int // entry id → times the host's state changed for it
	balance   int64
}

func (h *hostLedger) Apply(ctx context.Context, e payments.Entry) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.calls <= h.failFirst {
		return errors.New("host database is restarting")
	}
	if h.applied[e.ID] == 0 {
		h.balance += e.Amount.Amount
	}
	h.applied[e.ID]++
	return nil
}

func (h *hostLedger) state() (map[string]int, int64, int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	copied := map[string]int{}
	for k, v := range h.applied {
		copied[k] = v
	}
	return copied, h.balance, h.calls
}

// TestEndToEnd sends real HTTP requests through the webhook handler into the
// memory store, with the sync loop running against a host that fails twice.
func TestEndToEnd(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	store := memory.New()
	fake := gatewaytest.NewFake("whsec_e2e")
	host := &hostLedger{failFirst: 2, applied: map[string]int{}}
	svc, err := payments.New(store, payments.WithGateway(fake), payments.WithBalanceService(host),
		payments.WithSyncOptions(payments.SyncOptions{Interval: 5 * time.Millisecond, BaseDelay: 10 * time.Millisecond}))
	require.NoError(t, err)
	runDone := make(chan error, 1)
	go func() { runDone <- svc.Run(ctx) }()

	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	s := &server{Server: newHTTPServer(t, mux), fake: fake, store: store}
	const path = "/fake-handleWebhookEvents"

	charge := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "pi_1", Account: "user-42",
		Reference: "order:672626:k3j2h1", Amount: "10.00", Currency: "USD"}
	for i := range 3 {
		code, _ := s.post(t, path, fake.Request(charge, time.Now()))
		require.Equal(t, http.StatusOK, code, "delivery %d", i+1)
	}
	refund := gatewaytest.Event{ID: "evt_2", Type: "refund.succeeded", PaymentID: "pi_1", RefundID: "re_1", Amount: "2.50", Currency: "USD"}
	code, _ := s.post(t, path, fake.Request(refund, time.Now()))
	require.Equal(t, http.StatusOK, code)

	tampered := fake.Request(gatewaytest.Event{ID: "evt_3", Type: "payment.succeeded", PaymentID: "pi_2", Account: "user-42", Amount: "1.00", Currency: "USD"}, time.Now())
	tampered.Body = bytes.Replace(tampered.Body, []byte(`"amount":"1.00"`), []byte(`"amount":"100.00"`), 1)
	require.Contains(t, string(tampered.Body), `"100.00"`)
	code, body := s.post(t, path, tampered)
	assert.Equal(t, http.StatusUnauthorized, code)
	assert.Equal(t, "error", body, "the Fake's own answer to what it did not acknowledge")

	entries, next, err := svc.Entries(ctx, payments.EntryFilter{Account: "user-42"})
	require.NoError(t, err)
	assert.Empty(t, next, "one page holds them all")
	require.Len(t, entries, 2, "the charge delivered three times is one entry")
	assert.Equal(t, payments.KindCharge, entries[0].Kind)
	assert.Equal(t, int64(1000), entries[0].Amount.Amount)
	assert.Equal(t, "order:672626:k3j2h1", entries[0].Reference)
	assert.Equal(t, payments.KindRefund, entries[1].Kind)
	assert.Equal(t, int64(-250), entries[1].Amount.Amount, "a refund is a negative entry")
	assert.Equal(t, "user-42", entries[1].Account, "the refund takes the account from its payment")

	bal, err := svc.Balance(ctx, "user-42", "USD")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 750, Currency: "USD"}, bal.Money)
	assert.Equal(t, int64(2), bal.Entries)

	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{})
	require.NoError(t, err)
	require.Len(t, journal, 5)
	assert.Equal(t, payments.OutcomeRejected, journal[0].Outcome)
	assert.False(t, journal[0].Verified)
	assert.Equal(t, tampered.Body, journal[0].Body, "the journal keeps the raw body as received")
	assert.Equal(t, []payments.Outcome{payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeDuplicate, payments.OutcomeRecorded},
		[]payments.Outcome{journal[4].Outcome, journal[3].Outcome, journal[2].Outcome, journal[1].Outcome})

	// The host failed twice; the outbox retried until both entries were
	// applied, and the host's state changed once per entry.
	require.Eventually(t, func() bool {
		done, _, err := svc.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncDone})
		return err == nil && len(done) == 2
	}, 10*time.Second, 5*time.Millisecond)
	applied, hostBalance, calls := host.state()
	assert.Equal(t, map[string]int{entries[0].ID: 1, entries[1].ID: 1}, applied)
	assert.Equal(t, bal.Money.Amount, hostBalance, "the host's balance matches the ledger")
	assert.Equal(t, 4, calls, "two failures, then one success per entry")

	cancel()
	require.NoError(t, <-runDone)
}
