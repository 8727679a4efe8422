package admin_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/admin"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// prefix is where the tests mount the pages, so that every test also checks
// that links, forms and redirects stay under it.
const prefix = "/ops"

// env is a host app: a Service over the memory store with the Fake gateway,
// its webhooks and the admin pages under prefix, served over real HTTP.
type env struct {
	svc    *payments.Service
	fake   *gatewaytest.Fake
	srv    *httptest.Server
	client *http.Client
}

func newEnv(t *testing.T, opts admin.Options, svcOpts ...payments.Option) *env {
	t.Helper()
	fake := gatewaytest.NewFake("whsec_admin_test")
	svc, err := payments.New(memory.New(), append([]payments.Option{payments.WithGateway(fake)}, svcOpts...)...)
	require.NoError(t, err)
	opts.Prefix = prefix
	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	mux.Handle(prefix+"/", http.StripPrefix(prefix, admin.Handler(svc, opts)))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &env{svc: svc, fake: fake, srv: srv, client: client}
}

// deliver hands the Service a Fake-signed notification, as the webhook would.
func (e *env) deliver(t *testing.T, ev gatewaytest.Event) *payments.WebhookResult {
	t.Helper()
	res, err := e.svc.HandleWebhook(t.Context(), "fake", e.fake.Request(ev, time.Now()))
	require.NoError(t, err)
	return res
}

func charge(id, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: id, Type: "payment.succeeded", PaymentID: "fp_" + id, Account: account, Amount: amount, Currency: "USD"}
}

// response is what a request answered, body read.
type response struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (e *env) do(t *testing.T, req *http.Request) response {
	t.Helper()
	resp, err := e.client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: string(body), location: resp.Header.Get("Location")}
}

func (e *env) get(t *testing.T, path string) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	return e.do(t, req)
}

// post submits a form; header adds or overrides request headers.
func (e *env) post(t *testing.T, path string, form url.Values, header http.Header) response {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+path, strings.NewReader(form.Encode()))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for k, v := range header {
		req.Header[k] = v
	}
	return e.do(t, req)
}

// cookieToken reads the CSRF token from the client's cookie jar, which a
// page without forms fills too.
func (e *env) cookieToken(t *testing.T) string {
	t.Helper()
	u, err := url.Parse(e.srv.URL + prefix + "/")
	require.NoError(t, err)
	for _, c := range e.client.Jar.Cookies(u) {
		if c.Name == "payments_admin_csrf" {
			return c.Value
		}
	}
	t.Fatal("no CSRF cookie: visit a page first")
	return ""
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token reads the CSRF token from a page's form (the client's jar keeps the
// cookie the page set).
func token(t *testing.T, page response) string {
	t.Helper()
	m := csrfField.FindStringSubmatch(page.body)
	require.NotNil(t, m, "the page has a form with a token")
	return m[1]
}

// parkedID parks money without an account and returns its journal row.
func (e *env) parkedID(t *testing.T, eventID, amount string) string {
	t.Helper()
	res := e.deliver(t, charge(eventID, "", amount))
	require.Equal(t, payments.OutcomeParked, res.Notification.Outcome)
	return res.Notification.ID
}

func (e *env) unresolvedParked(t *testing.T) []payments.Notification {
	t.Helper()
	rows, _, err := e.svc.Notifications(t.Context(), payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	require.NoError(t, err)
	return rows
}

// assertSecurityHeaders checks what every answer carries.
func assertSecurityHeaders(t *testing.T, r response) {
	t.Helper()
	csp := r.header.Get("Content-Security-Policy")
	assert.Contains(t, csp, "default-src 'none'")
	assert.Contains(t, csp, "style-src 'self'")
	assert.Contains(t, csp, "frame-ancestors 'none'")
	assert.NotContains(t, csp, "unsafe-inline")
	assert.NotContains(t, csp, "script-src", "no script is allowed at all (default-src 'none')")
	assert.Equal(t, "DENY", r.header.Get("X-Frame-Options"))
	assert.Equal(t, "no-referrer", r.header.Get("Referrer-Policy"))
	assert.Equal(t, "nosniff", r.header.Get("X-Content-Type-Options"))
}

var inlineStyleOrScript = regexp.MustCompile(`(?i)<script|<style|\sstyle=|\son[a-z]+=`)

// TestEveryPageRenders visits each page with data in it: each answers 200,
// carries the security headers, has no inline script or style (which the
// CSP would block), and shows what it is for.
func TestEveryPageRenders(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	e := newEnv(t, admin.Options{Actions: true}, payments.WithPostbacks(payments.PostbackOptions{Allow: loopback}))
	ep, err := e.svc.AddEndpoint(t.Context(), payments.Endpoint{URL: rcv.URL, Owner: "merchant-1"})
	require.NoError(t, err)
	parked := e.parkedID(t, "evt_parked", "12.00")
	e.deliver(t, charge("evt_amy", "amy", "5.00"))
	_, err = e.svc.DeliverPostbacks(t.Context())
	require.NoError(t, err)
	deliveries, _, err := e.svc.Deliveries(t.Context(), payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	require.NotEmpty(t, deliveries)
	msg := deliveries[0].Message.ID

	for _, tc := range []struct {
		path string
		want []string
	}{
		{"/", []string{"Waiting on you", "Parked notifications", `<svg class="chart"`, "fake: 5.00 USD"}},
		{"/journal", []string{"evt_parked", "evt_amy", `href="/ops/journal/` + parked + `"`}},
		{"/journal/" + parked, []string{"evt_parked", "X-Fake-Signature", "Attribute this money", `action="/ops/journal/` + parked + `/attribute"`}},
		{"/parked", []string{"evt_parked", `name="account"`, `name="csrf"`}},
		{"/entries", []string{"amy", "5.00 USD", "charge"}},
		{"/balances?account=amy", []string{"5.00 USD", `href="/ops/entries?account=amy"`}},
		{"/balances", []string{"name an account"}},
		{"/sync", []string{"amy", "pending"}},
		{"/postbacks", []string{ep.ID, msg, "merchant-1"}},
		{"/postbacks/" + msg + "/" + ep.ID, []string{"503", "Redeliver now"}},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := e.get(t, prefix+tc.path)
			require.Equal(t, http.StatusOK, r.status, r.body)
			assert.Equal(t, "text/html; charset=utf-8", r.header.Get("Content-Type"))
			assertSecurityHeaders(t, r)
			assert.NotRegexp(t, inlineStyleOrScript, r.body)
			assert.Contains(t, r.body, `href="/ops/static/admin.css"`, "the stylesheet is linked under the prefix")
			for _, w := range tc.want {
				assert.Contains(t, r.body, w)
			}
			for _, href := range regexp.MustCompile(`(?:href|action)="([^"]*)"`).FindAllStringSubmatch(r.body, -1) {
				assert.True(t, strings.HasPrefix(href[1], prefix+"/"), "link %q stays under the prefix", href[1])
			}
		})
	}
}

func TestStylesheetAndMountRedirect(t *testing.T) {
	e := newEnv(t, admin.Options{})
	css := e.get(t, prefix+"/static/admin.css")
	require.Equal(t, http.StatusOK, css.status)
	assert.Equal(t, "text/css; charset=utf-8", css.header.Get("Content-Type"))
	assert.Contains(t, css.body, "svg.chart")
	assertSecurityHeaders(t, css)

	// The mux redirects "/ops" to "/ops/" itself; a host that strips the
	// prefix of an exact "/ops" route reaches the handler with an empty
	// path, which the handler sends to the overview under the prefix.
	h := admin.Handler(e.svc, admin.Options{Prefix: prefix + "/"})
	rec := httptest.NewRecorder()
	http.StripPrefix(prefix, h).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, prefix, nil))
	assert.Equal(t, http.StatusSeeOther, rec.Code)
	assert.Equal(t, prefix+"/", rec.Header().Get("Location"))

	missing := e.get(t, prefix+"/journal/ntf_nope")
	assert.Equal(t, http.StatusNotFound, missing.status)
	assertSecurityHeaders(t, missing)
	assert.Equal(t, http.StatusNotFound, e.get(t, prefix+"/nope").status)
	assert.Equal(t, http.StatusMethodNotAllowed, e.get(t, prefix+"/sync/ent_x/requeue").status)
}

func TestJournalFilters(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.parkedID(t, "evt_parked", "12.00")
	e.deliver(t, charge("evt_recorded", "amy", "5.00"))
	e.deliver(t, charge("evt_recorded", "amy", "5.00")) // a duplicate

	for _, tc := range []struct {
		query      string
		want, skip []string
	}{
		{"", []string{"evt_parked", "evt_recorded", "duplicate"}, nil},
		{"?outcome=parked", []string{"evt_parked"}, []string{"evt_recorded"}},
		{"?outcome=duplicate", []string{"evt_recorded"}, []string{"evt_parked"}},
		{"?outcome=parked&unresolved=1", []string{"evt_parked"}, []string{"evt_recorded"}},
		{"?gateway=fake&outcome=recorded", []string{"evt_recorded"}, []string{"evt_parked"}},
		{"?gateway=other", nil, []string{"evt_parked", "evt_recorded"}},
	} {
		r := e.get(t, prefix+"/journal"+tc.query)
		require.Equal(t, http.StatusOK, r.status, tc.query)
		for _, w := range tc.want {
			assert.Contains(t, r.body, w, tc.query)
		}
		for _, s := range tc.skip {
			assert.NotContains(t, r.body, s, tc.query)
		}
	}
	r := e.get(t, prefix+"/journal?outcome=parked&unresolved=1")
	assert.Contains(t, r.body, `<option value="parked" selected>`, "the filter form shows the filter")
	assert.Contains(t, r.body, `name="unresolved" value="1" checked`)

	assert.Equal(t, http.StatusBadRequest, e.get(t, prefix+"/journal?outcome=bogus").status)
	assert.Equal(t, http.StatusBadRequest, e.get(t, prefix+"/journal?unresolved=maybe").status)
	assert.Equal(t, http.StatusBadRequest, e.get(t, prefix+"/journal?after=not-a-cursor").status, "a cursor the Store did not issue")
	assert.Equal(t, http.StatusBadRequest, e.get(t, prefix+"/sync?state=bogus").status)
	assert.Equal(t, http.StatusBadRequest, e.get(t, prefix+"/postbacks?state=bogus").status)
}

var nextLink = regexp.MustCompile(`href="([^"]*)" rel="next"`)

// pages follows Next links from path and returns each page's body.
func (e *env) pages(t *testing.T, path string) []string {
	t.Helper()
	var bodies []string
	for path != "" && len(bodies) < 10 {
		r := e.get(t, path)
		require.Equal(t, http.StatusOK, r.status, r.body)
		bodies = append(bodies, r.body)
		path = ""
		if m := nextLink.FindStringSubmatch(r.body); m != nil {
			path = strings.ReplaceAll(m[1], "&amp;", "&")
		}
	}
	return bodies
}

func TestJournalAndEntriesPage(t *testing.T) {
	e := newEnv(t, admin.Options{PageSize: 2})
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		e.deliver(t, charge(id, "amy", "1.00"))
	}
	e.deliver(t, charge("evt_bob", "bob", "2.00"))

	journal := e.pages(t, prefix+"/journal?gateway=fake")
	require.Len(t, journal, 2, "four rows, two a page")
	assert.Contains(t, journal[1], "« First page")
	assert.Contains(t, journal[1], `href="/ops/journal?gateway=fake"`, "the first-page link keeps the filter")
	seen := 0
	for _, id := range []string{"evt_1", "evt_2", "evt_3", "evt_bob"} {
		for _, body := range journal {
			if strings.Contains(body, id) {
				seen++
			}
		}
	}
	assert.Equal(t, 4, seen, "every row on exactly one page")
	assert.Contains(t, journal[0], "evt_bob", "newest first")

	entries := e.pages(t, prefix+"/entries?account=amy")
	require.Len(t, entries, 2, "three of amy's entries, two a page")
	assert.Contains(t, entries[0], "fp_evt_1", "oldest first")
	assert.Contains(t, entries[1], "fp_evt_3")
	for _, body := range entries {
		assert.NotContains(t, body, "bob", "the account filter holds across pages")
	}
	assert.Contains(t, nextLink.FindStringSubmatch(e.get(t, prefix+"/entries?account=amy").body)[1], "account=amy")

	byGateway := e.get(t, prefix+"/entries?gateway=other")
	assert.Contains(t, byGateway.body, "No entries match.")
}

// TestNotificationBodyIsEscaped sends a body that would run script if it
// were not escaped, unsigned and over the journal's prefix: the page shows it
// as text and says how much of it the journal kept.
func TestNotificationBodyIsEscaped(t *testing.T) {
	e := newEnv(t, admin.Options{Actions: true})
	body := `{"id":"evt_x","note":"<script>alert(1)</script><img src=x onerror=alert(2)>"}` + strings.Repeat(" ", payments.UnverifiedBodyPrefix)
	res, err := e.svc.HandleWebhook(t.Context(), "fake", &payments.WebhookRequest{
		Header: http.Header{"X-Fake-Signature": {"t=1,v1=00"}}, Body: []byte(body), ReceivedAt: time.Now(),
	})
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	r := e.get(t, prefix+"/journal/"+res.Notification.ID)
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, r.body, "<script>alert")
	assert.NotContains(t, r.body, "<img src=x")
	assert.Contains(t, r.body, "&lt;script&gt;alert(1)&lt;/script&gt;")
	assert.Contains(t, r.body, "keeps only the first 4096 bytes")
	assert.Contains(t, r.body, "4096 of "+strconv.Itoa(len(body))+" bytes")
	assert.Contains(t, r.body, res.Notification.BodySHA256)
	assert.NotContains(t, r.body, "Attribute this money", "an unverified row cannot be attributed")
	assert.NotContains(t, r.body, ">Replay<")
}

func TestBalancesLookup(t *testing.T) {
	e := newEnv(t, admin.Options{})
	e.deliver(t, charge("evt_1", "amy", "5.00"))
	e.deliver(t, gatewaytest.Event{ID: "evt_2", Type: "payment.succeeded", PaymentID: "fp_2", Account: "amy", Amount: "300", Currency: "JPY"})
	r := e.get(t, prefix+"/balances?account=amy")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "5.00 USD")
	assert.Contains(t, r.body, "300 JPY")
	assert.Less(t, strings.Index(r.body, "300 JPY"), strings.Index(r.body, "5.00 USD"), "ordered by currency")
	assert.Contains(t, e.get(t, prefix+"/balances?account=nobody").body, "has no entries")
	assert.Contains(t, e.get(t, prefix+"/balances?account=%3Cb%3E").body, "&lt;b&gt;", "the account is escaped")
}

// TestChartWindowAndScanLimit: the chart counts the days Options.Now ends,
// and says so when the ledger is larger than it reads.
func TestChartWindowAndScanLimit(t *testing.T) {
	e := newEnv(t, admin.Options{})
	for _, id := range []string{"evt_1", "evt_2", "evt_3"} {
		e.deliver(t, charge(id, "amy", "1.00"))
	}
	r := e.get(t, prefix+"/")
	assert.Contains(t, r.body, "fake: 3.00 USD", "one day's charges summed per gateway")
	assert.NotContains(t, r.body, "may miss recent days")

	later := newEnvOver(t, e.svc, admin.Options{Now: func() time.Time { return time.Now().AddDate(0, 0, 30) }, ChartDays: 7})
	assert.Contains(t, later.get(t, "/").body, "No charges recorded in these days.", "a month later the window is empty")

	limited := newEnvOver(t, e.svc, admin.Options{ChartScanLimit: 2})
	body := limited.get(t, "/").body
	assert.Contains(t, body, "more than 2 entries")
	assert.Contains(t, body, "fake: 2.00 USD", "drawn from the entries it read")
}

// newEnvOver serves another admin handler over svc, at the root.
func newEnvOver(t *testing.T, svc *payments.Service, opts admin.Options) *env {
	t.Helper()
	srv := httptest.NewServer(admin.Handler(svc, opts))
	t.Cleanup(srv.Close)
	return &env{svc: svc, srv: srv, client: srv.Client()}
}
