package gate_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// The whole flow: init, the wrapper redirects to the gateway, the gateway's
// webhook lands, the return page sends the customer to successUrl, and the
// merchant receives one signed postback.
func TestFlowInitPayWebhookReturnPostback(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.PostbackAllow, c.Interval, c.SweepEvery = loopback, 10*time.Millisecond, time.Hour
	})
	ctx := t.Context()
	recv := newReceiver(t, e.secret)
	go func() { _ = e.gate.Run(ctx) }()

	req := body(func(b map[string]any) { b["postbackUrl"] = recv.URL + "/postback" })
	first := e.init(e.token, req)
	require.Equal(t, http.StatusOK, first.code, first.body)
	assert.Equal(t, "success", first.json["status"])
	id, _ := first.json["id"].(string)
	require.Regexp(t, `^gp_[0-9a-f]{32}$`, id)
	assert.Equal(t, base+"/pay?id="+id, first.json["url"])

	// The same request, spelled differently, is the same payment.
	req["amount"], req["currency"] = "10.5", "usd"
	again := e.init(e.token, req)
	require.Equal(t, http.StatusOK, again.code, again.body)
	assert.Equal(t, first.json, again.json, "the same body answers the same")
	assert.Equal(t, int32(1), e.store.created.Load(), "one payment for one (merchant, id)")

	pay := e.get(first.json["url"].(string))
	require.Equal(t, http.StatusSeeOther, pay.code, pay.body)
	assert.Equal(t, "https://fake.invalid/pay/fp_1", pay.header.Get("Location"))

	rec, err := e.records.Record(ctx, id)
	require.NoError(t, err)
	p, err := e.svc.Payment(ctx, rec.PaymentID)
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 1050, Currency: "USD"}, p.Amount)
	assert.Equal(t, "m1", p.Account, "the merchant is the ledger account")

	// Back before the webhook: the page waits and says so; the return is
	// no proof of payment.
	wait := e.get(base + "/success?id=" + id)
	require.Equal(t, http.StatusOK, wait.code)
	assert.Contains(t, wait.body, `<noscript><meta http-equiv="refresh"`, "without script the page reloads itself")
	assert.Contains(t, wait.body, `new EventSource(events)`)
	assert.Contains(t, wait.body, base+"/events/"+rec.PaymentID+"?token=", "with script it follows the stream")
	assert.Equal(t, "no-referrer", wait.header.Get("Referrer-Policy"))
	st := e.get(base + "/status?id=" + id)
	assert.Equal(t, map[string]any{"status": "pending", "settled": false}, st.json)

	e.webhook(e.fake, gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})

	st = e.get(base + "/status?id=" + id)
	assert.Equal(t, map[string]any{"status": "succeeded", "settled": true}, st.json)
	done := e.get(base + "/success?id=" + id + "&n=1")
	require.Equal(t, http.StatusSeeOther, done.code, done.body)
	assert.Equal(t, "https://shop.example/ok", done.header.Get("Location"))
	// Paid, the wrapper no longer sends anyone to pay again.
	pay = e.get(first.json["url"].(string))
	assert.Equal(t, base+"/success?id="+id, pay.header.Get("Location"))

	require.Eventually(t, func() bool { got, _ := recv.received(); return len(got) == 1 }, 5*time.Second, 10*time.Millisecond)
	got, ids := recv.received()
	assert.Equal(t, string(gate.EventPaymentSucceeded), got[0]["type"])
	assert.Equal(t, map[string]any{"id": "order-1001", "paymentId": id, "merchantId": "m1", "status": "succeeded",
		"amount": "10.50", "currency": "USD", "gateway": "fake"}, got[0]["data"])
	assert.Regexp(t, `^msg_[0-9a-f]{32}$`, ids[0])

	// The webhook again, a sweep, more passes: still one postback.
	e.webhook(e.fake, gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})
	n, err := e.gate.Sweep(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	time.Sleep(50 * time.Millisecond)
	got, _ = recv.received()
	assert.Len(t, got, 1, "each status is posted once")
}

// A failure and the success of a retry are each posted once, in order; the
// sweep finds what the ledger holds without Run's subscription.
func TestPostbacksFollowLaterStatusesBySweep(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) { c.PostbackAllow = loopback })
	ctx := t.Context()
	recv := newReceiver(t, e.secret)
	a := e.init(e.token, body(func(b map[string]any) { b["postbackUrl"] = recv.URL }))
	require.Equal(t, http.StatusOK, a.code, a.body)

	e.webhook(e.fake, gatewaytest.Event{ID: "evt_f", Type: "payment.failed", PaymentID: "fp_1"})
	n, err := e.gate.Sweep(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	e.webhook(e.fake, gatewaytest.Event{ID: "evt_s", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})
	for range 2 {
		n, err = e.gate.Sweep(ctx)
		require.NoError(t, err)
	}
	// A payment's postbacks go one a pass, in the order they were queued.
	for want := range 2 {
		delivered, err := e.gate.DeliverPostbacks(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, delivered)
		got, _ := recv.received()
		assert.Len(t, got, want+1)
	}
	got, ids := recv.received()
	require.Len(t, got, 2)
	assert.Equal(t, string(gate.EventPaymentFailed), got[0]["type"])
	assert.Equal(t, string(gate.EventPaymentSucceeded), got[1]["type"])
	assert.NotEqual(t, ids[0], ids[1])
	delivered, err := e.gate.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Zero(t, delivered, "delivered postbacks are not sent again")
}

// A postback the merchant refuses is retried on the schedule.
func TestPostbackRetries(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) {
		c.PostbackAllow, c.PostbackSchedule = loopback, []time.Duration{time.Minute}
	})
	ctx := t.Context()
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(srv.Close)
	a := e.init(e.token, body(func(b map[string]any) { b["postbackUrl"] = srv.URL }))
	require.Equal(t, http.StatusOK, a.code, a.body)
	e.webhook(e.fake, gatewaytest.Event{ID: "evt_s", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})
	_, err := e.gate.Sweep(ctx)
	require.NoError(t, err)
	n, err := e.gate.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)
	n, _ = e.gate.DeliverPostbacks(ctx)
	assert.Zero(t, n, "not due before its retry")
	e.clock.Add(2 * time.Minute)
	n, err = e.gate.DeliverPostbacks(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	pbs, err := e.records.Postbacks(ctx, a.json["id"].(string))
	require.NoError(t, err)
	require.Len(t, pbs, 1)
	assert.Equal(t, gate.PostbackDelivered, pbs[0].State)
	assert.Equal(t, 2, pbs[0].Attempts)
}

func mustRecord(t *testing.T, e *env, id string) *gate.Record {
	t.Helper()
	rec, err := e.records.Record(t.Context(), id)
	require.NoError(t, err)
	return rec
}

// A merchant with several gateways and none requested: the customer
// chooses on the gate's page.
func TestChoicePage(t *testing.T) {
	e := newEnv(t, nil)
	token, _ := e.addMerchant("m2", "fake", "fake2")
	a := e.init(token, body(nil))
	require.Equal(t, http.StatusOK, a.code, a.body)
	assert.Zero(t, e.store.created.Load(), "no checkout before the customer chooses")
	id := a.json["id"].(string)

	page := e.get(a.json["url"].(string))
	require.Equal(t, http.StatusOK, page.code)
	assert.Contains(t, page.body, `value="fake"`)
	assert.Contains(t, page.body, `value="fake2"`)
	assert.Contains(t, page.body, "10.50 USD")

	choose := func(gw string) answer {
		form := url.Values{"id": {id}, "gateway": {gw}}
		req := httptest.NewRequest(http.MethodPost, base+"/pay", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		return e.do(req)
	}
	assert.Equal(t, http.StatusBadRequest, choose("stripe").code, "only the merchant's gateways")
	assert.Zero(t, e.store.created.Load())
	c := choose("fake2")
	require.Equal(t, http.StatusSeeOther, c.code, c.body)
	assert.Equal(t, base+"/pay?id="+id, c.header.Get("Location"))
	pay := e.get(c.header.Get("Location"))
	assert.Equal(t, "https://fake.invalid/pay/fp_1", pay.header.Get("Location"))
	assert.Equal(t, "fake2", mustRecord(t, e, id).Gateway)
	// A second choice changes nothing.
	choose("fake")
	assert.Equal(t, int32(1), e.store.created.Load())
}

func TestPagesForUnknownAndExpiredIDs(t *testing.T) {
	e := newEnv(t, nil)
	for _, u := range []string{"/pay?id=gp_00000000000000000000000000000000", "/pay?id=../../etc", "/pay", "/success?id=x", "/error?id=gp_zz"} {
		a := e.get(base + u)
		assert.Equal(t, http.StatusNotFound, a.code, u)
		assert.Contains(t, a.body, "This payment link is not valid.", u)
		assert.Equal(t, "text/html; charset=utf-8", a.header.Get("Content-Type"))
	}
	st := e.get(base + "/status?id=gp_00000000000000000000000000000000")
	assert.Equal(t, http.StatusNotFound, st.code)

	a := e.init(e.token, body(nil))
	require.Equal(t, http.StatusOK, a.code)
	e.clock.Add(25 * time.Hour)
	pay := e.get(a.json["url"].(string))
	assert.Equal(t, http.StatusGone, pay.code)
	assert.Contains(t, pay.body, "expired")
}

// Back at /error with no outcome in the ledger: after the wait the customer
// goes to errorUrl; an outcome in the ledger decides over the way back.
func TestReturnPagesFollowTheLedger(t *testing.T) {
	e := newEnv(t, nil)
	a := e.init(e.token, body(nil))
	require.Equal(t, http.StatusOK, a.code)
	id := a.json["id"].(string)
	w := e.get(base + "/error?id=" + id)
	assert.Equal(t, http.StatusOK, w.code)
	last := e.get(base + "/error?id=" + id + "&n=5")
	assert.Equal(t, http.StatusSeeOther, last.code)
	assert.Equal(t, "https://shop.example/fail", last.header.Get("Location"))

	e.webhook(e.fake, gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "fp_1", Amount: "10.50", Currency: "USD"})
	back := e.get(base + "/error?id=" + id)
	assert.Equal(t, "https://shop.example/ok", back.header.Get("Location"), "the ledger says paid")
}
