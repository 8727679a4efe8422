package admin_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/admin"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// newReceiver is a merchant's postback endpoint that answers status.
func newReceiver(t *testing.T, status int) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestRequeueParkedSync: an entry the host's BalanceService refused for
// good is parked in the outbox; the page lists it with a requeue form, and
// the form makes it pending again.
func TestRequeueParkedSync(t *testing.T) {
	var refuse atomic.Bool
	refuse.Store(true)
	apply := payments.BalanceFunc(func(context.Context, payments.Entry) error {
		if refuse.Load() {
			return payments.Permanent(errors.New("no such user"))
		}
		return nil
	})
	e := newEnv(t, admin.Options{Actions: true}, payments.WithBalanceService(apply))
	e.deliver(t, charge("evt_1", "amy", "5.00"))
	e.deliver(t, charge("evt_2", "bob", "6.00"))
	refuse.Store(false)
	e.deliver(t, charge("evt_3", "cy", "7.00"))

	page := e.get(t, prefix+"/sync?state=parked")
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.body, "no such user")
	assert.Contains(t, page.body, "amy")
	assert.NotContains(t, page.body, ">cy<", "the state filter holds")
	done := e.get(t, prefix+"/sync?state=done")
	assert.Contains(t, done.body, ">cy<")
	assert.NotContains(t, done.body, "Requeue", "only parked tasks can be requeued")

	tasks, _, err := e.svc.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	require.Len(t, tasks, 2)
	entry := tasks[0].Entry.ID
	require.Contains(t, page.body, `action="/ops/sync/`+entry+`/requeue"`)

	r := e.post(t, prefix+"/sync/"+entry+"/requeue", url.Values{"csrf": {token(t, page)}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	after := e.get(t, r.location)
	assert.Contains(t, after.body, "Requeued sync task "+entry)
	tasks, _, err = e.svc.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	require.Len(t, tasks, 1, "one left parked")
	assert.NotEqual(t, entry, tasks[0].Entry.ID)

	again := e.post(t, prefix+"/sync/"+entry+"/requeue", url.Values{"csrf": {token(t, page)}}, nil)
	assert.Equal(t, http.StatusConflict, again.status, "a task that is not parked")

	// Requeue is its own grant.
	ro := newEnv(t, admin.Options{Authorize: func(_ *http.Request, a string) bool { return a == admin.ActionAttribute }},
		payments.WithBalanceService(payments.BalanceFunc(func(context.Context, payments.Entry) error {
			return payments.Permanent(errors.New("no"))
		})))
	ro.deliver(t, charge("evt_1", "amy", "5.00"))
	roPage := ro.get(t, prefix+"/sync?state=parked")
	assert.NotContains(t, roPage.body, "Requeue")
	tasks, _, err = ro.svc.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	r = ro.post(t, prefix+"/sync/"+tasks[0].Entry.ID+"/requeue", url.Values{"csrf": {ro.cookieToken(t)}}, nil)
	assert.Equal(t, http.StatusForbidden, r.status)
	tasks, _, err = ro.svc.SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncParked})
	require.NoError(t, err)
	assert.Len(t, tasks, 1, "still parked")
}

// TestPostbackDeliveriesAndRedeliver lists deliveries by endpoint and state,
// shows a delivery's attempts, and redelivers it.
func TestPostbackDeliveriesAndRedeliver(t *testing.T) {
	rcv := newReceiver(t, http.StatusServiceUnavailable)
	e := newEnv(t, admin.Options{Actions: true}, payments.WithPostbacks(payments.PostbackOptions{Allow: loopback}))
	ep, err := e.svc.AddEndpoint(t.Context(), payments.Endpoint{URL: rcv.URL, Events: []payments.EventType{payments.EventEntryRecorded}})
	require.NoError(t, err)
	e.deliver(t, charge("evt_1", "amy", "5.00"))
	_, err = e.svc.DeliverPostbacks(t.Context())
	require.NoError(t, err)
	list, _, err := e.svc.Deliveries(t.Context(), payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	require.Len(t, list, 1)
	d := list[0]
	require.False(t, d.NextAttempt.IsZero())

	page := e.get(t, prefix+"/postbacks?endpoint="+ep.ID+"&state=pending")
	require.Equal(t, http.StatusOK, page.status)
	assert.Contains(t, page.body, d.Message.ID)
	assert.Contains(t, page.body, "entry.recorded")
	assert.Contains(t, page.body, `<option value="`+ep.ID+`" selected>`)
	assert.NotContains(t, e.get(t, prefix+"/postbacks?state=delivered").body, d.Message.ID)

	attempts := e.get(t, prefix+"/postbacks/"+d.Message.ID+"/"+ep.ID)
	require.Equal(t, http.StatusOK, attempts.status)
	assert.Contains(t, attempts.body, "<td>503</td>")
	r := e.post(t, prefix+"/postbacks/"+d.Message.ID+"/"+ep.ID+"/redeliver", url.Values{"csrf": {token(t, attempts)}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Contains(t, e.get(t, r.location).body, "Redelivery queued")
	list, _, err = e.svc.Deliveries(t.Context(), payments.DeliveryFilter{EndpointID: ep.ID})
	require.NoError(t, err)
	assert.True(t, list[0].NextAttempt.Before(d.NextAttempt), "due now, before its scheduled retry")

	assert.Equal(t, http.StatusForbidden,
		e.post(t, prefix+"/postbacks/"+d.Message.ID+"/"+ep.ID+"/redeliver", url.Values{}, nil).status, "no token")
}

func TestPostbacksOff(t *testing.T) {
	e := newEnv(t, admin.Options{})
	r := e.get(t, prefix+"/postbacks")
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, r.body, "Postbacks are off")
	assert.Equal(t, http.StatusNotImplemented, e.get(t, prefix+"/postbacks/msg_x/ep_x").status)
}

// TestAttributeThroughTheForm credits parked money from the page: the
// answer sends the operator to the account's balances, which show it, and
// the parked row is resolved.
func TestAttributeThroughTheForm(t *testing.T) {
	e := newEnv(t, admin.Options{Actions: true})
	id := e.parkedID(t, "evt_parked", "12.00")
	tok := token(t, e.get(t, prefix+"/parked"))

	r := e.post(t, prefix+"/journal/"+id+"/attribute", url.Values{"csrf": {tok}, "account": {"user-7"}, "reference": {"order:1:a"}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assertSecurityHeaders(t, r)
	loc, err := url.Parse(r.location)
	require.NoError(t, err)
	assert.Equal(t, prefix+"/balances", loc.Path)
	assert.Equal(t, "user-7", loc.Query().Get("account"))

	page := e.get(t, r.location)
	assert.Contains(t, page.body, "Attributed notification "+id+": recorded.")
	assert.Contains(t, page.body, "12.00 USD")
	bal, err := e.svc.Balance(t.Context(), "user-7", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1200), bal.Money.Amount)
	assert.Empty(t, e.unresolvedParked(t))

	// The same form again records nothing twice; another account is 409.
	r = e.post(t, prefix+"/journal/"+id+"/attribute", url.Values{"csrf": {tok}, "account": {"user-7"}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Contains(t, r.location, "outcome=duplicate")
	r = e.post(t, prefix+"/journal/"+id+"/attribute", url.Values{"csrf": {tok}, "account": {"user-8"}}, nil)
	assert.Equal(t, http.StatusConflict, r.status)
	r = e.post(t, prefix+"/journal/"+id+"/attribute", url.Values{"csrf": {tok}, "account": {"  "}}, nil)
	assert.Equal(t, http.StatusBadRequest, r.status)
	bal, err = e.svc.Balance(t.Context(), "user-7", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1200), bal.Money.Amount, "credited once")
}

func TestReplayThroughTheForm(t *testing.T) {
	e := newEnv(t, admin.Options{Actions: true})
	id := e.parkedID(t, "evt_parked", "3.00")
	// The payment becomes known with an account: a replay now records it.
	e.deliver(t, gatewaytest.Event{ID: "evt_pending", Type: "payment.pending", PaymentID: "fp_evt_parked", Account: "amy"})
	page := e.get(t, prefix+"/journal/"+id)
	require.Contains(t, page.body, `action="/ops/journal/`+id+`/replay"`)
	r := e.post(t, prefix+"/journal/"+id+"/replay", url.Values{"csrf": {token(t, page)}}, nil)
	require.Equal(t, http.StatusSeeOther, r.status, r.body)
	replay := e.get(t, r.location)
	assert.Contains(t, replay.body, "Replayed: recorded.")
	assert.Contains(t, replay.body, "Replay of")
	bal, err := e.svc.Balance(t.Context(), "amy", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(300), bal.Money.Amount)
}

// TestActionsAreRefused tries each way a POST can be illegitimate; each is
// 403 and leaves the parked money where it was.
func TestActionsAreRefused(t *testing.T) {
	for _, tc := range []struct {
		name   string
		opts   admin.Options
		noTok  bool
		badTok bool
		header http.Header
		why    string
	}{
		{name: "no grant", opts: admin.Options{}, why: "not granted"},
		{name: "Authorize refuses", opts: admin.Options{Actions: true, Authorize: func(r *http.Request, action string) bool { return action != admin.ActionAttribute }}, why: "not granted"},
		{name: "no token", opts: admin.Options{Actions: true}, noTok: true, why: "form token"},
		{name: "wrong token", opts: admin.Options{Actions: true}, badTok: true, why: "form token"},
		{name: "foreign Origin", opts: admin.Options{Actions: true}, header: http.Header{"Origin": {"https://evil.example"}}, why: "cross-origin"},
		{name: "cross-site fetch", opts: admin.Options{Actions: true}, header: http.Header{"Sec-Fetch-Site": {"cross-site"}}, why: "cross-origin"},
		{name: "same-site but not same-origin", opts: admin.Options{Actions: true}, header: http.Header{"Sec-Fetch-Site": {"same-site"}}, why: "cross-origin"},
		{name: "foreign Origin despite same-origin fetch", opts: admin.Options{Actions: true}, header: http.Header{"Sec-Fetch-Site": {"same-origin"}, "Origin": {"https://evil.example"}}, why: "cross-origin"},
		{name: "foreign Referer behind a null Origin", opts: admin.Options{Actions: true}, header: http.Header{"Origin": {"null"}, "Referer": {"https://evil.example/page"}}, why: "cross-origin"},
		{name: "foreign Referer", opts: admin.Options{Actions: true}, header: http.Header{"Referer": {"https://evil.example/page"}}, why: "cross-origin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, tc.opts)
			id := e.parkedID(t, "evt_parked", "12.00")
			// A page that offers no form still issues the token cookie.
			page := e.get(t, prefix+"/journal/"+id)
			require.Equal(t, http.StatusOK, page.status)
			tok := e.cookieToken(t)
			form := url.Values{"account": {"mallory"}}
			switch {
			case tc.badTok:
				form.Set("csrf", strings.Repeat("A", len(tok)))
			case !tc.noTok:
				form.Set("csrf", tok)
			}
			r := e.post(t, prefix+"/journal/"+id+"/attribute", form, tc.header)
			assert.Equal(t, http.StatusForbidden, r.status, r.body)
			assert.Contains(t, r.body, tc.why, "refused for the reason the case is about")
			assertSecurityHeaders(t, r)
			assert.Len(t, e.unresolvedParked(t), 1, "still parked")
			bal, err := e.svc.Balances(t.Context(), "mallory")
			require.NoError(t, err)
			assert.Empty(t, bal)
		})
	}
}

// TestReadOnlyPagesOfferNoForms: without a grant the pages show no action.
func TestReadOnlyPagesOfferNoForms(t *testing.T) {
	e := newEnv(t, admin.Options{})
	id := e.parkedID(t, "evt_parked", "12.00")
	for _, p := range []string{"/parked", "/journal/" + id, "/sync"} {
		r := e.get(t, prefix+p)
		require.Equal(t, http.StatusOK, r.status)
		assert.NotContains(t, r.body, `method="post"`, p)
	}
}

// TestTokenCookie: the CSRF cookie is per session, HttpOnly, SameSite=Strict,
// scoped to the prefix, and kept across pages.
func TestTokenCookie(t *testing.T) {
	e := newEnv(t, admin.Options{Actions: true})
	r := e.get(t, prefix+"/parked")
	cookies := (&http.Response{Header: r.header}).Cookies()
	require.Len(t, cookies, 1)
	c := cookies[0]
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteStrictMode, c.SameSite)
	assert.Equal(t, prefix, c.Path)
	assert.Zero(t, c.MaxAge, "a session cookie")
	assert.True(t, c.Expires.IsZero())
	assert.False(t, c.Secure, "plain HTTP in the test")
	again := e.get(t, prefix+"/sync")
	assert.Empty(t, again.header.Values("Set-Cookie"), "the session keeps its token")

	tls := newEnvTLS(t)
	resp, err := tls.Client().Get(tls.URL + "/")
	require.NoError(t, err)
	resp.Body.Close()
	require.NotEmpty(t, resp.Cookies())
	assert.True(t, resp.Cookies()[0].Secure, "Secure over TLS")
}

func newEnvTLS(t *testing.T) *httptest.Server {
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("s")))
	require.NoError(t, err)
	srv := httptest.NewTLSServer(admin.Handler(svc, admin.Options{}))
	t.Cleanup(srv.Close)
	return srv
}

func TestTrustedOrigin(t *testing.T) {
	e := newEnv(t, admin.Options{Actions: true, TrustedOrigins: []string{"https://ops.example.com"}})
	id := e.parkedID(t, "evt_parked", "1.00")
	tok := token(t, e.get(t, prefix+"/parked"))
	r := e.post(t, prefix+"/journal/"+id+"/attribute", url.Values{"csrf": {tok}, "account": {"amy"}},
		http.Header{"Origin": {"https://ops.example.com"}, "Sec-Fetch-Site": {"cross-site"}})
	assert.Equal(t, http.StatusSeeOther, r.status, r.body)
	assert.Panics(t, func() { admin.Handler(e.svc, admin.Options{TrustedOrigins: []string{"not an origin"}}) })
}
