package gate_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
)

var eventsURL = regexp.MustCompile(`var events = "([^"]*)"`)

// stream opens a status stream through the gate's handler for at most d
// and returns what it sent.
func (e *env) stream(url string, d time.Duration) answer {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(e.t.Context(), d)
	defer cancel()
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, url, nil).WithContext(ctx))
	return answer{code: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// The return page's stream, served by the gate, follows the payment until
// an outcome — a failure is one for the gate's pages — and authorizes only
// the token it issued for that payment.
func TestReturnPageFollowsTheStatusStream(t *testing.T) {
	e := newEnv(t, func(c *gate.Config) { c.StreamKey = []byte("0123456789abcdef0123456789abcdef") })
	a := e.init(e.token, body(nil))
	require.Equal(t, http.StatusOK, a.code, a.body)
	id := a.json["id"].(string)

	page := e.get(base + "/error?id=" + id)
	require.Equal(t, http.StatusOK, page.code)
	m := eventsURL.FindStringSubmatch(page.body)
	require.Len(t, m, 2, page.body)
	events := m[1]
	assert.Contains(t, page.header.Get("Content-Security-Policy"), "connect-src 'self'", "the stream is the gate's own origin")

	open := e.stream(events, 300*time.Millisecond)
	require.Equal(t, http.StatusOK, open.code, open.body)
	assert.Equal(t, "text/event-stream", open.header.Get("Content-Type"))
	assert.Contains(t, open.body, `"status":"pending"`)
	assert.Contains(t, open.body, `"final":false`)

	rec := mustRecord(t, e, id)
	forged := e.stream(base+"/events/"+rec.PaymentID+"?token=AAAAAGsPHeYxgsGdL9S2b4cJMX2WsBOn1_jMJAKjs1fYxbptmp_gfQ", time.Second)
	assert.Equal(t, http.StatusUnauthorized, forged.code)
	assert.Equal(t, http.StatusUnauthorized, e.stream(base+"/events/"+rec.PaymentID, time.Second).code)

	e.webhook(e.fake, gatewaytest.Event{ID: "evt_f", Type: "payment.failed", PaymentID: "fp_1"})
	done := e.stream(events, 5*time.Second)
	assert.Contains(t, done.body, `"status":"failed"`)
	assert.Contains(t, done.body, `"final":true`, "a failure ends the return page's wait")

	back := e.get(base + "/error?id=" + id + "&n=1")
	assert.Equal(t, http.StatusSeeOther, back.code)
	assert.Equal(t, "https://shop.example/fail", back.header.Get("Location"))
}

// Before a checkout there is no payment to follow: the page only reloads.
func TestReturnPageWithoutPaymentHasNoStream(t *testing.T) {
	e := newEnv(t, nil)
	token, _ := e.addMerchant("m2", "fake", "fake2")
	a := e.init(token, body(nil))
	require.Equal(t, http.StatusOK, a.code, a.body)
	page := e.get(base + "/success?id=" + a.json["id"].(string))
	require.Equal(t, http.StatusOK, page.code)
	assert.Contains(t, page.body, `var events = ""`)
}

func TestStreamKeyTooShort(t *testing.T) {
	e := newEnv(t, nil)
	_, err := gate.New(e.svc, gate.Config{BaseURL: base, Merchants: e.merchants, Records: e.records, StreamKey: []byte("short")})
	assert.Error(t, err)
}
