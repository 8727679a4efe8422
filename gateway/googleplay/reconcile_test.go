package googleplay_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// TestVoidedSince: the list is read over one window twice (type 0 for
// one-time products, type 1 for subscriptions too), page by page, each
// order once; each record translates as its notification does.
func TestVoidedSince(t *testing.T) {
	w := newWorld(t)
	seen := time.Now().Add(-time.Hour)
	coins, coinsOrder := w.api.purchase("coins_100", "acct_list")
	gems, gemsOrder := w.api.purchase("gems", "acct_list", func(p *androidpublisher.ProductPurchase) { p.Quantity, p.RefundableQuantity = 5, 5 })
	old, _ := w.api.purchase("coins_100", "acct_list")
	const subOrder = "GPA.3355-0000-1111-90000..2"
	sub := w.api.subscription(activeSubscription("acct_list", monthlyItem(subOrder, basePhase())))
	w.api.voidOneTime(old, 1, seen.Add(-48*time.Hour)) // before the window
	w.api.voidOneTime(coins, 1, seen)
	w.api.voidOneTime(gems, 2, seen.Add(time.Minute))
	w.api.voidOneTime(gems, 1, seen.Add(2*time.Minute))
	w.api.voidSubscriptionOrder(sub, subOrder, seen.Add(3*time.Minute))

	page, err := w.g.VoidedSince(t.Context(), seen.Add(-time.Minute))
	require.NoError(t, err)
	assert.False(t, page.Clamped)
	assert.WithinDuration(t, time.Now().Add(-2*time.Minute), page.Until, 5*time.Second, "behind the local clock")
	require.Len(t, page.Records, 3, "one record per order")
	assert.Equal(t, 4, countCalls(w, "voidedpurchases"), "two listings of two pages each")

	want := map[string][]byte{coinsOrder: voidedNotice(coins, coinsOrder, 2, 1),
		gemsOrder: voidedNotice(gems, gemsOrder, 2, 2), subOrder: voidedNotice(sub, subOrder, 1, 1)}
	for _, body := range page.Records {
		c, err := w.g.ParseRecord(t.Context(), body)
		require.NoError(t, err, "%s", body)
		require.NotEmpty(t, c.Entries)
		assert.Equal(t, "voidedpurchases.list", c.EventType)
		order := c.Entries[0].GatewayPaymentID
		notified, err := w.g.ParseWebhook(t.Context(), signedPush(envelope(want[order]), time.Now()))
		require.NoError(t, err)
		assert.Equal(t, ids(notified.Entries), ids(c.Entries), "order %s: the record and the notification key the same refunds", order)
		assert.Equal(t, amounts(notified.Entries), amounts(c.Entries))
	}

	page, err = w.g.VoidedSince(t.Context(), time.Now().Add(-40*24*time.Hour))
	require.NoError(t, err)
	assert.True(t, page.Clamped, "older than Google lists")
	_, err = w.g.ParseRecord(t.Context(), []byte(`{"productType":2}`))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
}

func ids(entries []payments.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, payments.EntryID(googleplay.DefaultName, e.Kind, e.GatewayRef))
	}
	return out
}

// ledgerRecorder stands in for the Service.Record the core lacks: it
// translates each record with ParseRecord and commits it through the
// Store, whose plan applies the core's ledger rules (keys, duplicates,
// conflicts, accounts), without the journal and the events a Service adds.
type ledgerRecorder struct {
	g     *googleplay.Gateway
	store payments.Store
	fail  error
}

func (r *ledgerRecorder) Record(ctx context.Context, gateway string, body []byte) (*payments.WebhookResult, error) {
	if r.fail != nil {
		return nil, r.fail
	}
	c, err := r.g.ParseRecord(ctx, body)
	if err != nil {
		return nil, err
	}
	res, err := r.store.Commit(ctx, &payments.Batch{Gateway: gateway, Payments: c.Payments, Entries: c.Entries, Now: time.Now()})
	if err != nil {
		return nil, err
	}
	return &payments.WebhookResult{Changes: c, Recorded: res}, nil
}

type memoryCursors struct {
	mu sync.Mutex
	at map[string]time.Time
}

func (m *memoryCursors) LoadCursor(ctx context.Context, name string) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.at[name], nil
}

func (m *memoryCursors) SaveCursor(ctx context.Context, name string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.at[name] = at
	return nil
}

// TestVoidedPoller: a refund its notification recorded is a duplicate when
// the poller lists it; one whose notification never arrived is recorded;
// the cursor moves only once every record is recorded.
func TestVoidedPoller(t *testing.T) {
	w := newWorld(t)
	rec := &ledgerRecorder{g: w.g, store: w.store}
	cursors := &memoryCursors{at: map[string]time.Time{}}
	p := &googleplay.VoidedPoller{Gateway: w.g, Recorder: rec, Cursors: cursors}
	seen := time.Now().Add(-time.Hour)

	notified, notifiedOrder := w.api.purchase("coins_100", "acct_poll")
	missed, _ := w.api.purchase("my.sku", "acct_poll")
	for _, token := range []string{notified, missed} {
		_, err := verify(t, w, "acct_poll", map[string]string{notified: "coins_100", missed: "my.sku"}[token], token)
		require.NoError(t, err)
	}
	w.api.voidOneTime(notified, 1, seen)
	w.api.voidOneTime(missed, 1, seen)
	_, err := w.deliver(t, voidedNotice(notified, notifiedOrder, 2, 1))
	require.NoError(t, err)
	assert.Equal(t, int64(250), w.balance(t, "acct_poll"), "the missed refund is not in the ledger yet")

	rec.fail = errors.New("store: connection refused")
	_, err = p.Poll(t.Context())
	require.Error(t, err)
	assert.Empty(t, cursors.at, "a failed poll keeps the cursor")

	rec.fail = nil
	n, err := p.Poll(t.Context())
	require.NoError(t, err)
	assert.Equal(t, 1, n, "only the missed refund is new")
	assert.Zero(t, w.balance(t, "acct_poll"), "each refund counted once")
	first := cursors.at["googleplay:voidedpurchases"]
	require.False(t, first.IsZero())

	n, err = p.Poll(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.False(t, cursors.at["googleplay:voidedpurchases"].Before(first))
	refunds := 0
	for _, e := range w.entries(t, payments.EntryFilter{Account: "acct_poll"}) {
		if e.Kind == payments.KindRefund {
			refunds++
		}
	}
	assert.Equal(t, 2, refunds)

	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()
	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(5 * time.Second):
		t.Fatal("Run did not stop")
	}
}

// TestVoidedPollerSkipsWhatTheLedgerRejects: a record rejected for good
// does not hold the cursor back.
func TestVoidedPollerSkipsWhatTheLedgerRejects(t *testing.T) {
	w := newWorld(t)
	token, orderID := w.api.purchase("coins_100", "acct_reject")
	w.api.voidOneTime(token, 1, time.Now().Add(-time.Hour))
	// Another refund already recorded under the same key, for another
	// amount: the ledger refuses the poller's as a conflict.
	_, err := w.store.Commit(t.Context(), &payments.Batch{Gateway: googleplay.DefaultName, Account: "acct_reject", Now: time.Now(),
		Entries: []payments.Entry{{Kind: payments.KindRefund, GatewayRef: orderID, Amount: usd(-1)}}})
	require.NoError(t, err)
	cursors := &memoryCursors{at: map[string]time.Time{}}
	p := &googleplay.VoidedPoller{Gateway: w.g, Recorder: &ledgerRecorder{g: w.g, store: w.store}, Cursors: cursors}
	n, err := p.Poll(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.NotZero(t, cursors.at[p.CursorName()])
}
