package paypal_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// How the fake PayPal shows what it holds, and what the tests do to it as
// a buyer or PayPal would.

func money(m payments.Money) map[string]any {
	return map[string]any{"currency_code": string(m.Currency), "value": m.Decimal()}
}

const fakeHost = "https://api.sandbox.paypal.com"

func (f *fakeAPI) orderJSON(o *fakeOrder) map[string]any {
	var auths, caps []any
	for _, id := range o.Auths {
		auths = append(auths, f.authJSON(f.auths[id]))
	}
	for _, id := range o.Captures {
		caps = append(caps, f.captureJSON(f.captures[id]))
	}
	unit := map[string]any{"reference_id": "default", "amount": money(o.Amount)}
	for k, v := range map[string]string{"custom_id": o.CustomID, "invoice_id": o.InvoiceID, "description": o.Description} {
		if v != "" {
			unit[k] = v
		}
	}
	if auths != nil || caps != nil {
		unit["payments"] = map[string]any{"authorizations": auths, "captures": caps}
	}
	return map[string]any{"id": o.ID, "intent": o.Intent, "status": o.Status, "create_time": "2026-11-30T10:00:00Z",
		"purchase_units": []any{unit},
		"links": []any{
			map[string]any{"href": fakeHost + "/v2/checkout/orders/" + o.ID, "rel": "self", "method": "GET"},
			map[string]any{"href": "https://www.sandbox.paypal.com/checkoutnow?token=" + o.ID, "rel": "approve", "method": "GET"},
		}}
}

func (f *fakeAPI) authJSON(a *fakeAuth) map[string]any {
	o := f.orders[a.OrderID]
	return map[string]any{"id": a.ID, "status": a.Status, "amount": money(a.Amount), "custom_id": o.CustomID,
		"invoice_id": o.InvoiceID, "expiration_time": time.Now().Add(29 * 24 * time.Hour).UTC().Format(time.RFC3339),
		"supplementary_data": map[string]any{"related_ids": map[string]any{"order_id": o.ID}},
		"links":              []any{map[string]any{"href": fakeHost + "/v2/checkout/orders/" + o.ID, "rel": "up", "method": "GET"}}}
}

func (f *fakeAPI) captureJSON(c *fakeCapture) map[string]any {
	related := map[string]any{"order_id": c.OrderID}
	up := fakeHost + "/v2/checkout/orders/" + c.OrderID
	if c.AuthID != "" {
		related["authorization_id"] = c.AuthID
		up = fakeHost + "/v2/payments/authorizations/" + c.AuthID
	}
	out := map[string]any{"id": c.ID, "status": c.Status, "amount": money(c.Amount), "final_capture": true,
		"seller_protection": map[string]any{"status": "ELIGIBLE"}, "create_time": "2026-11-30T10:05:00Z",
		"supplementary_data": map[string]any{"related_ids": related},
		"links": []any{
			map[string]any{"href": fakeHost + "/v2/payments/captures/" + c.ID, "rel": "self", "method": "GET"},
			map[string]any{"href": up, "rel": "up", "method": "GET"},
		}}
	if c.CustomID != "" {
		out["custom_id"] = c.CustomID
	}
	if c.InvoiceID != "" {
		out["invoice_id"] = c.InvoiceID
	}
	return out
}

func (f *fakeAPI) refundJSON(r *fakeRefund) map[string]any {
	c := f.captures[r.CaptureID]
	total := payments.Money{Amount: f.refunded(c.ID, true), Currency: c.Amount.Currency}
	out := map[string]any{"id": r.ID, "status": r.Status, "amount": money(r.Amount), "create_time": "2026-11-30T10:10:00Z",
		"seller_payable_breakdown": map[string]any{"gross_amount": money(r.Amount), "total_refunded_amount": money(total)},
		"links": []any{
			map[string]any{"href": fakeHost + "/v2/payments/refunds/" + r.ID, "rel": "self", "method": "GET"},
			map[string]any{"href": fakeHost + "/v2/payments/captures/" + c.ID, "rel": "up", "method": "GET"},
		}}
	if r.CustomID != "" {
		out["custom_id"] = r.CustomID
	}
	return out
}

// approve has the buyer approve an order, as PayPal's checkout page does.
func (f *fakeAPI) approve(t *testing.T, orderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[orderID]
	require.NotNil(t, o, orderID)
	o.Status = "APPROVED"
}

// pay has the order paid and captured for amount, and returns the capture
// as its PAYMENT.CAPTURE.COMPLETED carries it. An order paid before keeps
// its capture, reported with the new amount: the suite uses it to report
// one charge with amounts PayPal would never send.
func (f *fakeAPI) pay(t *testing.T, orderID string, amount payments.Money) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[orderID]
	require.NotNil(t, o, orderID)
	o.Status = "COMPLETED"
	if len(o.Captures) > 0 {
		c := f.captures[o.Captures[0]]
		c.Amount = amount
		return f.captureJSON(c)
	}
	return f.captureJSON(f.newCapture(o, "", amount))
}

// addCapture captures amount more of a paid order, as a second capture of
// an authorization would, and returns its id.
func (f *fakeAPI) addCapture(t *testing.T, orderID string, amount payments.Money) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[orderID]
	require.NotNil(t, o, orderID)
	return f.newCapture(o, "", amount).ID
}

// completeRefund completes the oldest pending refund of amount of the
// order's capture, and returns it as its PAYMENT.CAPTURE.REFUNDED carries it.
func (f *fakeAPI) completeRefund(t *testing.T, orderID string, amount payments.Money) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := f.orders[orderID]
	require.NotNil(t, o, orderID)
	for _, cid := range o.Captures {
		for _, r := range f.refunds {
			if r.CaptureID == cid && r.Status == "PENDING" && r.Amount == amount {
				r.Status = "COMPLETED"
				f.settleCapture(f.captures[cid])
				return f.refundJSON(r)
			}
		}
	}
	require.Failf(t, "no pending refund", "of %s for order %s", amount, orderID)
	return nil
}

func (f *fakeAPI) setRefundStatus(s string) {
	f.mu.Lock()
	f.refundStatus = s
	f.mu.Unlock()
}

// serveCert serves pem at path, as PayPal serves its certificates.
func (f *fakeAPI) serveCert(path string, pem []byte) {
	f.mu.Lock()
	f.certs[path] = pem
	f.mu.Unlock()
}

// orderNow, captureNow and refundNow render what the fake holds, as
// PayPal's API and webhooks show it.
func (f *fakeAPI) orderNow(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.orderJSON(f.orders[id])
}

func (f *fakeAPI) captureNow(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.captureJSON(f.captures[id])
}

func (f *fakeAPI) refundNow(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.refundJSON(f.refunds[id])
}

// redirect has path answer a redirect to to.
func (f *fakeAPI) redirect(path, to string) {
	f.mu.Lock()
	f.redirects[path] = to
	f.mu.Unlock()
}

// revokeTokens makes PayPal refuse every token issued so far.
func (f *fakeAPI) revokeTokens() {
	f.mu.Lock()
	f.tokens = map[string]bool{}
	f.mu.Unlock()
}

func (f *fakeAPI) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeAPI) order(id string) fakeOrder {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.orders[id]
}

func (f *fakeAPI) counts() (tokens, certs int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.tokenFetches, f.certFetches
}

// posts returns the POSTs to /v2 made so far, and those that came without
// a PayPal-Request-Id.
func (f *fakeAPI) posts() (all []fakeRequest, withoutID []string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, r := range f.requests {
		if r.Method == http.MethodPost {
			all = append(all, r)
		}
	}
	return all, append([]string(nil), f.noRequestID...)
}

// routeTransport sends requests for PayPal's hosts, and DigiCert's issuer
// host, to the fake API, over
// plain HTTP on loopback, and every other request nowhere: the driver under
// test must not reach anything else.
type routeTransport struct{ fake *fakeAPI }

func (rt routeTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	switch r.URL.Host {
	case "api.paypal.com", "api-m.paypal.com", "api.sandbox.paypal.com", "api-m.sandbox.paypal.com", "cacerts.digicert.com":
	default:
		if !strings.HasPrefix(rt.fake.URL, "http://"+r.URL.Host) {
			return nil, fmt.Errorf("routeTransport: no route to %s", r.URL.Host)
		}
	}
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = "http", strings.TrimPrefix(rt.fake.URL, "http://")
	if r.Body != nil {
		b, _ := io.ReadAll(r.Body)
		out.Body = io.NopCloser(bytes.NewReader(b))
	}
	return http.DefaultTransport.RoundTrip(out)
}
