package stripe_test

import (
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/store/memory"
)

// reconcileHarness is a Service over a Stripe Gateway pointed at fakeAPI,
// whose new objects are created a little before now, so that listings by
// created find them.
func reconcileHarness(t *testing.T) (*fakeAPI, *stripe.Gateway, *harness) {
	api := newFakeAPI(t)
	api.setCreated(time.Now().Add(-10 * time.Second))
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_reconcile", api.URL })
	return api, g, newHarness(t, g)
}

func (h *harness) checkout(account string, minor int64) payments.Payment {
	h.t.Helper()
	p, err := h.svc.Checkout(h.t.Context(), "stripe", payments.CheckoutRequest{Account: account, Amount: usd(minor)})
	require.NoError(h.t, err)
	return *p
}

func (h *harness) reconcile() *payments.ReconcileReport {
	h.t.Helper()
	rep, err := h.svc.Reconcile(h.t.Context(), "stripe")
	require.NoError(h.t, err)
	return rep
}

// TestReconcileRecordsWhatNoEventBrought drops every event of a payment's
// life — its charge, a refund made in the Dashboard, a dispute that took
// the funds — and finds each booked once by reconciliation; the events,
// delivered late, are duplicates.
func TestReconcileRecordsWhatNoEventBrought(t *testing.T) {
	api, _, h := reconcileHarness(t)
	p := h.checkout("alice", 2500)
	pi := api.pay(t, p.GatewayID)

	rep := h.reconcile()
	assert.Equal(t, 1, rep.Recorded, "the charge")
	assert.Empty(t, rep.Differences)
	assert.Equal(t, int64(2500), h.balance("alice"))
	assert.Equal(t, payments.StatusSucceeded, h.status(p.GatewayID))
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(objectEvent(t, "payment_intent.succeeded", pi, nil)), "the late event")
	assert.Equal(t, int64(2500), h.balance("alice"), "nothing doubles")

	api.refundInDashboard(p.GatewayID, 500)
	rep = h.reconcile()
	assert.Equal(t, 1, rep.Recorded, "the refund")
	assert.Equal(t, 1, rep.Duplicates, "the charge, listed again within the lookback")
	assert.Equal(t, int64(2000), h.balance("alice"))

	dispute := api.dispute(p.GatewayID, 2000, true, false)
	rep = h.reconcile()
	assert.Equal(t, 1, rep.Recorded, "the chargeback")
	assert.Equal(t, int64(0), h.balance("alice"))
	assert.Equal(t, payments.StatusDisputed, h.status(p.GatewayID))
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(objectEvent(t, "charge.dispute.funds_withdrawn", dispute, nil)))

	rep = h.reconcile()
	assert.Zero(t, rep.Recorded, "nothing new")
	assert.Equal(t, rep.Listed, rep.Duplicates)
	assert.Empty(t, rep.Differences)
	assert.Equal(t, int64(0), h.balance("alice"))

	entries, _, err := h.svc.Entries(t.Context(), payments.EntryFilter{Gateway: "stripe"})
	require.NoError(t, err)
	assert.Len(t, entries, 3, "a charge, a refund, a chargeback: once each")
}

func TestReconcileListsFromTheCursor(t *testing.T) {
	api, g, h := reconcileHarness(t)
	api.pay(t, h.checkout("alice", 2500).GatewayID)
	rep := h.reconcile()
	require.Equal(t, 1, rep.Recorded)
	next, err := strconv.ParseInt(rep.Next, 10, 64)
	require.NoError(t, err, "the cursor is a Unix time")
	assert.InDelta(t, time.Now().Unix(), next, 5)

	page, err := g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next})
	require.NoError(t, err)
	assert.Empty(t, page.Records, "nothing was created since the cursor")
	assert.False(t, page.Complete, "Stripe lists by creation, not by when money moved")

	page, err = g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next, Lookback: time.Minute, Limit: 1})
	require.NoError(t, err)
	assert.Len(t, page.Records, 1, "the lookback lists it again")
	_, err = g.ListMoved(t.Context(), payments.MovedQuery{Cursor: "yesterday"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

func TestReconcileSkipsWhatMovedNoMoney(t *testing.T) {
	api, _, h := reconcileHarness(t)
	h.checkout("alice", 2500) // never paid
	paid := h.checkout("alice", 1000)
	api.pay(t, paid.GatewayID)
	api.setRefundStatus("pending")
	api.refundInDashboard(paid.GatewayID, 100)
	api.dispute(paid.GatewayID, 1000, false, false) // an inquiry: no funds withdrawn
	rep := h.reconcile()
	assert.Equal(t, 1, rep.Listed, "only the succeeded intent")
	assert.Equal(t, int64(1000), h.balance("alice"))
}

func TestReconcilePagesThroughListings(t *testing.T) {
	api, g, h := reconcileHarness(t)
	for range 5 {
		api.pay(t, h.checkout("alice", 100).GatewayID)
	}
	page, err := g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour), Limit: 2})
	require.NoError(t, err)
	assert.Len(t, page.Records, 5, "every page is read")
	assert.False(t, page.More)
	rep := h.reconcile()
	assert.Equal(t, 5, rep.Recorded)
	assert.Equal(t, int64(500), h.balance("alice"))
}

func TestReconcileReportsAChargeThatDiffers(t *testing.T) {
	api, _, h := reconcileHarness(t)
	p := h.checkout("alice", 2500)
	pi := api.pay(t, p.GatewayID)
	require.Equal(t, payments.OutcomeRecorded, h.deliver(objectEvent(t, "payment_intent.succeeded", pi, nil)))
	api.mu.Lock()
	api.intents[p.GatewayID]["amount_received"] = int64(2000) // what the ledger got wrong
	api.mu.Unlock()

	rep := h.reconcile()
	assert.Zero(t, rep.Recorded)
	require.Len(t, rep.Differences, 1)
	d := rep.Differences[0]
	assert.Equal(t, payments.DifferenceAmount, d.Kind)
	assert.Equal(t, int64(2500), d.Entry.Amount.Amount)
	assert.Equal(t, int64(2000), d.Reported.Amount.Amount)
	assert.Equal(t, p.GatewayID, d.Entry.GatewayRef)
	assert.Equal(t, int64(2500), h.balance("alice"), "reported, not booked")
}

func TestReconcileARefundThatFailedAfterSucceeding(t *testing.T) {
	api, _, h := reconcileHarness(t)
	p := h.checkout("alice", 2500)
	api.pay(t, p.GatewayID)
	api.refundInDashboard(p.GatewayID, 500)
	api.mu.Lock()
	re := api.refunds[len(api.refunds)-1]
	re["status"], re["failure_balance_transaction"] = "failed", "txn_fake_refund_failure"
	api.mu.Unlock()
	rep := h.reconcile()
	assert.Equal(t, 3, rep.Recorded, "the charge, the refund and its reversal")
	assert.Equal(t, int64(2500), h.balance("alice"))
}

func TestTwoServicesReconcilingStripeBookOnce(t *testing.T) {
	api, g, _ := reconcileHarness(t)
	store := memory.New()
	var svcs []*payments.Service
	for range 2 {
		svc, err := payments.New(store, payments.WithGateway(g))
		require.NoError(t, err)
		svcs = append(svcs, svc)
	}
	for range 3 {
		p, err := svcs[0].Checkout(t.Context(), "stripe", payments.CheckoutRequest{Account: "alice", Amount: usd(100)})
		require.NoError(t, err)
		api.pay(t, p.GatewayID)
	}
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			_, err := svcs[i%2].Reconcile(t.Context(), "stripe")
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	b, err := svcs[1].Balance(t.Context(), "alice", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(300), b.Money.Amount, "each charge booked once")
}

// TestListMovedAgainstStripeMock checks the list calls' shapes against
// Stripe's OpenAPI spec, which stripe-mock validates requests by, and that
// what it answers parses.
func TestListMovedAgainstStripeMock(t *testing.T) {
	base := startStripeMock(t)
	g := newGateway(t, func(c *stripe.Config) { c.SecretKey, c.BaseURL = "sk_test_123", base })
	page, err := g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-24 * time.Hour), Limit: 50})
	require.NoError(t, err)
	for _, body := range page.Records {
		c, err := g.ParseRecord(t.Context(), body)
		require.NoError(t, err, string(body))
		assert.NoError(t, c.Validate("stripe"))
	}
	_, err = g.ListMoved(t.Context(), payments.MovedQuery{Cursor: page.Next, Lookback: time.Hour})
	require.NoError(t, err)
}

func TestListMovedNeedsAKey(t *testing.T) {
	_, err := newGateway(t).ListMoved(t.Context(), payments.MovedQuery{})
	assert.ErrorIs(t, err, payments.ErrNotSupported)
}

func FuzzParseRecord(f *testing.F) {
	g := newGateway(f)
	f.Add([]byte(`{"object":"refund","id":"re_1","status":"succeeded","amount":100,"currency":"usd","payment_intent":"pi_1"}`))
	f.Add([]byte(`{"object":"dispute","id":"dp_1","amount":100,"currency":"usd","payment_intent":"pi_1","balance_transactions":[{"amount":-100}]}`))
	f.Add([]byte(`{"object":"payment_intent","id":"pi_1","status":"succeeded","amount":100,"amount_received":100,"currency":"usd"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := g.ParseRecord(t.Context(), body)
		if err == nil {
			assert.NoError(t, c.Validate("stripe"))
		}
	})
}
