package admin

import (
	"context"
	"fmt"
	"math"
	"math/bits"
	"net/http"
	"slices"
	"time"

	"github.com/payrail/payments"
)

// The chart is drawn as inline SVG on the server: no script, no chart
// library, and nothing a Content-Security-Policy without 'unsafe-inline'
// refuses (colours come from classes in the stylesheet, not style
// attributes).

// Chart geometry, in SVG user units. The width is fixed and the days share
// it, so that the chart reads the same at 7 days or 90 and with one gateway
// or eight; the stylesheet scales the whole to the page.
const (
	chartWidth      = 720
	chartPlotHeight = 200
	chartLabelSpace = 18
	chartMargin     = 4
	chartLabelWidth = 40 // room one "01-02" label needs
	chartColours    = 8  // classes g0…g7 in admin.css
)

// volume is the charges of one currency: per gateway, one sum per day in
// minor units. Money of different currencies is never added together.
type volume struct {
	Currency payments.Currency
	Sums     map[string][]int64
	// Saturated reports a daily sum that would have left int64 and was
	// held at its maximum.
	Saturated bool
}

// dailyVolume sums the charges among entries that were recorded in the days
// days from from (a UTC midnight), per currency, gateway and day. Only
// charges count: the chart shows gross volume taken, not refunds.
func dailyVolume(entries []payments.Entry, from time.Time, days int, into map[payments.Currency]*volume) {
	for _, e := range entries {
		if e.Kind != payments.KindCharge || e.Amount.Amount <= 0 {
			continue
		}
		at := e.RecordedAt.UTC()
		if at.Before(from) {
			continue
		}
		day := int(at.Sub(from) / (24 * time.Hour))
		if day >= days {
			continue
		}
		v := into[e.Amount.Currency]
		if v == nil {
			v = &volume{Currency: e.Amount.Currency, Sums: map[string][]int64{}}
			into[e.Amount.Currency] = v
		}
		sums := v.Sums[e.Gateway]
		if sums == nil {
			sums = make([]int64, days)
			v.Sums[e.Gateway] = sums
		}
		if sums[day] > math.MaxInt64-e.Amount.Amount {
			sums[day], v.Saturated = math.MaxInt64, true
			continue
		}
		sums[day] += e.Amount.Amount
	}
}

// scaleHeight returns amount*height/tallest rounded down, in integer arithmetic
// with a 128-bit product, so that no amount passes through a float and no
// product overflows. amount must lie in [0, tallest]; a positive amount is at
// least 1 unit high.
func scaleHeight(amount, tallest int64, height int) int {
	if amount <= 0 || tallest <= 0 || amount > tallest {
		return 0
	}
	hi, lo := bits.Mul64(uint64(amount), uint64(height))
	// hi < tallest because amount <= tallest and height < 2^63, so the
	// quotient fits and Div64 does not panic.
	q, _ := bits.Div64(hi, lo, uint64(tallest))
	if q == 0 {
		return 1 // money moved that day: keep it visible
	}
	return int(q)
}

// chart is one currency's SVG and the table that says the same in words.
type chart struct {
	Currency      payments.Currency
	Width, Height int
	BaseY, LabelY int
	Max           string
	Bars          []chartBar
	Days          []chartDay
	Legend        []legendItem
	Saturated     bool
}

type chartBar struct {
	X, Y, W, H int
	Class      string
	Label      string
}

type chartDay struct {
	// X is the middle of the day's group; Label is empty where labels
	// would overlap. Date always names the day, for the figures table.
	X           int
	Label, Date string
	Totals      []string // per gateway of the legend, formatted
}

type legendItem struct{ Gateway, Class string }

// layoutChart turns a volume into bars: one group per day, one bar per
// gateway, heights scaled to the largest daily sum of the currency.
func layoutChart(v *volume, from time.Time, days int) chart {
	gateways := make([]string, 0, len(v.Sums))
	for g := range v.Sums {
		gateways = append(gateways, g)
	}
	slices.Sort(gateways)
	var tallest int64
	for _, sums := range v.Sums {
		for _, s := range sums {
			tallest = max(tallest, s)
		}
	}
	group := max(1, (chartWidth-2*chartMargin)/days)
	gap := group / 5
	barWidth := max(1, (group-gap)/max(1, len(gateways)))
	labelEvery := (chartLabelWidth + group - 1) / group
	c := chart{
		Currency: v.Currency, Saturated: v.Saturated,
		Width:  2*chartMargin + days*group,
		Height: chartMargin + chartPlotHeight + chartLabelSpace,
		BaseY:  chartMargin + chartPlotHeight,
		LabelY: chartMargin + chartPlotHeight + chartLabelSpace - 4,
		Max:    payments.Money{Amount: tallest, Currency: v.Currency}.String(),
	}
	for i, g := range gateways {
		c.Legend = append(c.Legend, legendItem{Gateway: g, Class: fmt.Sprintf("g%d", i%chartColours)})
	}
	base := chartMargin + chartPlotHeight
	for d := range days {
		day := from.AddDate(0, 0, d)
		x := chartMargin + d*group
		cd := chartDay{X: x + group/2, Label: day.Format("01-02")}
		if (days-1-d)%labelEvery != 0 {
			cd.Label = "" // too narrow for every label: keep today's and every labelEvery-th before it
		}
		cd.Date = day.Format("2006-01-02")
		for i, g := range gateways {
			amount := payments.Money{Amount: v.Sums[g][d], Currency: v.Currency}
			cd.Totals = append(cd.Totals, amount.String())
			hgt := scaleHeight(amount.Amount, tallest, chartPlotHeight)
			if hgt == 0 {
				continue
			}
			c.Bars = append(c.Bars, chartBar{
				X: x + gap/2 + i*barWidth, Y: base - hgt, W: max(1, barWidth-1), H: hgt,
				Class: c.Legend[i].Class,
				Label: fmt.Sprintf("%s %s: %s", cd.Date, g, amount),
			})
		}
		c.Days = append(c.Days, cd)
	}
	return c
}

// volumeCharts reads the ledger through the Service's Entries listing and
// charts the last days days. It reads at most limit entries; truncated
// reports that it stopped there, before the newest entries.
func volumeCharts(ctx context.Context, svc *payments.Service, now time.Time, days, limit int) (charts []chart, truncated bool, err error) {
	today := now.UTC().Truncate(24 * time.Hour)
	from := today.AddDate(0, 0, -(days - 1))
	vols := map[payments.Currency]*volume{}
	after, read := "", 0
	for {
		page, next, err := svc.Entries(ctx, payments.EntryFilter{Limit: min(payments.DefaultListLimit, limit-read), After: after})
		if err != nil {
			return nil, false, err
		}
		dailyVolume(page, from, days, vols)
		read += len(page)
		if next == "" {
			break
		}
		if read >= limit {
			truncated = true
			break
		}
		after = next
	}
	currencies := make([]payments.Currency, 0, len(vols))
	for c := range vols {
		currencies = append(currencies, c)
	}
	slices.Sort(currencies)
	for _, c := range currencies {
		charts = append(charts, layoutChart(vols[c], from, days))
	}
	return charts, truncated, nil
}

// overviewPage is the landing page: what waits on the operator, and volume.
type overviewPage struct {
	Backlog   payments.Backlog
	Gateways  []string
	Days      int
	Charts    []chart
	Truncated bool
	ScanLimit int
}

// overview shows the backlog and the daily volume chart.
func (h *handler) overview(w http.ResponseWriter, r *http.Request) {
	backlog, err := h.svc.Backlog(r.Context())
	if err != nil {
		h.fail(w, r, err)
		return
	}
	charts, truncated, err := volumeCharts(r.Context(), h.svc, h.opts.Now(), h.opts.ChartDays, h.opts.ChartScanLimit)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "overview", "Overview", overviewPage{
		Backlog: backlog, Gateways: h.svc.GatewayNames(), Days: h.opts.ChartDays,
		Charts: charts, Truncated: truncated, ScanLimit: h.opts.ChartScanLimit,
	})
}
