package gatetest

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

func reportTests() []namedTest {
	return []namedTest{
		{"DailyTotals", testDailyTotals},
		{"DailyTotalsOverflow", testDailyTotalsOverflow},
		{"TransactionPages", testTransactionPages},
	}
}

func reportStore(t *testing.T, s Stores) gate.ReportStore {
	t.Helper()
	rs, ok := s.Records.(gate.ReportStore)
	require.True(t, ok, "the RecordStore reports (gate.ReportStore)")
	return rs
}

// testDailyTotals: totals per UTC day, gateway, status and currency, of
// one merchant only, in [From, To), summed as integers.
func testDailyTotals(t *testing.T, s Stores) {
	ctx := t.Context()
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	add := func(merchant, id string, at time.Time, amount, currency, gateway string, status gate.Status) {
		t.Helper()
		r := record(merchant, id, at)
		r.Request.Amount, r.Request.Currency, r.Gateway = amount, currency, gateway
		require.NoError(t, s.Records.CreateRecord(ctx, r))
		if status != "" {
			_, err := s.Records.QueuePostback(ctx, postback(r, status, at))
			require.NoError(t, err)
		}
	}
	add("m1", "a", day.Add(time.Hour), "10.50", "USD", "fake", gate.StatusSucceeded)
	add("m1", "b", day.Add(23*time.Hour+59*time.Minute), "0.01", "USD", "fake", gate.StatusSucceeded)
	add("m1", "c", day.Add(2*time.Hour), "92233720368547758.07", "USD", "fake2", gate.StatusSucceeded) // max int64 cents
	add("m1", "d", day.Add(3*time.Hour), "1000", "JPY", "fake", gate.StatusSucceeded)
	add("m1", "e", day.Add(4*time.Hour), "5.00", "USD", "fake", "")
	add("m1", "f", day.Add(5*time.Hour), "7.00", "USD", "", "")
	add("m1", "g", day.Add(24*time.Hour), "1.00", "USD", "fake", gate.StatusFailed)
	add("m1", "h", day.Add(48*time.Hour), "1.00", "USD", "fake", gate.StatusFailed) // after To
	add("m1", "i", day.Add(-time.Microsecond), "1.00", "USD", "fake", gate.StatusFailed)
	add("m2", "a", day.Add(time.Hour), "99.00", "USD", "fake", gate.StatusSucceeded)

	got, err := reportStore(t, s).DailyTotals(ctx, gate.ReportQuery{Merchant: "m1", From: day, To: day.Add(48 * time.Hour)})
	require.NoError(t, err)
	for i := range got {
		got[i].Amount = "" // the gate formats it
	}
	want := []gate.DailyTotal{
		{Day: "2026-03-14", Gateway: "", Status: gate.StatusPending, Currency: "USD", Count: 1, AmountMinor: 700},
		{Day: "2026-03-14", Gateway: "fake", Status: gate.StatusPending, Currency: "USD", Count: 1, AmountMinor: 500},
		{Day: "2026-03-14", Gateway: "fake", Status: gate.StatusSucceeded, Currency: "JPY", Count: 1, AmountMinor: 1000},
		{Day: "2026-03-14", Gateway: "fake", Status: gate.StatusSucceeded, Currency: "USD", Count: 2, AmountMinor: 1051},
		{Day: "2026-03-14", Gateway: "fake2", Status: gate.StatusSucceeded, Currency: "USD", Count: 1, AmountMinor: 9223372036854775807},
		{Day: "2026-03-15", Gateway: "fake", Status: gate.StatusFailed, Currency: "USD", Count: 1, AmountMinor: 100},
	}
	assert.Equal(t, want, got)

	none, err := reportStore(t, s).DailyTotals(ctx, gate.ReportQuery{Merchant: "m3", From: day, To: day.Add(48 * time.Hour)})
	require.NoError(t, err)
	assert.Empty(t, none)
}

// testDailyTotalsOverflow: two payments of the largest amount there is, on
// one day in one currency, sum beyond int64. The report fails with
// payments.ErrInvalidInput rather than show a wrapped, negative total, even
// beside totals that fit.
func testDailyTotalsOverflow(t *testing.T, s Stores) {
	ctx := t.Context()
	day := time.Date(2026, 3, 14, 0, 0, 0, 0, time.UTC)
	for i, id := range []string{"a", "b", "c"} {
		r := record("m1", id, day.Add(time.Duration(i+1)*time.Hour))
		r.Request.Amount, r.Gateway = "92233720368547758.07", "fake" // max int64 cents
		if id == "c" {
			r.Request.Amount, r.Request.Currency = "1000", "JPY"
		}
		require.NoError(t, s.Records.CreateRecord(ctx, r))
	}

	got, err := reportStore(t, s).DailyTotals(ctx, gate.ReportQuery{Merchant: "m1", From: day, To: day.Add(24 * time.Hour)})
	require.Error(t, err, "totals %+v", got)
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Empty(t, got)

	// Totals that pass beyond int64 on the way and end within it are
	// exact, whatever order the store sums in; so is the least total.
	for i, rec := range []struct{ amount, currency string }{
		{"92233720368547758.07", "USD"}, {"0.01", "USD"}, {"-0.01", "USD"},
		{"-92233720368547758.07", "EUR"}, {"-0.01", "EUR"},
	} {
		r := record("m2", fmt.Sprintf("m2-%d", i), day.Add(time.Duration(i+1)*time.Hour))
		r.Request.Amount, r.Request.Currency, r.Gateway = rec.amount, rec.currency, "fake"
		require.NoError(t, s.Records.CreateRecord(ctx, r))
	}
	got, err = reportStore(t, s).DailyTotals(ctx, gate.ReportQuery{Merchant: "m2", From: day, To: day.Add(24 * time.Hour)})
	require.NoError(t, err)
	assert.Equal(t, []gate.DailyTotal{
		{Day: "2026-03-14", Gateway: "fake", Status: gate.StatusPending, Currency: "EUR", Count: 2, AmountMinor: math.MinInt64},
		{Day: "2026-03-14", Gateway: "fake", Status: gate.StatusPending, Currency: "USD", Count: 3, AmountMinor: math.MaxInt64},
	}, got)
}

// testTransactionPages: a merchant's records, oldest first, paged by
// (CreatedAt, ID) with records that share a CreatedAt.
func testTransactionPages(t *testing.T, s Stores) {
	ctx := t.Context()
	var want []string
	for i := range 7 {
		at := epoch.Add(time.Duration(i/2) * time.Second) // pairs share an instant
		r := record("m1", fmt.Sprintf("order-%d", i), at)
		require.NoError(t, s.Records.CreateRecord(ctx, r))
		want = append(want, r.ID)
		require.NoError(t, s.Records.CreateRecord(ctx, record("m2", fmt.Sprintf("order-%d", i), at)))
	}
	require.NoError(t, s.Records.CreateRecord(ctx, record("m1", "late", epoch.Add(time.Hour))))
	rs := reportStore(t, s)
	q := gate.TransactionQuery{Merchant: "m1", From: epoch, To: epoch.Add(time.Minute), Limit: 3}
	var got []string
	var pages int
	for {
		page, err := rs.Transactions(ctx, q)
		require.NoError(t, err)
		pages++
		require.LessOrEqual(t, len(page), 3)
		for _, r := range page {
			assert.Equal(t, "m1", r.Merchant)
			assert.Equal(t, "10.50", r.Request.Amount)
		}
		for i := 1; i < len(page); i++ {
			assert.True(t, gate.RecordKey{CreatedAt: page[i-1].CreatedAt, ID: page[i-1].ID}.Less(
				gate.RecordKey{CreatedAt: page[i].CreatedAt, ID: page[i].ID}), "ordered by (CreatedAt, ID)")
		}
		for _, r := range page {
			got = append(got, r.ID)
		}
		if len(page) < q.Limit {
			break
		}
		last := page[len(page)-1]
		q.After = &gate.RecordKey{CreatedAt: last.CreatedAt, ID: last.ID}
	}
	assert.ElementsMatch(t, want, got, "each record once, none outside [From, To) or of another merchant")
	assert.Len(t, got, 7)
	assert.Equal(t, 3, pages)
}
