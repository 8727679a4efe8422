package rates

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// ECB defaults.
const (
	// DefaultECBURL is where the ECB publishes eurofxref-daily.xml,
	// eurofxref-hist-90d.xml and eurofxref-hist.xml.
	DefaultECBURL = "https://www.ecb.europa.eu/stats/eurofxref/"
	// DefaultECBRefresh is how often the ECB is asked again for a day it
	// has not published yet.
	DefaultECBRefresh = 15 * time.Minute
	// DefaultECBLookBack is how many days before a date its rate may come
	// from: four, TARGET's longest closure, Good Friday to Easter Monday,
	// whose Monday takes Thursday's rates.
	DefaultECBLookBack = 4
	// ECBSource is the Source of the rates an ECB gives.
	ECBSource = "ecb"
)

// The ECB's files.
const (
	ecbDaily   = "eurofxref-daily.xml"
	ecbHist90d = "eurofxref-hist-90d.xml"
	ecbHist    = "eurofxref-hist.xml"
)

// maxECBFile caps a response: the full history is a few megabytes.
const maxECBFile = 64 << 20

// ECBConfig configures an ECB.
type ECBConfig struct {
	// URL is the folder the three files are fetched from; default
	// DefaultECBURL.
	URL string
	// Client makes the requests; default a client with a one-minute
	// timeout.
	Client *http.Client
	// Refresh is the least time between two requests for the same file:
	// how often a day the ECB has not published yet (today before about
	// 16:00 CET) is asked for again, and how often a failed request is
	// retried; default DefaultECBRefresh.
	Refresh time.Duration
	// LookBack is how many days before a date the table that prices it may
	// be; default DefaultECBLookBack.
	LookBack int
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// ECB is a payments.RateSource over the European Central Bank's euro
// foreign exchange reference rates
// (https://www.ecb.europa.eu/stats/policy_and_exchange_rates/euro_reference_exchange_rates/html/index.en.html):
// one table a TARGET business day of units of some thirty currencies per
// euro, from a concertation at about 14:10 CET, published at about 16:00
// CET. The ECB publishes them for information and discourages their use
// for transactions; they suit a ledger's settlement figures, not prices.
//
// Which table prices a time: the table of the time's day in Frankfurt, or
// of the most recent day before it on which the ECB published, at most
// LookBack days earlier (a weekend or a TARGET holiday takes the previous
// business day's rates). A day on which the ECB may still publish — today
// before its publication, or a business day it has not reached — is never
// skipped: its rate is payments.ErrNoRate until the table comes, so the
// answer for a time never depends on when it is asked. A currency the
// chosen table lacks is payments.ErrNoRate too, never a rate from another
// day: the ECB quotes no KWD, for one, and has stopped quoting currencies
// (RUB since March 2022).
//
// The rate's At is the fixing: 14:10 Frankfurt time on the table's day.
//
// Rates: EUR→X is the ECB's figure for X as published (trailing zeros
// dropped). X→EUR and X→Y are derived through the euro, 1 ÷ X and Y ÷ X,
// and written as Quotient says: exactly when the quotient terminates, else
// to SignificantDigits significant digits, that decimal being the rate the
// conversion then uses exactly. Nothing passes through a float.
//
// Caching: tables are kept for the life of the ECB, a published day's
// table never changing; a file is fetched only for a day no table or file
// answers yet (the daily file for recent days, the 90-day file for the
// last quarter, the full history before that), and at most once a Refresh.
// A failed request, a response other than 200 or a malformed file is an
// error that does not wrap payments.ErrNoRate, so that the Service logs it
// (the entry waits for a rate either way). An ECB is safe for concurrent
// use.
type ECB struct {
	cfg  ECBConfig
	base *url.URL

	fetching chan struct{} // one fetch at a time; waiting honours the context

	mu       sync.Mutex
	days     map[ecbDay]ecbTable
	spans    []daySpan // ranges in which every published day is in days
	latest   ecbDay    // the latest day in days
	attempts map[string]fetchAttempt
}

// daySpan is a range of days a history file listed completely.
type daySpan struct{ first, last ecbDay }

type fetchAttempt struct {
	at  time.Time
	err error
}

// NewECB returns an ECB source. A URL that is not absolute http(s) is
// payments.ErrInvalidInput.
func NewECB(cfg ECBConfig) (*ECB, error) {
	if cfg.URL == "" {
		cfg.URL = DefaultECBURL
	}
	base, err := url.Parse(cfg.URL)
	if err != nil || (base.Scheme != "https" && base.Scheme != "http") || base.Host == "" {
		return nil, fmt.Errorf("rates: ecb: URL %q is not an absolute http(s) URL: %w", cfg.URL, payments.ErrInvalidInput)
	}
	if base.Path == "" || base.Path[len(base.Path)-1] != '/' {
		base.Path += "/"
	}
	if cfg.Client == nil {
		cfg.Client = &http.Client{Timeout: time.Minute}
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultECBRefresh
	}
	if cfg.LookBack <= 0 {
		cfg.LookBack = DefaultECBLookBack
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &ECB{
		cfg: cfg, base: base, fetching: make(chan struct{}, 1),
		days: map[ecbDay]ecbTable{}, attempts: map[string]fetchAttempt{},
	}, nil
}

// Rate implements payments.RateSource.
func (e *ECB) Rate(ctx context.Context, from, to payments.Currency, at time.Time) (payments.Rate, error) {
	if from == to {
		return payments.Rate{Value: "1", Source: ECBSource, At: at}, nil
	}
	date := dayOf(at)
	tried := map[string]bool{}
	for {
		e.mu.Lock()
		day, table, missing := e.resolve(date)
		file := ""
		if !missing.IsZero() {
			file = e.nextFile(missing, tried)
		}
		e.mu.Unlock()
		switch {
		case table != nil:
			return quote(table, from, to, day)
		case missing.IsZero():
			return payments.Rate{}, fmt.Errorf("rates: ecb: no reference rates within %d days before %s: %w",
				e.cfg.LookBack, date.Format(time.DateOnly), payments.ErrNoRate)
		case file == "":
			return payments.Rate{}, fmt.Errorf("rates: ecb: no reference rates for %s published yet: %w",
				missing.Format(time.DateOnly), payments.ErrNoRate)
		}
		tried[file] = true
		if err := e.fetch(ctx, file); err != nil {
			return payments.Rate{}, err
		}
	}
}

// resolve finds the table that prices date: the table and its day, or the
// zero day and a nil table when none within the look-back can, or the day
// (missing) that the cached files cannot tell about yet.
func (e *ECB) resolve(date ecbDay) (day ecbDay, table ecbTable, missing ecbDay) {
	for back := 0; back <= e.cfg.LookBack; back++ {
		d := date.AddDate(0, 0, -back)
		if t, ok := e.days[d]; ok {
			return d, t, time.Time{}
		}
		if closedDay(d) || e.listed(d) {
			continue // the ECB publishes nothing for it
		}
		return time.Time{}, nil, d
	}
	return time.Time{}, nil, time.Time{}
}

// listed reports whether d lies in a range a history file listed
// completely, so that its absence means the ECB published nothing for it.
func (e *ECB) listed(d ecbDay) bool {
	for _, s := range e.spans {
		if !d.Before(s.first) && !d.After(s.last) {
			return true
		}
	}
	return false
}

// nextFile chooses the smallest file not yet tried that can tell about day
// d, or "" when none can: the daily file for a recent day after the latest
// known one (and no other, which would end on the same day), else the
// 90-day file for the last 85 days (it lists about 64 business days), else
// the full history.
func (e *ECB) nextFile(d ecbDay, tried map[string]bool) string {
	today := dayOf(e.cfg.Now())
	if (e.latest.IsZero() || d.After(e.latest)) && !d.Before(today.AddDate(0, 0, -7)) {
		if tried[ecbDaily] {
			return ""
		}
		return ecbDaily
	}
	files := []string{ecbHist}
	if !d.Before(today.AddDate(0, 0, -85)) {
		files = []string{ecbHist90d, ecbHist}
	}
	for _, f := range files {
		if !tried[f] {
			return f
		}
	}
	return ""
}

// fetch gets and merges one file, unless it was asked for less than a
// Refresh ago: then it reports that attempt's error, if any.
func (e *ECB) fetch(ctx context.Context, file string) error {
	select {
	case e.fetching <- struct{}{}:
		defer func() { <-e.fetching }()
	case <-ctx.Done():
		return fmt.Errorf("rates: ecb: %s: %w", file, ctx.Err())
	}
	e.mu.Lock()
	last, ok := e.attempts[file]
	e.mu.Unlock()
	if ok && e.cfg.Now().Sub(last.at) < e.cfg.Refresh {
		return last.err
	}
	f, err := e.download(ctx, file)
	if err != nil && ctx.Err() != nil {
		return err // the caller gave up; the next one may ask at once
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	e.attempts[file] = fetchAttempt{at: e.cfg.Now(), err: err}
	if err != nil {
		return err
	}
	e.merge(file, f)
	return nil
}

func (e *ECB) download(ctx context.Context, file string) (ecbFile, error) {
	u := e.base.ResolveReference(&url.URL{Path: file})
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: %w", file, err)
	}
	resp, err := e.cfg.Client.Do(req)
	if err != nil {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: %w", file, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: HTTP %d", file, resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxECBFile+1))
	if err != nil {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: %w", file, err)
	}
	if len(body) > maxECBFile {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: larger than %d bytes", file, maxECBFile)
	}
	f, err := parseECB(body)
	if err != nil {
		return ecbFile{}, fmt.Errorf("rates: ecb: %s: %w", file, err)
	}
	return f, nil
}

// merge adds a file's days. A day already known keeps its table: the ECB
// does not revise a published day.
func (e *ECB) merge(file string, f ecbFile) {
	for d, t := range f.days {
		if _, ok := e.days[d]; !ok {
			e.days[d] = t
		}
		if d.After(e.latest) {
			e.latest = d
		}
	}
	if file != ecbDaily {
		e.spans = addSpan(e.spans, daySpan{f.first, f.last})
	}
}

// addSpan adds s to spans, joining those it overlaps or touches.
func addSpan(spans []daySpan, s daySpan) []daySpan {
	out := spans[:0:0]
	for _, o := range spans {
		if o.last.AddDate(0, 0, 1).Before(s.first) || s.last.AddDate(0, 0, 1).Before(o.first) {
			out = append(out, o)
			continue
		}
		if o.first.Before(s.first) {
			s.first = o.first
		}
		if o.last.After(s.last) {
			s.last = o.last
		}
	}
	return append(out, s)
}

// quote prices from in to with one day's table, through the euro.
func quote(table ecbTable, from, to payments.Currency, day ecbDay) (payments.Rate, error) {
	perEuro := func(c payments.Currency) (string, error) {
		if c == "EUR" {
			return "1", nil
		}
		if v, ok := table[c]; ok {
			return v, nil
		}
		return "", fmt.Errorf("rates: ecb: no %s reference rate on %s: %w", c, day.Format(time.DateOnly), payments.ErrNoRate)
	}
	fromPerEuro, err := perEuro(from)
	if err != nil {
		return payments.Rate{}, err
	}
	toPerEuro, err := perEuro(to)
	if err != nil {
		return payments.Rate{}, err
	}
	value := toPerEuro
	if from != "EUR" {
		// (to per euro) ÷ (from per euro) = to per unit of from
		if value, err = Quotient(toPerEuro, fromPerEuro); err != nil {
			return payments.Rate{}, fmt.Errorf("rates: ecb: %s/%s on %s: %w", from, to, day.Format(time.DateOnly), err)
		}
	}
	return payments.Rate{Value: value, Source: ECBSource, At: fixingTime(day)}, nil
}
