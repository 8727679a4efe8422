package gate_test

import (
	"bytes"
	"context"
	"encoding/json"
	"html/template"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/internal/browsertest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// hostedFake is the Fake gateway with a hosted payment page: its checkouts
// send the customer to page, as a real gateway's do, and it remembers
// where to send the customer back.
type hostedFake struct {
	*gatewaytest.Fake
	page    string
	mu      sync.Mutex
	returns map[string]string // gateway id → the checkout's ReturnURL
}

func (f *hostedFake) CreateCheckout(ctx context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	c, err := f.Fake.CreateCheckout(ctx, req)
	if err != nil {
		return nil, err
	}
	c.RedirectURL = f.page + "/pay/" + c.GatewayID
	f.mu.Lock()
	f.returns[c.GatewayID] = req.ReturnURL
	f.mu.Unlock()
	return c, nil
}

func (f *hostedFake) returnURL(id string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.returns[id]
}

// counter counts the requests a handler serves by path.
type counter struct {
	mu   sync.Mutex
	hits map[string]int
}

func (c *counter) wrap(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		key := r.URL.Path
		if strings.HasPrefix(key, gate.PathEvents) {
			key = gate.PathEvents
		}
		c.hits[key]++
		c.mu.Unlock()
		h.ServeHTTP(w, r)
	})
}

func (c *counter) get(path string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.hits[path]
}

// merchantSite is the merchant's server: its postback endpoint verifies
// the gate's signature with the Standard Webhooks library, and its success
// page shows "paid" only for an order a verified postback said succeeded —
// the customer's return alone proves nothing.
type merchantSite struct {
	t      *testing.T
	secret string
	mu     sync.Mutex
	paid   map[string]bool
	got    chan struct{}
	*httptest.Server
}

func newMerchantSite(t *testing.T, secret string) *merchantSite {
	m := &merchantSite{t: t, secret: secret, paid: map[string]bool{}, got: make(chan struct{}, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /postback", m.postback)
	mux.HandleFunc("GET /ok", m.success)
	mux.HandleFunc("GET /fail", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, `<p id="result">failed</p>`) })
	m.Server = httptest.NewServer(mux)
	t.Cleanup(m.Close)
	return m
}

func (m *merchantSite) postback(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	wh, err := standardwebhooks.NewWebhook(m.secret)
	if !assert.NoError(m.t, err) || !assert.NoError(m.t, wh.Verify(body, r.Header), "the merchant verifies the postback") {
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	var msg struct {
		Type string `json:"type"`
		Data struct {
			ID     string `json:"id"`
			Amount string `json:"amount"`
		} `json:"data"`
	}
	if !assert.NoError(m.t, json.Unmarshal(body, &msg)) {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if msg.Type == string(gate.EventPaymentSucceeded) && msg.Data.Amount == "10.50" {
		m.mu.Lock()
		m.paid[msg.Data.ID] = true
		m.mu.Unlock()
		m.got <- struct{}{}
	}
	w.WriteHeader(http.StatusNoContent)
}

// success waits a little for the postback, as a merchant's page would
// show "confirming" until it comes.
func (m *merchantSite) success(w http.ResponseWriter, r *http.Request) {
	order := r.URL.Query().Get("order")
	deadline := time.After(10 * time.Second)
	for {
		m.mu.Lock()
		paid := m.paid[order]
		m.mu.Unlock()
		if paid {
			_, _ = io.WriteString(w, `<!doctype html><p id="result">paid `+template.HTMLEscapeString(order)+`</p>`)
			return
		}
		select {
		case <-m.got:
		case <-time.After(50 * time.Millisecond):
		case <-deadline:
			_, _ = io.WriteString(w, `<!doctype html><p id="result">unconfirmed</p>`)
			return
		case <-r.Context().Done():
			return
		}
	}
}

// waitFor evaluates expr in the page until it is true or timeout passes,
// across navigations (chromedp.Poll fails when the page it polls
// navigates away, which is what the pages under test do).
func waitFor(browser context.Context, expr string, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if ok, err := chromedp.Run(browser, chromedp.Evaluate[bool](expr)); err == nil && ok {
			return true
		}
		time.Sleep(100 * time.Millisecond)
	}
	return false
}

var gatewayPage = template.Must(template.New("pay").Parse(`<!doctype html><title>Fake gateway</title>
<form method="post"><button id="pay" type="submit">Pay {{.}}</button></form>`))

// TestBrowserFlow runs the whole flow in headless Chromium: the merchant
// inits a payment, the browser opens the wrapper URL, is sent to the
// gateway's hosted page and pays; the gateway sends it back to the gate and
// posts its signed webhook a moment later; the gate's return page follows
// the live status stream and, once the ledger has the success, sends the
// browser to the merchant's successUrl, where the merchant's page shows
// the payment only once the signed postback has arrived.
func TestBrowserFlow(t *testing.T) {
	browser := browsertest.New(t, 90*time.Second)
	const webhookDelay = 3 * time.Second

	fake := &hostedFake{Fake: gatewaytest.NewFake("whsec_browser"), returns: map[string]string{}}
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	require.NoError(t, err)

	gateMux := http.NewServeMux()
	hits := &counter{hits: map[string]int{}}
	gateSrv := httptest.NewServer(hits.wrap(gateMux))
	t.Cleanup(gateSrv.Close)

	// The gateway's hosted page: paying sends the customer back at once,
	// as gateways do, and the webhook follows from the gateway's server.
	gatewayMux := http.NewServeMux()
	gatewayMux.HandleFunc("GET /pay/{id}", func(w http.ResponseWriter, r *http.Request) {
		_ = gatewayPage.Execute(w, r.PathValue("id"))
	})
	gatewayMux.HandleFunc("POST /pay/{id}", func(w http.ResponseWriter, r *http.Request) {
		id := r.PathValue("id")
		go func() {
			time.Sleep(webhookDelay)
			wr := fake.Request(gatewaytest.Event{ID: "evt_" + id, Type: "payment.succeeded", PaymentID: id, Amount: "10.50", Currency: "USD"}, time.Now())
			req, _ := http.NewRequest(http.MethodPost, gateSrv.URL+"/fake-handleWebhookEvents", bytes.NewReader(wr.Body))
			req.Header = wr.Header.Clone()
			resp, err := http.DefaultClient.Do(req)
			if assert.NoError(t, err) {
				assert.Equal(t, http.StatusOK, resp.StatusCode, "the gate acknowledges the webhook")
				resp.Body.Close()
			}
		}()
		http.Redirect(w, r, fake.returnURL(id), http.StatusSeeOther)
	})
	gatewaySrv := httptest.NewServer(gatewayMux)
	t.Cleanup(gatewaySrv.Close)
	fake.page = gatewaySrv.URL

	merchants, records := gate.NewMemoryMerchants(), gate.NewMemoryRecords()
	g, err := gate.New(svc, gate.Config{BaseURL: gateSrv.URL, Merchants: merchants, Records: records, AllowHTTP: true,
		PostbackAllow: loopback, Interval: 20 * time.Millisecond, ReturnWait: 30 * time.Second,
		StreamKey: []byte("browser-test-stream-key-32-bytes")})
	require.NoError(t, err)
	t.Cleanup(g.Close)
	webhook.Mount(gateMux, svc)
	gateMux.Handle("/", g.Handler())
	ctx, cancel := context.WithTimeout(t.Context(), 90*time.Second)
	defer cancel()
	go func() { _ = g.Run(ctx) }()

	secret, err := gate.NewPostbackSecret()
	require.NoError(t, err)
	token, tok, err := gate.NewToken(time.Now())
	require.NoError(t, err)
	require.NoError(t, merchants.SaveMerchant(ctx, &gate.Merchant{ID: "shop", Name: "Shop", Gateways: []string{"fake"},
		PostbackSecrets: []string{secret}, Tokens: []gate.Token{tok}}))
	shop := newMerchantSite(t, secret)

	initBody, _ := json.Marshal(body(func(b map[string]any) {
		b["successUrl"] = shop.URL + "/ok?order=order-1001"
		b["errorUrl"] = shop.URL + "/fail"
		b["postbackUrl"] = shop.URL + "/postback"
	}))
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, gateSrv.URL+gate.PathInitPayment, bytes.NewReader(initBody))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Token "+token)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	var started struct{ URL string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&started))
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)

	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(started.URL), chromedp.WaitVisible("#pay")),
		"the wrapper sends the browser to the gateway's page")
	location, err := chromedp.Run(browser, chromedp.Location())
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(location, gatewaySrv.URL+"/pay/"), location)

	paidAt := time.Now()
	require.NoError(t, chromedp.Do(browser, chromedp.Click("#pay")))
	require.True(t, waitFor(browser, `(document.getElementById("result") || {}).textContent === "paid order-1001"`, 40*time.Second),
		"the browser lands on the merchant's success page, confirmed by the postback")
	location, err = chromedp.Run(browser, chromedp.Location())
	require.NoError(t, err)
	assert.Equal(t, shop.URL+"/ok?order=order-1001", location)
	assert.GreaterOrEqual(t, time.Since(paidAt), webhookDelay, "the return waited for the ledger, not for the way back")

	// The return page waited on the live stream: it opened it and came
	// back to /success once, when the stream told it the outcome, instead
	// of reloading itself every refresh.
	assert.GreaterOrEqual(t, hits.get(gate.PathEvents), 1, "the page opened the status stream")
	assert.Equal(t, 2, hits.get(gate.PathSuccess), "the return, then one look when the stream said succeeded")
	require.NoError(t, chromedp.Cancel(browser))
}
