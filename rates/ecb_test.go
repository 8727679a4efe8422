package rates_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/rates"
)

// cest and cet are Frankfurt's offsets in summer and in winter.
var (
	cest = time.FixedZone("CEST", 2*60*60)
	cet  = time.FixedZone("CET", 60*60)
)

// ecbServer serves the ECB's three files from testdata, counting requests.
type ecbServer struct {
	t        testing.TB
	srv      *httptest.Server
	mu       sync.Mutex
	files    map[string][]byte
	status   map[string]int
	requests map[string]int
}

func newECBServer(t testing.TB) *ecbServer {
	s := &ecbServer{t: t, files: map[string][]byte{}, status: map[string]int{}, requests: map[string]int{}}
	s.serve("eurofxref-daily.xml", "eurofxref-daily.xml")
	s.serve("eurofxref-hist-90d.xml", "eurofxref-hist-90d.xml")
	s.serve("eurofxref-hist.xml", "eurofxref-hist.xml")
	s.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		name, ok := strings.CutPrefix(r.URL.Path, "/stats/eurofxref/")
		s.mu.Lock()
		defer s.mu.Unlock()
		s.requests[name]++
		body, found := s.files[name]
		switch {
		case !ok || !found || r.Method != http.MethodGet:
			http.NotFound(w, r)
		case s.status[name] != 0:
			http.Error(w, "unavailable", s.status[name])
		default:
			w.Header().Set("Content-Type", "text/xml")
			_, _ = w.Write(body)
		}
	}))
	t.Cleanup(s.srv.Close)
	return s
}

// serve makes the server answer name with a testdata file.
func (s *ecbServer) serve(name, fixture string) {
	b, err := os.ReadFile(filepath.Join("testdata", fixture))
	require.NoError(s.t, err)
	s.serveBytes(name, b)
}

func (s *ecbServer) serveBytes(name string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = body
	delete(s.status, name)
}

func (s *ecbServer) fail(name string, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.status[name] = status
}

func (s *ecbServer) count(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests[name]
}

func (s *ecbServer) url() string { return s.srv.URL + "/stats/eurofxref/" }

// clock is a settable time.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}

func newECB(t testing.TB, srv *ecbServer, now time.Time, mutate ...func(*rates.ECBConfig)) (*rates.ECB, *clock) {
	t.Helper()
	c := &clock{now: now}
	cfg := rates.ECBConfig{URL: srv.url(), Client: srv.srv.Client(), Now: c.Now}
	for _, m := range mutate {
		m(&cfg)
	}
	e, err := rates.NewECB(cfg)
	require.NoError(t, err)
	return e, c
}

// afterPublication is 2026-04-08 after the ECB published that day's rates.
var afterPublication = time.Date(2026, 4, 8, 17, 0, 0, 0, cest)

func TestECBRates(t *testing.T) {
	fixing := func(y int, m time.Month, d int, zone *time.Location) time.Time {
		return time.Date(y, m, d, 14, 10, 0, 0, zone)
	}
	apr8 := fixing(2026, 4, 8, cest)
	for _, tc := range []struct {
		name     string
		from, to payments.Currency
		at       time.Time
		want     string
		wantAt   time.Time
	}{
		{"euro to dollar, as published", "EUR", "USD", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "1.0842", apr8},
		{"dollar to euro, 1 ÷ 1.0842", "USD", "EUR", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "0.922339051835", apr8},
		{"yen to dollar, 1.0842 ÷ 162.53", "JPY", "USD", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "0.00667076847351", apr8},
		{"dollar to yen, 162.53 ÷ 1.0842", "USD", "JPY", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "149.907766095", apr8},
		{"pound to dollar, 0.84630 read as 0.8463", "GBP", "USD", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "1.28110599078", apr8},
		{"trailing zero dropped", "EUR", "GBP", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), "0.8463", apr8},
		{"the Frankfurt day, not the UTC day", "EUR", "USD", time.Date(2026, 4, 7, 23, 30, 0, 0, time.UTC), "1.0842", apr8},
		{"the day before", "EUR", "USD", time.Date(2026, 4, 7, 9, 0, 0, 0, cest), "1.0837", fixing(2026, 4, 7, cest)},
		{"Saturday takes Friday's", "USD", "EUR", time.Date(2026, 3, 28, 12, 0, 0, 0, time.UTC), "0.926784059314", fixing(2026, 3, 27, cet)},
		{"Sunday takes Friday's, across the change to summer time", "EUR", "USD", time.Date(2026, 3, 29, 23, 0, 0, 0, cest), "1.079", fixing(2026, 3, 27, cet)},
		{"Good Friday takes Thursday's", "EUR", "USD", time.Date(2026, 4, 3, 10, 0, 0, 0, cest), "1.0815", fixing(2026, 4, 2, cest)},
		{"Easter Monday takes Thursday's, four days back", "EUR", "USD", time.Date(2026, 4, 6, 20, 0, 0, 0, cest), "1.0815", fixing(2026, 4, 2, cest)},
		{"from the full history", "EUR", "USD", time.Date(2025, 12, 24, 15, 0, 0, 0, cet), "1.178", fixing(2025, 12, 24, cet)},
		{"Christmas takes the 24th's", "EUR", "USD", time.Date(2025, 12, 26, 15, 0, 0, 0, cet), "1.178", fixing(2025, 12, 24, cet)},
		{"a currency since gone, on a day it was quoted", "EUR", "BGN", time.Date(2025, 12, 24, 15, 0, 0, 0, cet), "1.9558", fixing(2025, 12, 24, cet)},
		{"same currency", "USD", "USD", apr8, "1", apr8},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newECB(t, newECBServer(t), afterPublication)
			r, err := e.Rate(t.Context(), tc.from, tc.to, tc.at)
			require.NoError(t, err)
			assert.Equal(t, tc.want, r.Value)
			assert.Equal(t, "ecb", r.Source)
			assert.True(t, tc.wantAt.Equal(r.At), "At %s, want %s", r.At, tc.wantAt)
		})
	}
}

func TestECBNoRate(t *testing.T) {
	for _, tc := range []struct {
		name     string
		from, to payments.Currency
		at       time.Time
		lookBack int
	}{
		{"the ECB quotes no dinar", "USD", "KWD", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), 0},
		{"a currency the day's table lacks, though the day before has it", "HUF", "EUR", time.Date(2026, 3, 31, 18, 0, 0, 0, cest), 0},
		{"a currency no longer quoted", "BGN", "EUR", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), 0},
		{"an unknown code", "XYZ", "USD", time.Date(2026, 4, 8, 18, 0, 0, 0, cest), 0},
		{"a day not published yet", "USD", "EUR", time.Date(2026, 4, 9, 18, 0, 0, 0, cest), 0},
		{"the previous table beyond the look-back", "USD", "EUR", time.Date(2025, 12, 28, 12, 0, 0, 0, cet), 3},
		{"before the files begin", "USD", "EUR", time.Date(2025, 12, 1, 12, 0, 0, 0, cet), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, _ := newECB(t, newECBServer(t), afterPublication, func(c *rates.ECBConfig) { c.LookBack = tc.lookBack })
			r, err := e.Rate(t.Context(), tc.from, tc.to, tc.at)
			require.ErrorIs(t, err, payments.ErrNoRate, "got %+v", r)
			assert.True(t, strings.HasPrefix(err.Error(), "rates: ecb: "), err.Error())
		})
	}
	// The look-back of four days reaches from Sunday the 28th to the 24th.
	e, _ := newECB(t, newECBServer(t), afterPublication)
	r, err := e.Rate(t.Context(), "EUR", "USD", time.Date(2025, 12, 28, 12, 0, 0, 0, cet))
	require.NoError(t, err)
	assert.Equal(t, "1.178", r.Value)
}

// TestECBWaitsForTodaysTable: before the ECB publishes a business day's
// rates, that day has no rate; the previous day's is not given in its
// stead, since the answer would then depend on when it was asked. The
// daily file is asked for again at most once a Refresh.
func TestECBWaitsForTodaysTable(t *testing.T) {
	srv := newECBServer(t)
	srv.serve("eurofxref-daily.xml", "eurofxref-daily-2026-04-07.xml")
	morning := time.Date(2026, 4, 8, 10, 0, 0, 0, cest)
	e, clk := newECB(t, srv, morning)
	ctx := t.Context()

	_, err := e.Rate(ctx, "USD", "EUR", morning)
	require.ErrorIs(t, err, payments.ErrNoRate)
	assert.Contains(t, err.Error(), "2026-04-08")
	assert.Equal(t, 1, srv.count("eurofxref-daily.xml"))

	r, err := e.Rate(ctx, "EUR", "USD", time.Date(2026, 4, 7, 12, 0, 0, 0, cest))
	require.NoError(t, err)
	assert.Equal(t, "1.0837", r.Value, "yesterday is known")

	clk.set(morning.Add(10 * time.Minute))
	_, err = e.Rate(ctx, "USD", "EUR", morning)
	require.ErrorIs(t, err, payments.ErrNoRate)
	assert.Equal(t, 1, srv.count("eurofxref-daily.xml"), "not asked again within the refresh interval")

	srv.serve("eurofxref-daily.xml", "eurofxref-daily.xml")
	clk.set(time.Date(2026, 4, 8, 16, 5, 0, 0, cest))
	r, err = e.Rate(ctx, "USD", "EUR", morning)
	require.NoError(t, err)
	assert.Equal(t, "0.922339051835", r.Value)
	assert.Equal(t, 2, srv.count("eurofxref-daily.xml"))

	for range 3 {
		_, err = e.Rate(ctx, "JPY", "USD", morning)
		require.NoError(t, err)
	}
	assert.Equal(t, 2, srv.count("eurofxref-daily.xml"), "a published day is never asked for again")
	assert.Zero(t, srv.count("eurofxref-hist-90d.xml")+srv.count("eurofxref-hist.xml"))
}

// TestECBSkipsAClosedDayAtOnce: on Good Friday the ECB publishes nothing,
// and the source knows it without waiting for Tuesday's table.
func TestECBSkipsAClosedDayAtOnce(t *testing.T) {
	srv := newECBServer(t)
	srv.serve("eurofxref-daily.xml", "eurofxref-daily-2026-04-02.xml")
	goodFriday := time.Date(2026, 4, 3, 12, 0, 0, 0, cest)
	e, _ := newECB(t, srv, goodFriday)
	r, err := e.Rate(t.Context(), "EUR", "USD", goodFriday)
	require.NoError(t, err)
	assert.Equal(t, "1.0815", r.Value)
	assert.Equal(t, 1, srv.count("eurofxref-daily.xml"))
	assert.Zero(t, srv.count("eurofxref-hist-90d.xml"))
}

// TestECBFetchesEachFileOnce: lookups across the quarter and before it ask
// for each file once, the smallest that answers.
func TestECBFetchesEachFileOnce(t *testing.T) {
	srv := newECBServer(t)
	e, _ := newECB(t, srv, afterPublication)
	for range 2 {
		for _, at := range []time.Time{
			afterPublication,
			time.Date(2026, 4, 1, 12, 0, 0, 0, cest),
			time.Date(2026, 3, 28, 12, 0, 0, 0, cet),
			time.Date(2025, 12, 24, 12, 0, 0, 0, cet),
			time.Date(2025, 12, 28, 12, 0, 0, 0, cet),
		} {
			_, err := e.Rate(t.Context(), "USD", "EUR", at)
			require.NoError(t, err, at)
		}
	}
	assert.Equal(t, 1, srv.count("eurofxref-daily.xml"))
	assert.Equal(t, 1, srv.count("eurofxref-hist-90d.xml"))
	assert.Equal(t, 1, srv.count("eurofxref-hist.xml"))
}

func TestECBMalformedFile(t *testing.T) {
	daily, err := os.ReadFile(filepath.Join("testdata", "eurofxref-daily.xml"))
	require.NoError(t, err)
	for name, body := range map[string]string{
		"truncated":            string(daily[:len(daily)/2]),
		"an error page":        "<html><body>Service Unavailable</body></html>",
		"empty":                "",
		"another namespace":    strings.Replace(string(daily), "http://www.gesmes.org/xml/2002-08-01", "http://example.com/gesmes", 2),
		"a comma decimal":      strings.Replace(string(daily), "rate='1.0842'", "rate='1,0842'", 1),
		"a float":              strings.Replace(string(daily), "rate='1.0842'", "rate='1.0842e0'", 1),
		"a zero rate":          strings.Replace(string(daily), "rate='1.0842'", "rate='0.0000'", 1),
		"a currency twice":     strings.Replace(string(daily), "currency='JPY'", "currency='USD'", 1),
		"a bad date":           strings.Replace(string(daily), "2026-04-08", "2026-04-31", 1),
		"a day without a date": strings.Replace(string(daily), "time='2026-04-08'", "", 1),
	} {
		t.Run(name, func(t *testing.T) {
			srv := newECBServer(t)
			srv.serveBytes("eurofxref-daily.xml", []byte(body))
			e, clk := newECB(t, srv, afterPublication)
			_, err := e.Rate(t.Context(), "USD", "EUR", afterPublication)
			require.Error(t, err)
			assert.NotErrorIs(t, err, payments.ErrNoRate, "a broken feed is an error the Service logs")
			assert.True(t, strings.HasPrefix(err.Error(), "rates: ecb: eurofxref-daily.xml: "), err.Error())

			_, again := e.Rate(t.Context(), "USD", "EUR", afterPublication)
			assert.Equal(t, err, again, "the failure is remembered for the refresh interval")
			assert.Equal(t, 1, srv.count("eurofxref-daily.xml"))

			srv.serve("eurofxref-daily.xml", "eurofxref-daily.xml")
			clk.set(afterPublication.Add(rates.DefaultECBRefresh))
			r, err := e.Rate(t.Context(), "USD", "EUR", afterPublication)
			require.NoError(t, err)
			assert.Equal(t, "0.922339051835", r.Value)
		})
	}
}

func TestECBUnavailable(t *testing.T) {
	srv := newECBServer(t)
	srv.fail("eurofxref-daily.xml", http.StatusServiceUnavailable)
	e, _ := newECB(t, srv, afterPublication)
	_, err := e.Rate(t.Context(), "USD", "EUR", afterPublication)
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrNoRate)
	assert.Contains(t, err.Error(), "HTTP 503")

	// A caller that gives up does not hold the others back.
	srv.serve("eurofxref-daily.xml", "eurofxref-daily.xml")
	e, _ = newECB(t, srv, afterPublication)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err = e.Rate(ctx, "USD", "EUR", afterPublication)
	require.ErrorIs(t, err, context.Canceled)
	r, err := e.Rate(t.Context(), "USD", "EUR", afterPublication)
	require.NoError(t, err)
	assert.Equal(t, "0.922339051835", r.Value)
}

func TestECBConcurrentUse(t *testing.T) {
	srv := newECBServer(t)
	e, _ := newECB(t, srv, afterPublication)
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			at := afterPublication.AddDate(0, 0, -i)
			_, err := e.Rate(t.Context(), "JPY", "USD", at)
			assert.NoError(t, err, at)
		})
	}
	wg.Wait()
	// Which of the two files comes first depends on the scheduling; each
	// comes at most once.
	assert.LessOrEqual(t, srv.count("eurofxref-daily.xml"), 1)
	assert.Equal(t, 1, srv.count("eurofxref-hist-90d.xml"))
}

func TestNewECB(t *testing.T) {
	for _, u := range []string{"ftp://www.ecb.europa.eu/", "/stats/eurofxref/", "https://", "::"} {
		_, err := rates.NewECB(rates.ECBConfig{URL: u})
		assert.ErrorIs(t, err, payments.ErrInvalidInput, u)
	}
	e, err := rates.NewECB(rates.ECBConfig{})
	require.NoError(t, err)
	var _ payments.RateSource = e
}

// TestECBRateConverts: a cross rate is a rate payments.Convert takes as it
// is.
func TestECBRateConverts(t *testing.T) {
	e, _ := newECB(t, newECBServer(t), afterPublication)
	ctx := t.Context()
	r, err := e.Rate(ctx, "JPY", "USD", afterPublication)
	require.NoError(t, err)
	m, err := payments.Convert(payments.Money{Amount: 10000, Currency: "JPY"}, r.Value, "USD")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 6671, Currency: "USD"}, m, "¥10000 at 0.00667076847351 is $66.7076847351")
}
