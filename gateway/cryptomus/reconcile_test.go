package cryptomus_test

import (
	"encoding/json"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/store/memory"
)

// reconcileHarness is a Service over a Cryptomus Gateway pointed at the
// fake API, whose invoices are created a little before now, so that the
// history's creation-date filter finds them, and whose history pages
// follow each other without the production pause.
type reconcileHarness struct {
	t   *testing.T
	api *fakeAPI
	g   *cryptomus.Gateway
	svc *payments.Service
}

func newReconcileHarness(t *testing.T) *reconcileHarness {
	api := newFakeAPI(t)
	api.created = func() time.Time { return time.Now().Add(-10 * time.Second) }
	g := api.gateway(func(c *cryptomus.Config) { c.HistoryPageInterval = -1 })
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	return &reconcileHarness{t: t, api: api, g: g, svc: svc}
}

func (h *reconcileHarness) checkout(account, amount string) payments.Payment {
	h.t.Helper()
	p, err := h.svc.Checkout(h.t.Context(), "cryptomus", payments.CheckoutRequest{
		Account: account, Amount: usd(h.t, amount), Reference: "order:" + account + ":" + amount})
	require.NoError(h.t, err)
	return *p
}

func (h *reconcileHarness) reconcile() *payments.ReconcileReport {
	h.t.Helper()
	rep, err := h.svc.Reconcile(h.t.Context(), "cryptomus")
	require.NoError(h.t, err)
	return rep
}

func (h *reconcileHarness) balance(account string) int64 {
	h.t.Helper()
	b, err := h.svc.Balance(h.t.Context(), account, "USD")
	require.NoError(h.t, err)
	return b.Money.Amount
}

func (h *reconcileHarness) status(p payments.Payment) payments.Status {
	h.t.Helper()
	got, err := h.svc.Payment(h.t.Context(), p.ID)
	require.NoError(h.t, err)
	return got.Status
}

// webhook is the notification Cryptomus would have sent for the invoice in
// its state now, delivered late.
func (h *reconcileHarness) deliver(inv fakeInvoice) payments.Outcome {
	h.t.Helper()
	body := webhookBody(h.t, paymentFields(
		field{"uuid", inv.UUID}, field{"order_id", inv.OrderID}, field{"amount", inv.Amount},
		field{"currency", inv.Currency}, field{"payment_amount", inv.PaymentAmount},
		field{"payer_currency", inv.PayerCurrency}, field{"payment_amount_usd", inv.PaymentAmount},
		field{"status", inv.Status}, field{"additional_data", inv.AdditionalData},
	), paymentKey)
	res, err := h.svc.HandleWebhook(h.t.Context(), "cryptomus", webhookRequest(body))
	require.NoError(h.t, err)
	return res.Notification.Outcome
}

// TestReconcileRecordsADroppedWebhook: a paid invoice whose webhook never
// arrived is booked once by reconciliation, its late webhook is a
// duplicate, and so is the next pass; its refund, whose webhook is lost
// too, is booked by the pass after.
func TestReconcileRecordsADroppedWebhook(t *testing.T) {
	h := newReconcileHarness(t)
	p := h.checkout("alice", "15.00")
	paid := h.api.settle(t, p.GatewayID, "paid")

	rep := h.reconcile()
	assert.Equal(t, 1, rep.Listed)
	assert.Equal(t, 1, rep.Recorded, "the charge")
	assert.Empty(t, rep.Differences)
	assert.Equal(t, int64(1500), h.balance("alice"))
	assert.Equal(t, payments.StatusSucceeded, h.status(p))

	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(paid), "the late webhook")
	assert.Equal(t, int64(1500), h.balance("alice"), "nothing doubles")
	rep = h.reconcile()
	assert.Zero(t, rep.Recorded)
	assert.Equal(t, 1, rep.Duplicates, "listed again within the lookback")

	refunded := h.api.settle(t, p.GatewayID, "refund_paid")
	rep = h.reconcile()
	assert.Equal(t, 1, rep.Recorded, "the refund; its charge is a duplicate")
	assert.Empty(t, rep.Differences)
	assert.Zero(t, h.balance("alice"))
	assert.Equal(t, payments.StatusRefunded, h.status(p))
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(refunded), "the late refund webhook")

	entries, _, err := h.svc.Entries(t.Context(), payments.EntryFilter{Gateway: "cryptomus"})
	require.NoError(t, err)
	assert.Len(t, entries, 2, "a charge and a refund, once each")
}

// TestReconcileARefundedInvoiceWhoseChargeWasLost: the history shows only
// an invoice's latest status; an invoice paid and refunded with both
// webhooks lost books its charge and its refund, not a refund alone.
func TestReconcileARefundedInvoiceWhoseChargeWasLost(t *testing.T) {
	h := newReconcileHarness(t)
	p := h.checkout("bob", "20.00")
	paid := h.api.settle(t, p.GatewayID, "paid")
	refunded := h.api.settle(t, p.GatewayID, "refund_paid")

	rep := h.reconcile()
	assert.Equal(t, 2, rep.Recorded, "the charge and its refund")
	assert.Zero(t, h.balance("bob"), "never below zero, never credited")
	assert.Equal(t, payments.StatusRefunded, h.status(p))
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(paid))
	assert.Equal(t, payments.OutcomeDuplicate, h.deliver(refunded))
	assert.Equal(t, payments.StatusRefunded, h.status(p), "the late paid webhook moves nothing back")
}

func TestReconcileSkipsInvoicesThatMovedNoMoney(t *testing.T) {
	h := newReconcileHarness(t)
	h.checkout("carol", "1.00") // never paid: check
	for i, status := range []string{"cancel", "wrong_amount", "refund_process"} {
		h.api.settle(t, h.checkout("carol", "2.0"+strconv.Itoa(i)).GatewayID, status)
	}
	h.api.settle(t, h.checkout("carol", "5.00").GatewayID, "paid_over")
	rep := h.reconcile()
	assert.Equal(t, 1, rep.Listed, "only the paid_over invoice")
	assert.Equal(t, int64(500), h.balance("carol"))
}

// TestReconcileNothingNewAfterTheCursor: a listing from the cursor of the
// last pass, without a lookback, finds nothing, since nothing was created
// since; the lookback lists the invoice again.
func TestReconcileNothingNewAfterTheCursor(t *testing.T) {
	h := newReconcileHarness(t)
	h.api.settle(t, h.checkout("dave", "2.50").GatewayID, "paid")
	rep := h.reconcile()
	require.Equal(t, 1, rep.Recorded)
	next, err := strconv.ParseInt(rep.Next, 10, 64)
	require.NoError(t, err, "the cursor is a Unix time")
	assert.InDelta(t, time.Now().Unix(), next, 5)

	page, err := h.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next})
	require.NoError(t, err)
	assert.Empty(t, page.Records, "nothing was created since the cursor")
	assert.False(t, page.Complete, "the history filters by creation, not by when money moved")
	assert.Equal(t, rep.Next, page.Next)

	page, err = h.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next, Lookback: time.Minute})
	require.NoError(t, err)
	assert.Len(t, page.Records, 1, "the lookback lists it again")

	_, err = h.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: "yesterday"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

// TestListMovedRequest checks the call against the documented shape: a
// signed POST (the fake refuses any other) with date_from and date_to in
// "YYYY-MM-DD H:mm:ss" on Cryptomus's UTC+3 clock, date_to inclusive, and
// every page after the first asked for by ?cursor=.
func TestListMovedRequest(t *testing.T) {
	h := newReconcileHarness(t)
	h.api.perPage = 2
	for i := range 5 {
		h.api.settle(t, h.checkout("erin", strconv.Itoa(i+1)+".00").GatewayID, "paid")
	}
	since := time.Date(2026, 3, 1, 21, 30, 0, 0, time.UTC)
	before := h.api.requestCount()
	page, err := h.g.ListMoved(t.Context(), payments.MovedQuery{Since: since})
	require.NoError(t, err)
	assert.Len(t, page.Records, 5, "every page is read")
	assert.False(t, page.More)

	h.api.mu.Lock()
	calls := h.api.requests[before:]
	h.api.mu.Unlock()
	require.Len(t, calls, 3, "three pages of two")
	for i, c := range calls {
		assert.Equal(t, "/v1/payment/list", c.Path)
		assert.Equal(t, "2026-03-02 00:30:00", c.Fields["date_from"], "UTC+3")
		until := time.Unix(mustInt(t, page.Next), 0).Add(-time.Second)
		assert.Equal(t, until.In(time.FixedZone("", 3*3600)).Format("2006-01-02 15:04:05"), c.Fields["date_to"])
		if i == 0 {
			assert.Empty(t, c.Query.Get("cursor"))
			assert.NotContains(t, c.Fields, "cursor")
		} else {
			assert.NotEmpty(t, c.Query.Get("cursor"))
			assert.Equal(t, c.Query.Get("cursor"), c.Fields["cursor"], "the cursor travels in the query and the body")
		}
	}
	rep := h.reconcile()
	assert.Equal(t, 5, rep.Recorded)
	assert.Equal(t, int64(1500), h.balance("erin"))
}

func TestListMovedFailsOnAnAPIError(t *testing.T) {
	h := newReconcileHarness(t)
	h.api.answer("/v1/payment/list", 500, `{"state":1,"message":"Server error"}`)
	_, err := h.g.ListMoved(t.Context(), payments.MovedQuery{Since: time.Now().Add(-time.Hour)})
	var apiErr *cryptomus.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "payment history", apiErr.Op)
	_, err = h.svc.Reconcile(t.Context(), "cryptomus")
	require.Error(t, err, "the reconciler keeps its cursor")
}

func mustInt(t *testing.T, s string) int64 {
	n, err := strconv.ParseInt(s, 10, 64)
	require.NoError(t, err)
	return n
}

// TestParseRecordMatchesWebhook: an invoice listed in the history and the
// webhook of the same invoice and status record the same changes — the
// same payment update and the same entries, under the same keys, with
// the same amounts, accounts and settlement — under each overpayment
// policy; a refund_paid record adds the charge its paid webhook recorded.
func TestParseRecordMatchesWebhook(t *testing.T) {
	created := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	updated := created.Add(40 * time.Minute)
	invoice := func(status string) []field {
		return paymentFields(field{"currency", "USDT"}, field{"payer_currency", "USDT"}, field{"amount", "10.00000000"},
			field{"payment_amount", "12.50000000"}, field{"payment_amount_usd", "12.50"}, field{"status", status})
	}
	record := func(fields []field) []byte {
		return []byte(phpJSON(t, append(fields[1:len(fields):len(fields)],
			field{"created_at", created.Format(time.RFC3339)}, field{"updated_at", updated.Format(time.RFC3339)})))
	}
	webhook := func(g *cryptomus.Gateway, status string, at time.Time) *payments.Changes {
		req := webhookRequest(webhookBody(t, invoice(status), paymentKey))
		req.ReceivedAt = at
		c, err := g.ParseWebhook(t.Context(), req)
		require.NoError(t, err)
		return c
	}
	for _, policy := range []cryptomus.OverpaymentPolicy{cryptomus.ChargeInvoiceAmount, cryptomus.ChargePaidAmount} {
		g := newGateway(t, func(c *cryptomus.Config) { c.Overpayment = policy })
		for _, status := range []string{"paid", "paid_over", "refund_paid"} {
			got, err := g.ParseRecord(t.Context(), record(invoice(status)))
			require.NoError(t, err, status)
			want := webhook(g, status, updated)
			assert.Equal(t, "list:"+want.EventID, got.EventID)
			assert.Equal(t, want.Payments, got.Payments, status)
			require.NoError(t, got.Validate("cryptomus"))
			if status != "refund_paid" {
				assert.Equal(t, want.Entries, got.Entries, "policy %d %s", policy, status)
				continue
			}
			require.Len(t, got.Entries, 2)
			assert.Equal(t, want.Entries[0], got.Entries[1], "policy %d: the refund", policy)
			paidStatus := "paid"
			if policy == cryptomus.ChargePaidAmount {
				paidStatus = "paid_over" // the refund of 12.50 returns an overpaid charge
			}
			assert.Equal(t, webhook(g, paidStatus, created).Entries[0], got.Entries[0], "policy %d: the charge refunded", policy)
		}
	}
}

func TestParseRecordFixtures(t *testing.T) {
	g := newGateway(t)
	for _, tc := range []struct {
		file    string
		entries []int64
		account string
	}{
		{"record_paid.json", []int64{1600}, "user-42"},
		{"record_paid_over.json", []int64{457_00000000}, ""}, // USDT has 8 decimals
		{"record_refund_paid.json", []int64{1500, -1500}, "user-42"},
	} {
		c, err := g.ParseRecord(t.Context(), readFixture(t, tc.file))
		require.NoError(t, err, tc.file)
		require.NoError(t, c.Validate("cryptomus"))
		var amounts []int64
		for _, e := range c.Entries {
			amounts = append(amounts, e.Amount.Amount)
			assert.Equal(t, tc.account, e.Account, tc.file)
			assert.False(t, e.OccurredAt.IsZero(), "dated by the invoice")
		}
		assert.Equal(t, tc.entries, amounts, tc.file)
	}
	_, err := g.ParseRecord(t.Context(), []byte(`{"status":"paid","amount":"1.00","currency":"USD"}`))
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "no uuid")
	_, err = g.ParseRecord(t.Context(), []byte(`[]`))
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

// FuzzParseRecord seeds from the record fixtures and from what the fake
// history lists.
func FuzzParseRecord(f *testing.F) {
	g := newGateway(f)
	paths, err := filepath.Glob("testdata/record_*.json")
	require.NoError(f, err)
	require.NotEmpty(f, paths)
	for _, p := range paths {
		f.Add(readFixture(f, filepath.Base(p)))
	}
	inv := fakeInvoice{UUID: "26109ba0-b05b-4ee0-93d1-fd62c822ce95", OrderID: "pay_1", Amount: "15.00", Currency: "USD",
		Status: "refund_paid", PaymentAmount: "15.00", PayerCurrency: "USD", CreatedAt: time.Unix(1700000000, 0), UpdatedAt: time.Unix(1700003600, 0)}
	f.Add(inv.item())
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := g.ParseRecord(t.Context(), body)
		if err != nil {
			return
		}
		assert.NoError(t, c.Validate("cryptomus"))
		// What parses parses the same again, and as JSON.
		again, err := g.ParseRecord(t.Context(), body)
		require.NoError(t, err)
		assert.Equal(t, c, again)
		assert.True(t, json.Valid(body))
	})
}
