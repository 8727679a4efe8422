package admin

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func entry(gateway string, kind payments.EntryKind, amount int64, currency payments.Currency, at time.Time) payments.Entry {
	return payments.Entry{Gateway: gateway, Kind: kind, Amount: payments.Money{Amount: amount, Currency: currency}, RecordedAt: at}
}

func TestDailyVolume(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	vols := map[payments.Currency]*volume{}
	dailyVolume([]payments.Entry{
		entry("stripe", payments.KindCharge, 1050, "USD", from.Add(time.Hour)),
		entry("stripe", payments.KindCharge, 950, "USD", from.Add(23*time.Hour+59*time.Minute)),
		entry("paypal", payments.KindCharge, 300, "USD", from.AddDate(0, 0, 2)),
		entry("stripe", payments.KindRefund, -500, "USD", from.Add(2*time.Hour)),                              // refunds are not volume
		entry("stripe", payments.KindCharge, 700, "EUR", from.Add(time.Hour)),                                 // its own chart
		entry("stripe", payments.KindCharge, 999, "USD", from.Add(-time.Second)),                              // before the window
		entry("stripe", payments.KindCharge, 999, "USD", from.AddDate(0, 0, 3)),                               // after it
		entry("stripe", payments.KindCharge, 5, "USD", from.Add(time.Hour).In(time.FixedZone("X", -10*3600))), // zone does not matter
	}, from, 3, vols)
	require.Len(t, vols, 2)
	assert.Equal(t, []int64{2005, 0, 0}, vols["USD"].Sums["stripe"])
	assert.Equal(t, []int64{0, 0, 300}, vols["USD"].Sums["paypal"])
	assert.Equal(t, []int64{700, 0, 0}, vols["EUR"].Sums["stripe"])
	assert.False(t, vols["USD"].Saturated)

	// A sum that would leave int64 is held at its limit and flagged, never
	// wrapped into a negative.
	big := map[payments.Currency]*volume{}
	dailyVolume([]payments.Entry{
		entry("stripe", payments.KindCharge, math.MaxInt64-1, "USD", from),
		entry("stripe", payments.KindCharge, 2, "USD", from),
	}, from, 1, big)
	assert.Equal(t, int64(math.MaxInt64), big["USD"].Sums["stripe"][0])
	assert.True(t, big["USD"].Saturated)
}

func TestScaleHeight(t *testing.T) {
	for _, tc := range []struct {
		amount, tallest int64
		want            int
	}{
		{0, 100, 0},
		{100, 100, 160},
		{50, 100, 80},
		{1, 1_000_000, 1}, // tiny but not nothing
		{math.MaxInt64, math.MaxInt64, 160},
		{math.MaxInt64 / 2, math.MaxInt64, 79}, // no overflow in amount*height
		{5, 0, 0},
		{-5, 100, 0},
	} {
		assert.Equal(t, tc.want, scaleHeight(tc.amount, tc.tallest, 160), "%d of %d", tc.amount, tc.tallest)
	}
}

func TestLayoutChart(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	v := &volume{Currency: "USD", Sums: map[string][]int64{
		"stripe": {2000, 0, 500},
		"paypal": {1000, 0, 0},
	}}
	c := layoutChart(v, from, 3)
	assert.Equal(t, "20.00 USD", c.Max)
	require.Len(t, c.Legend, 2)
	assert.Equal(t, "paypal", c.Legend[0].Gateway, "gateways sorted, colours stable")
	assert.Equal(t, "g0", c.Legend[0].Class)
	require.Len(t, c.Bars, 3, "no bar for a day without money")
	byLabel := map[string]chartBar{}
	for _, b := range c.Bars {
		byLabel[b.Label] = b
		assert.Equal(t, c.BaseY, b.Y+b.H, "bars stand on the axis")
		assert.LessOrEqual(t, b.X+b.W, c.Width)
	}
	assert.InDelta(t, chartWidth, c.Width, 3, "the days share a fixed width")

	// Ninety days cannot all be labelled: today is, and labels do not
	// crowd.
	wide := layoutChart(&volume{Currency: "USD", Sums: map[string][]int64{"stripe": make([]int64, 90)}}, from, 90)
	assert.LessOrEqual(t, wide.Width, chartWidth)
	require.Len(t, wide.Days, 90)
	assert.NotEmpty(t, wide.Days[89].Label)
	last := -chartLabelWidth
	for _, d := range wide.Days {
		if d.Label != "" {
			assert.GreaterOrEqual(t, d.X-last, chartLabelWidth)
			last = d.X
		}
	}
	assert.Empty(t, wide.Bars)
	assert.Equal(t, chartPlotHeight, byLabel["2026-03-01 stripe: 20.00 USD"].H)
	assert.Equal(t, chartPlotHeight/2, byLabel["2026-03-01 paypal: 10.00 USD"].H)
	assert.Equal(t, chartPlotHeight/4, byLabel["2026-03-03 stripe: 5.00 USD"].H)
	require.Len(t, c.Days, 3)
	assert.Equal(t, "2026-03-02", c.Days[1].Date)
	assert.Equal(t, "03-02", c.Days[1].Label, "three days leave room for every label")
	assert.Equal(t, []string{"0.00 USD", "0.00 USD"}, c.Days[1].Totals)
}
