package paypal_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	pp "github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/store/memory"
)

// reconciling is a Service over a PayPal Gateway pointed at the fake API,
// which the tests pay and refund on without delivering the webhooks.
type reconciling struct {
	t   *testing.T
	api *fakeAPI
	g   *paypal.Gateway
	svc *payments.Service
}

func newReconciling(t *testing.T, opts ...payments.Option) *reconciling {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	svc, err := payments.New(memory.New(), append([]payments.Option{payments.WithGateway(g)}, opts...)...)
	require.NoError(t, err)
	return &reconciling{t: t, api: api, g: g, svc: svc}
}

// paid has the buyer pay a new checkout of account, and returns the
// payment and its capture as PAYMENT.CAPTURE.COMPLETED would carry it.
func (r *reconciling) paid(account string, minor int64) (payments.Payment, map[string]any) {
	r.t.Helper()
	p, err := r.svc.Checkout(r.t.Context(), paypal.DefaultName, payments.CheckoutRequest{Account: account, Amount: usd(minor)})
	require.NoError(r.t, err)
	return *p, r.api.pay(r.t, p.GatewayID, usd(minor))
}

func (r *reconciling) reconcile() *payments.ReconcileReport {
	r.t.Helper()
	rep, err := r.svc.Reconcile(r.t.Context(), paypal.DefaultName)
	require.NoError(r.t, err)
	return rep
}

func (r *reconciling) deliver(typ, resourceType string, resource map[string]any) payments.Outcome {
	r.t.Helper()
	req := defaultSigner(r.t).sign(eventBody(r.t, typ, resourceType, resource), time.Now())
	res, err := r.svc.HandleWebhook(r.t.Context(), paypal.DefaultName, req)
	require.NoError(r.t, err)
	return res.Notification.Outcome
}

func (r *reconciling) balance(account string) int64 {
	r.t.Helper()
	b, err := r.svc.Balance(r.t.Context(), account, "USD")
	require.NoError(r.t, err)
	return b.Money.Amount
}

func (r *reconciling) status(paymentID string) payments.Status {
	r.t.Helper()
	p, err := r.svc.Payment(r.t.Context(), paymentID)
	require.NoError(r.t, err)
	return p.Status
}

func (r *reconciling) entries() []payments.Entry {
	r.t.Helper()
	es, _, err := r.svc.Entries(r.t.Context(), payments.EntryFilter{Gateway: paypal.DefaultName})
	require.NoError(r.t, err)
	return es
}

// TestReconcileRecordsADroppedCapture: a capture whose
// PAYMENT.CAPTURE.COMPLETED never arrived is booked once, under the
// capture id and linked to its order; the webhook, arriving late, is a
// duplicate, and so is the capture listed again.
func TestReconcileRecordsADroppedCapture(t *testing.T) {
	r := newReconciling(t)
	p, capture := r.paid("alice", 2500)

	rep := r.reconcile()
	assert.Equal(t, 1, rep.Listed)
	assert.Equal(t, 1, rep.Recorded, "the charge")
	assert.Empty(t, rep.Differences)
	assert.Equal(t, int64(2500), r.balance("alice"))
	assert.Equal(t, payments.StatusSucceeded, r.status(p.ID))
	es := r.entries()
	require.Len(t, es, 1)
	assert.Equal(t, capture["id"], es[0].GatewayRef, "keyed by the capture id, as the webhook keys it")
	assert.Equal(t, p.ID, es[0].PaymentID)

	assert.Equal(t, payments.OutcomeDuplicate, r.deliver(paypal.EventCaptureCompleted, "capture", capture), "the late webhook")
	rep = r.reconcile()
	assert.Zero(t, rep.Recorded)
	assert.Equal(t, 1, rep.Duplicates, "listed again within the lookback")
	assert.Equal(t, int64(2500), r.balance("alice"), "nothing doubles")
	assert.Len(t, r.entries(), 1)
}

// TestReconcileAfterTheWebhook: what a webhook recorded, reconciliation
// finds recorded.
func TestReconcileAfterTheWebhook(t *testing.T) {
	r := newReconciling(t)
	_, capture := r.paid("alice", 2500)
	require.Equal(t, payments.OutcomeRecorded, r.deliver(paypal.EventCaptureCompleted, "capture", capture))
	rep := r.reconcile()
	assert.Equal(t, 1, rep.Duplicates)
	assert.Zero(t, rep.Recorded)
	assert.Equal(t, int64(2500), r.balance("alice"))
}

// TestReconcileRecordsADroppedRefund: a refund made on PayPal's pages (no
// custom_id) whose PAYMENT.CAPTURE.REFUNDED never arrived is booked once,
// linked to its payment through the capture, as the webhook links it; so
// is a refund the driver made whose answer was lost. Their webhooks are
// duplicates.
func TestReconcileRecordsADroppedRefund(t *testing.T) {
	r := newReconciling(t)
	p, capture := r.paid("alice", 2500)
	captureID := capture["id"].(string)
	refund := r.api.refundOnPayPal(t, captureID, usd(1000))

	rep := r.reconcile()
	assert.Equal(t, 2, rep.Recorded, "the charge and the refund")
	assert.Empty(t, rep.Differences)
	assert.Equal(t, int64(1500), r.balance("alice"))
	assert.Equal(t, payments.StatusPartiallyRefunded, r.status(p.ID))
	assert.Equal(t, payments.OutcomeDuplicate, r.deliver(paypal.EventCaptureRefunded, "refund", refund), "the late webhook")

	// The rest, refunded through the driver, whose answer is lost: the
	// fake's refund carries the payment id as custom_id.
	ctx := context.Background()
	_, err := r.g.Refund(ctx, p, payments.RefundOptions{Key: "lost-answer"})
	require.NoError(t, err, "the driver's answer, never recorded")
	rep = r.reconcile()
	assert.Equal(t, 3, rep.Listed, "the capture and both refunds")
	assert.Equal(t, 1, rep.Recorded, "the second refund; the first one's record moves the payment to refunded, as its late webhook would")
	assert.Equal(t, int64(0), r.balance("alice"))
	assert.Equal(t, payments.StatusRefunded, r.status(p.ID), "the capture, looked up, is refunded in full")

	kinds := map[payments.EntryKind]int{}
	for _, e := range r.entries() {
		kinds[e.Kind]++
	}
	assert.Equal(t, map[payments.EntryKind]int{payments.KindCharge: 1, payments.KindRefund: 2}, kinds)
}

// TestReconcileSkipsWhatMovedNoMoney: pending, declined and denied
// captures, pending refunds, fees, reversals and payments of another
// integration on the account are not returned; a payment made elsewhere
// for an account (CustomIDAccountPrefix) is, as its webhook would book it.
func TestReconcileSkipsWhatMovedNoMoney(t *testing.T) {
	r := newReconciling(t)
	_, pending := r.paid("alice", 100)
	r.api.setCaptureStatus(t, pending["id"].(string), "PENDING")
	_, declined := r.paid("alice", 200)
	r.api.setCaptureStatus(t, declined["id"].(string), "DECLINED")
	_, paid := r.paid("alice", 1000)
	r.api.setRefundStatus("PENDING")
	r.api.refundOnPayPal(t, paid["id"].(string), usd(300))
	r.api.setRefundStatus("COMPLETED")

	foreign := r.api.captureElsewhere(t, "shop-42/order-9", usd(5000))
	unnamed := r.api.captureElsewhere(t, "", usd(6000))
	r.api.refundOnPayPal(t, foreign, usd(5000))
	reversal := r.api.addRefundObject(t, paid["id"].(string), "COMPLETED", usd(1000))
	r.api.addTransaction(fakeTransaction{ID: reversal, Code: "T1106", Status: "S", Amount: usd(1000)})
	r.api.addTransaction(fakeTransaction{ID: "5XW19834LM4481155", Code: "T0100", Status: "S", Amount: usd(35)})
	r.api.addTransaction(fakeTransaction{ID: "7KD11278BB1002233", Code: "T0006", Status: "S", Amount: usd(700)}) // a v1 sale: no v2 capture
	elsewhere := r.api.captureElsewhere(t, paypal.CustomIDAccountPrefix+"bob", usd(700))

	page, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	var ids []string
	for _, body := range page.Records {
		c, err := r.g.ParseRecord(t.Context(), body)
		require.NoError(t, err)
		require.NoError(t, c.Validate(r.g.Name()))
		for _, e := range c.Entries {
			ids = append(ids, e.GatewayRef)
		}
	}
	assert.ElementsMatch(t, []string{paid["id"].(string), elsewhere}, ids,
		"only the completed capture and the account's; not %s, %s", foreign, unnamed)

	rep := r.reconcile()
	assert.Equal(t, 2, rep.Recorded)
	assert.Empty(t, rep.Differences, "nothing parked: what is not the library's is not listed")
	assert.Equal(t, int64(1000), r.balance("alice"))
	assert.Equal(t, int64(700), r.balance("bob"))
}

// TestReconcileCursor: the cursor is the RFC 3339 end of the last window;
// a listing from it finds nothing new, the lookback lists again, and a
// range longer than PayPal's 31 days is listed in parts.
func TestReconcileCursor(t *testing.T) {
	r := newReconciling(t)
	r.paid("alice", 2500)
	rep := r.reconcile()
	require.Equal(t, 1, rep.Recorded)
	next, err := time.Parse(time.RFC3339, rep.Next)
	require.NoError(t, err, "the cursor is an RFC 3339 time")
	assert.WithinDuration(t, time.Now(), next, 5*time.Second)
	assert.Empty(t, rep.Cursor, "the first pass")

	page, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next})
	require.NoError(t, err)
	assert.Empty(t, page.Records, "nothing happened since the cursor")
	assert.False(t, page.Complete, "the search lags; the listing is never complete")
	page, err = r.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next, Lookback: paypal.TransactionSearchLag + time.Hour})
	require.NoError(t, err)
	assert.Len(t, page.Records, 1, "the lookback lists it again")

	rep2 := r.reconcile()
	assert.Equal(t, rep.Next, rep2.Cursor, "the next pass starts at the cursor")
	later, err := time.Parse(time.RFC3339, rep2.Next)
	require.NoError(t, err)
	assert.False(t, later.Before(next), "the cursor advances")

	_, err = r.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: "1733000000"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)

	since := time.Now().Add(-70 * 24 * time.Hour).UTC().Truncate(time.Second)
	page, err = r.g.ListMoved(t.Context(), payments.MovedQuery{Since: since})
	require.NoError(t, err)
	assert.True(t, page.More, "70 days are three searches")
	assert.Equal(t, since.Add(31*24*time.Hour).Format(time.RFC3339), page.Next)
	assert.Empty(t, page.Records)
	r.api.backdate(30 * 24 * time.Hour)
	page, err = r.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: page.Next})
	require.NoError(t, err)
	assert.True(t, page.More)
	assert.Len(t, page.Records, 1, "the capture, 30 days ago, is in the second part")
	for _, q := range r.api.searchLog() {
		from, _ := time.Parse(time.RFC3339, q.Get("start_date"))
		until, _ := time.Parse(time.RFC3339, q.Get("end_date"))
		assert.LessOrEqual(t, until.Sub(from), 31*24*time.Hour)
		assert.Equal(t, "transaction_info", q.Get("fields"))
	}
}

// TestReconcileFromLongAgo: a first pass reaching back past 31 days walks
// the parts in one Reconcile (MovedPage.More).
func TestReconcileFromLongAgo(t *testing.T) {
	r := newReconciling(t, payments.WithReconcile(payments.Reconcile{Lookback: 60 * 24 * time.Hour}))
	r.paid("alice", 2500)
	r.api.backdate(50 * 24 * time.Hour)
	r.paid("alice", 100)
	rep := r.reconcile()
	assert.Equal(t, 2, rep.Recorded)
	assert.Equal(t, int64(2600), r.balance("alice"))
	assert.Len(t, r.api.searchLog(), 2, "60 days are two searches")
}

// TestReconcilePagesThroughTheSearch: every page of a window is read.
func TestReconcilePagesThroughTheSearch(t *testing.T) {
	r := newReconciling(t)
	for range 5 {
		r.paid("alice", 100)
	}
	page, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour), Limit: 2})
	require.NoError(t, err)
	assert.Len(t, page.Records, 5)
	assert.False(t, page.More)
	var pages []string
	for _, q := range r.api.searchLog() {
		assert.Equal(t, "2", q.Get("page_size"))
		pages = append(pages, q.Get("page"))
	}
	assert.Equal(t, []string{"1", "2", "3"}, pages)

	_, err = r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour), Limit: 10_000})
	require.NoError(t, err)
	log := r.api.searchLog()
	assert.Equal(t, "500", log[len(log)-1].Get("page_size"), "PayPal's maximum")
}

// TestReconcileKeepsTheTokenAndRenewsIt: the listing and its look-ups
// share the driver's cached token, and a token PayPal stopped honouring
// is replaced once.
func TestReconcileKeepsTheTokenAndRenewsIt(t *testing.T) {
	r := newReconciling(t)
	r.paid("alice", 100)
	r.paid("alice", 200)
	tokensBefore, _ := r.api.counts()
	_, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	tokens, _ := r.api.counts()
	assert.Equal(t, tokensBefore, tokens, "the cached token")
	r.api.revokeTokens()
	page, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	assert.Len(t, page.Records, 2)
	tokens, _ = r.api.counts()
	assert.Equal(t, tokensBefore+1, tokens, "one new token")
}

// TestReconcileFailsOnAnAPIError: a search PayPal refuses (an app without
// the Transaction Search permission) fails the pass, naming the call, and
// the cursor stays.
func TestReconcileFailsOnAnAPIError(t *testing.T) {
	r := newReconciling(t)
	_, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(time.Hour)})
	require.NoError(t, err, "an empty window asks nothing")
	assert.Empty(t, r.api.searchLog())
	r.paid("alice", 100)
	r.api.refuseSearch()
	rep, err := r.svc.Reconcile(t.Context(), paypal.DefaultName)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "paypal: search transactions")
	assert.Contains(t, err.Error(), "403 NOT_AUTHORIZED")
	var pe *pp.ErrorResponse
	assert.ErrorAs(t, err, &pe, "PayPal's answer is reachable")
	assert.Empty(t, rep.Next, "the cursor stays")
	assert.Zero(t, r.balance("alice"))
}

// TestParseRecordIsTheWebhook: a record and the webhook of the same
// movement make the same payment updates and entries.
func TestParseRecordIsTheWebhook(t *testing.T) {
	r := newReconciling(t)
	_, capture := r.paid("alice", 2500)
	refund := r.api.refundOnPayPal(t, capture["id"].(string), usd(500))
	page, err := r.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	require.NoError(t, err)
	require.Len(t, page.Records, 2)
	webhooks := [][]byte{
		eventBody(t, paypal.EventCaptureCompleted, "capture", capture),
		eventBody(t, paypal.EventCaptureRefunded, "refund", refund),
	}
	for i, body := range page.Records {
		fromRecord, err := r.g.ParseRecord(t.Context(), body)
		require.NoError(t, err)
		fromWebhook, err := parse(t, r.g, webhooks[i])
		require.NoError(t, err)
		assert.Equal(t, fromWebhook.Payments, fromRecord.Payments)
		assert.Equal(t, fromWebhook.Entries, fromRecord.Entries)
		assert.Equal(t, fromWebhook.EventType, fromRecord.EventType)
		assert.Contains(t, fromRecord.EventID, "list:")
	}
}

// TestParseRecordFixtures reads the committed records: what they report,
// and what the driver refuses.
func TestParseRecordFixtures(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	c, err := g.ParseRecord(t.Context(), record(t, "capture.completed"))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, payments.KindCharge, c.Entries[0].Kind)
	assert.Equal(t, fixtureCapture, c.Entries[0].GatewayRef)
	assert.Equal(t, fixtureOrder, c.Entries[0].GatewayPaymentID)
	assert.Equal(t, usd(2500), c.Entries[0].Amount)
	assert.Equal(t, "list:"+fixtureCapture, c.EventID)

	c, err = g.ParseRecord(t.Context(), record(t, "capture.pending"))
	require.NoError(t, err)
	assert.True(t, c.Empty(), "a pending capture moved nothing")
	assert.NotEmpty(t, c.Note)

	c, err = g.ParseRecord(t.Context(), record(t, "refund.completed"))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, payments.KindRefund, c.Entries[0].Kind)
	assert.Equal(t, usd(-1000), c.Entries[0].Amount)
	assert.Equal(t, fixturePayment, c.Payments[0].PaymentID)

	for name, body := range map[string]string{
		"not JSON":        `{`,
		"unknown kind":    `{"resource_type":"dispute","resource":{"id":"PP-D-27803","status":"OPEN"}}`,
		"no resource":     `{"resource_type":"capture"}`,
		"bad id":          `{"resource_type":"capture","resource":{"id":"../../v1/oauth2/token","status":"COMPLETED"}}`,
		"too precise":     `{"resource_type":"capture","resource":{"id":"29Y24445UY2083144","status":"COMPLETED","amount":{"currency_code":"USD","value":"25.001"}}}`,
		"resource string": `{"resource_type":"refund","resource":"1Y107995YT783435V"}`,
	} {
		_, err := g.ParseRecord(t.Context(), []byte(body))
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
	}
}

// record reads testdata/records/<name>.json, a record as ListMoved writes
// it, around an object shaped as PayPal's GET answers.
func record(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "records", name+".json"))
	require.NoError(t, err)
	return b
}

// FuzzParseRecord: whatever the record, ParseRecord fails only with
// payments.ErrInvalidInput or reports changes the ledger accepts. Seeds are
// the committed records and those ListMoved returns from the fake; a
// refund's capture is looked up at the fake.
func FuzzParseRecord(f *testing.F) {
	api := newFakeAPI(f)
	g := newGateway(f, api)
	paths, err := filepath.Glob(filepath.Join("testdata", "records", "*.json"))
	require.NoError(f, err)
	require.NotEmpty(f, paths)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	captureID := api.captureElsewhere(f, fixturePayment, usd(2500))
	api.mu.Lock()
	_, _ = api.refund(api.captures[captureID], map[string]any{"amount": money(usd(700))})
	api.mu.Unlock()
	page, err := g.ListMoved(context.Background(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	require.NoError(f, err)
	require.Len(f, page.Records, 2)
	for _, body := range page.Records {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := g.ParseRecord(context.Background(), body)
		if err != nil {
			if !errors.Is(err, payments.ErrInvalidInput) {
				t.Fatalf("a record fails with neither success nor ErrInvalidInput: %v", err)
			}
			return
		}
		if err := c.Validate(g.Name()); err != nil {
			t.Fatalf("changes invalid: %v", err)
		}
	})
}
