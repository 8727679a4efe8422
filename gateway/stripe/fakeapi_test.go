package stripe_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// fakeAPI is a stateful stand-in for the few Stripe endpoints the driver
// calls, for what stripe-mock cannot show: it answers from static fixtures,
// so a capture there never succeeds and a refund is always the same one.
// fakeAPI keeps intents and refunds, honours idempotency keys as Stripe does
// (the same key returns the first answer), and can be told to fail.
type fakeAPI struct {
	*httptest.Server
	mu           sync.Mutex
	intents      map[string]map[string]any
	refunds      []map[string]any
	byKey        map[string][]byte // idempotency key → first answer
	refundStatus string            // status of new refunds; "succeeded" by default
	fail         *fakeError        // answer of the next call, once
	seq          int
	calls        []string // "POST /v1/… key=…"
}

type fakeError struct {
	status int
	body   string
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{intents: map[string]map[string]any{}, byKey: map[string][]byte{}, refundStatus: "succeeded"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) failNext(status int, body string) {
	f.mu.Lock()
	f.fail = &fakeError{status, body}
	f.mu.Unlock()
}

func (f *fakeAPI) setRefundStatus(status string) {
	f.mu.Lock()
	f.refundStatus = status
	f.mu.Unlock()
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	key := r.Header.Get("Idempotency-Key")
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+" key="+key)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Request-Id", "req_fake")
	if f.fail != nil {
		w.Header().Set("Stripe-Should-Retry", "false") // stripe-go would retry a 5xx
		w.WriteHeader(f.fail.status)
		fmt.Fprint(w, f.fail.body)
		f.fail = nil
		return
	}
	if prev, ok := f.byKey[key]; ok && key != "" {
		_, _ = w.Write(prev)
		return
	}
	_ = r.ParseForm()
	obj, code := f.route(r)
	body, _ := json.Marshal(obj)
	if key != "" && code == http.StatusOK {
		f.byKey[key] = body
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (f *fakeAPI) route(r *http.Request) (map[string]any, int) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	parts := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodGet && path == "balance":
		return map[string]any{"object": "balance", "available": []any{}, "pending": []any{}}, http.StatusOK
	case r.Method == http.MethodPost && path == "payment_intents":
		return f.createIntent(r), http.StatusOK
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "payment_intents":
		pi, ok := f.intents[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		switch parts[2] {
		case "capture":
			pi["status"] = "succeeded"
			pi["amount_received"] = formInt(r, "amount_to_capture", pi["amount"].(int64))
			pi["amount_capturable"] = int64(0)
		case "cancel":
			pi["status"] = "canceled"
		}
		return pi, http.StatusOK
	case r.Method == http.MethodPost && path == "refunds":
		pi, ok := f.intents[r.Form.Get("payment_intent")]
		if !ok {
			return missing(r.Form.Get("payment_intent")), http.StatusNotFound
		}
		return f.newRefund(pi, formInt(r, "amount", pi["amount_received"].(int64)), metadata(r)), http.StatusOK
	case r.Method == http.MethodGet && path == "refunds":
		var data []any
		for _, re := range f.refunds {
			if re["charge"] == r.Form.Get("charge") {
				data = append(data, re)
			}
		}
		return map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/refunds"}, http.StatusOK
	}
	return missing(path), http.StatusNotFound
}

// newRefund records a refund of a captured intent, the way Stripe would for
// a refund made through the API or in the Dashboard.
func (f *fakeAPI) newRefund(pi map[string]any, amount int64, md map[string]string) map[string]any {
	f.seq++
	re := map[string]any{
		"id": fmt.Sprintf("re_fake%d", f.seq), "object": "refund", "status": f.refundStatus,
		"amount": amount, "currency": pi["currency"], "payment_intent": pi["id"], "charge": chargeOf(pi["id"].(string)),
		"metadata": md, "created": int64(1703250000),
	}
	f.refunds = append(f.refunds, re)
	return re
}

// refundInDashboard refunds amount of an intent outside the driver.
func (f *fakeAPI) refundInDashboard(intentID string, amount int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.newRefund(f.intents[intentID], amount, map[string]string{})
}

func chargeOf(intentID string) string { return "ch_" + strings.TrimPrefix(intentID, "pi_") }

func (f *fakeAPI) createIntent(r *http.Request) map[string]any {
	f.seq++
	id := fmt.Sprintf("pi_fake%d", f.seq)
	pi := map[string]any{
		"id": id, "object": "payment_intent", "amount": formInt(r, "amount", 0), "currency": r.Form.Get("currency"),
		"capture_method": r.Form.Get("capture_method"), "metadata": metadata(r), "status": "requires_payment_method",
		"client_secret": id + "_secret_fake", "amount_received": int64(0), "created": int64(1703175360),
	}
	f.intents[id] = pi
	return pi
}

func missing(id string) map[string]any {
	return map[string]any{"error": map[string]any{"type": "invalid_request_error", "code": "resource_missing",
		"message": "No such object: '" + id + "'"}}
}

func formInt(r *http.Request, name string, def int64) int64 {
	if v, err := strconv.ParseInt(r.Form.Get(name), 10, 64); err == nil {
		return v
	}
	return def
}

func metadata(r *http.Request) map[string]string {
	md := map[string]string{}
	for k, v := range r.Form {
		if name, ok := strings.CutPrefix(k, "metadata["); ok {
			md[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return md
}

func (f *fakeAPI) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}
