package googleplay_test

import (
	"context"
	"net/http"
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

// The Service is the poller's Recorder: Service.Record is the entry point
// the poller was written for.
var _ googleplay.Recorder = (*payments.Service)(nil)

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
	cursors := &memoryCursors{at: map[string]time.Time{}}
	p := &googleplay.VoidedPoller{Gateway: w.g, Recorder: w.svc, Cursors: cursors}
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

	// Two listings, then the first record's purchase look-up, which fails:
	// the Service journals the record as failed and returns the error.
	w.api.failNth(3, http.StatusServiceUnavailable)
	_, err = p.Poll(t.Context())
	require.Error(t, err)
	assert.Empty(t, cursors.at, "a failed poll keeps the cursor")

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
	assert.Len(t, refunds(w.entries(t, payments.EntryFilter{Account: "acct_poll"})), 2)

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

// TestVoidedPollerRecordsAMissedRefundOnce runs the poller with the Service
// as its Recorder over a refund whose notification never arrived: it is
// recorded once, as a refund, and journaled as a record; the next poll,
// which lists it again within its overlap, the notification arriving
// after all, and a replay of the record's journal row, which parses it
// again, are duplicates.
func TestVoidedPollerRecordsAMissedRefundOnce(t *testing.T) {
	w := newWorld(t)
	ctx := t.Context()
	token, orderID := w.api.purchase("coins_100", "acct_missed")
	_, err := verify(t, w, "acct_missed", "coins_100", token)
	require.NoError(t, err)
	require.Equal(t, int64(99), w.balance(t, "acct_missed"))
	// Seen by Google within the poller's overlap of the cursor a poll now
	// saves, so that the next poll lists it again.
	w.api.voidOneTime(token, 1, time.Now().Add(-5*time.Minute))
	p := &googleplay.VoidedPoller{Gateway: w.g, Recorder: w.svc, Cursors: &memoryCursors{at: map[string]time.Time{}}}

	n, err := p.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	refunded := refunds(w.entries(t, payments.EntryFilter{Account: "acct_missed"}))
	require.Len(t, refunded, 1)
	assert.Equal(t, orderID, refunded[0].GatewayRef)
	assert.Equal(t, usd(-99), refunded[0].Amount)
	assert.Zero(t, w.balance(t, "acct_missed"))
	pay, err := w.svc.Payment(ctx, refunded[0].PaymentID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusRefunded, pay.Status)
	rows := journaledRecords(t, w)
	require.Len(t, rows, 1)
	row := rows[0]
	assert.Equal(t, payments.OutcomeRecorded, row.Outcome, row.Detail)
	assert.Equal(t, payments.SourceRecord, row.Source)
	assert.True(t, row.Verified, "authenticated by the API call that listed it")
	assert.Equal(t, "voided:"+orderID, row.EventID)
	assert.Equal(t, "voidedpurchases.list", row.EventType)
	assert.Contains(t, string(row.Body), orderID)

	n, err = p.Poll(ctx)
	require.NoError(t, err)
	assert.Zero(t, n, "listed again, recorded once")
	rows = journaledRecords(t, w)
	require.Len(t, rows, 2, "the second listing is journaled too")
	assert.Equal(t, payments.OutcomeDuplicate, rows[0].Outcome, rows[0].Detail)

	late, err := w.deliver(t, voidedNotice(token, orderID, 2, 1))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, late.Notification.Outcome, late.Notification.Detail)
	assert.Empty(t, late.Notification.Source, "a delivery")

	lookups := countCalls(w, "productsv2/tokens/"+token)
	replayed, err := w.svc.Replay(ctx, row.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, replayed.Notification.Outcome, replayed.Notification.Detail)
	assert.Equal(t, payments.SourceRecord, replayed.Notification.Source)
	assert.Equal(t, row.ID, replayed.Notification.ReplayOf)
	assert.Equal(t, lookups+1, countCalls(w, "productsv2/tokens/"+token), "the replay parses the record again")
	resolved, err := w.svc.Notification(ctx, row.ID)
	require.NoError(t, err)
	assert.Equal(t, replayed.Notification.ID, resolved.ResolvedBy)

	assert.Len(t, refunds(w.entries(t, payments.EntryFilter{Account: "acct_missed"})), 1)
	assert.Zero(t, w.balance(t, "acct_missed"))
}

// TestVoidedPollerSkipsWhatTheLedgerRejects: a record rejected for good
// is journaled as rejected and does not hold the cursor back.
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
	p := &googleplay.VoidedPoller{Gateway: w.g, Recorder: w.svc, Cursors: cursors}
	n, err := p.Poll(t.Context())
	require.NoError(t, err)
	assert.Zero(t, n)
	assert.NotZero(t, cursors.at[p.CursorName()])
	rows := journaledRecords(t, w)
	require.Len(t, rows, 1)
	assert.Equal(t, payments.OutcomeRejected, rows[0].Outcome)
}

func refunds(entries []payments.Entry) []payments.Entry {
	var out []payments.Entry
	for _, e := range entries {
		if e.Kind == payments.KindRefund {
			out = append(out, e)
		}
	}
	return out
}

// journaledRecords are the journal rows of records (Service.Record),
// newest first.
func journaledRecords(t *testing.T, w *world) []payments.Notification {
	t.Helper()
	var out []payments.Notification
	f := payments.NotificationFilter{Gateway: googleplay.DefaultName}
	for {
		page, next, err := w.svc.Notifications(t.Context(), f)
		require.NoError(t, err)
		for _, n := range page {
			if n.Source == payments.SourceRecord {
				out = append(out, n)
			}
		}
		if next == "" {
			return out
		}
		f.After = next
	}
}
