package stripe_test

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// fakeAPI is a stateful stand-in for the few Stripe endpoints the driver
// calls, for what stripe-mock cannot show: it answers from static fixtures,
// so a capture there never succeeds and a refund is always the same one.
// fakeAPI keeps intents and refunds and moves them through Stripe's states
// (https://docs.stripe.com/payments/paymentintents/lifecycle), refusing
// what Stripe refuses: capturing an intent that is not requires_capture,
// canceling one that succeeded, refunding more than is left. It honours
// idempotency keys as Stripe does (https://docs.stripe.com/api/idempotent_requests):
// the same key with the same parameters gets the first answer, with other
// parameters an idempotency_error, and one that arrives while the first is
// still executing a 409 (idempotency_key_in_use), saving no answer for it;
// Delay makes every keyed request execute that long, so concurrent ones
// meet. It keeps Radar reviews of intents and hosted Checkout Sessions,
// the charge each succeeded intent made and that charge's balance
// transaction (settled as setSettlement says), and can be told to fail.
type fakeAPI struct {
	*httptest.Server
	mu           sync.Mutex
	intents      map[string]map[string]any
	refunds      []map[string]any
	reviews      map[string]map[string]any
	sessions     map[string]map[string]any
	charges      map[string]map[string]any
	balanceTxns  map[string]map[string]any
	settle       fakeSettlement // how new charges settle
	byKey        map[string]keyedAnswer
	inFlight     map[string]bool
	delay        time.Duration
	refundStatus string // status of new refunds; "succeeded" by default
	disputes     []map[string]any
	created      int64      // created of new intents, refunds and disputes; 0 for the fixtures' times
	fail         *fakeError // answer of the next call, once
	seq          int
	calls        []string // "POST /v1/… key=…", every request
	executed     []string // "POST /v1/… key=…", the requests that ran: no replays, no refusals of a key in use
}

// keyedAnswer is the first request made with an idempotency key and what
// it was answered.
type keyedAnswer struct {
	request string
	body    []byte
}

type fakeError struct {
	status int
	body   string
	on     string         // "METHOD /v1/path" it answers; "" for any
	then   func(*fakeAPI) // run, under the lock, when it is answered
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{intents: map[string]map[string]any{}, reviews: map[string]map[string]any{}, sessions: map[string]map[string]any{},
		charges: map[string]map[string]any{}, balanceTxns: map[string]map[string]any{},
		byKey: map[string]keyedAnswer{}, inFlight: map[string]bool{}, refundStatus: "succeeded"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) failNext(status int, body string) { f.failNextOn("", status, body, nil) }

// failNextOn answers the next request to on ("POST /v1/…") with status and
// body, running then first.
func (f *fakeAPI) failNextOn(on string, status int, body string, then func(*fakeAPI)) {
	f.mu.Lock()
	f.fail = &fakeError{status: status, body: body, on: on, then: then}
	f.mu.Unlock()
}

// setDelay makes every keyed request take d to execute.
func (f *fakeAPI) setDelay(d time.Duration) {
	f.mu.Lock()
	f.delay = d
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
	w.Header().Set("Stripe-Should-Retry", "false") // stripe-go would retry a 5xx
	if fail := f.fail; fail != nil && (fail.on == "" || fail.on == r.Method+" "+r.URL.Path) {
		f.fail = nil
		if fail.then != nil {
			fail.then(f)
		}
		w.WriteHeader(fail.status)
		fmt.Fprint(w, fail.body)
		return
	}
	_ = r.ParseForm()
	request := r.Method + " " + r.URL.Path + "?" + r.Form.Encode()
	if key != "" && f.inFlight[key] {
		w.WriteHeader(http.StatusConflict)
		_, _ = w.Write(stripeError("invalid_request_error", "idempotency_key_in_use",
			"There is currently another in-progress request using this Stripe-Idempotency-Key. Please try again later."))
		return
	}
	if prev, ok := f.byKey[key]; ok && key != "" {
		if prev.request != request {
			w.WriteHeader(http.StatusBadRequest)
			_, _ = w.Write(stripeError("idempotency_error", "", "Keys for idempotent requests can only be used with the same parameters they were first used with."))
			return
		}
		w.Header().Set("Idempotent-Replayed", "true")
		_, _ = w.Write(prev.body)
		return
	}
	if key != "" && f.delay > 0 {
		f.inFlight[key] = true
		f.mu.Unlock()
		time.Sleep(f.delay)
		f.mu.Lock()
		delete(f.inFlight, key)
	}
	f.executed = append(f.executed, r.Method+" "+r.URL.Path+" key="+key)
	obj, code := f.route(r)
	body, _ := json.Marshal(obj)
	// Stripe saves what an endpoint answered once it began executing; the
	// refusals here come before that, so they are not saved.
	if key != "" && code == http.StatusOK {
		f.byKey[key] = keyedAnswer{request: request, body: body}
	}
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

func (f *fakeAPI) route(r *http.Request) (any, int) {
	path := strings.TrimPrefix(r.URL.Path, "/v1/")
	parts := strings.Split(path, "/")
	switch {
	case r.Method == http.MethodGet && path == "balance":
		return map[string]any{"object": "balance", "available": []any{}, "pending": []any{}}, http.StatusOK
	case r.Method == http.MethodPost && path == "payment_intents":
		return f.createIntent(r), http.StatusOK
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "payment_intents":
		pi, ok := f.intents[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		return f.expanded(pi, slices.Collect(maps.Values(prefixed(r, "expand[")))), http.StatusOK
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "reviews":
		re, ok := f.reviews[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		return re, http.StatusOK
	case r.Method == http.MethodPost && path == "checkout/sessions":
		return f.createSession(r), http.StatusOK
	case r.Method == http.MethodPost && len(parts) == 3 && parts[0] == "payment_intents":
		pi, ok := f.intents[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		switch parts[2] {
		case "capture":
			obj, code := f.capture(pi, r)
			if code == http.StatusOK {
				obj = f.expanded(pi, slices.Collect(maps.Values(prefixed(r, "expand["))))
			}
			return obj, code
		case "cancel":
			return cancel(pi, r)
		}
	case r.Method == http.MethodPost && path == "refunds":
		pi, ok := f.intents[r.Form.Get("payment_intent")]
		if !ok {
			return missing(r.Form.Get("payment_intent")), http.StatusNotFound
		}
		return f.refund(pi, r)
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "charges":
		ch, ok := f.charges[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		return f.expandedCharge(ch, slices.Contains(slices.Collect(maps.Values(prefixed(r, "expand["))), "balance_transaction")), http.StatusOK
	case r.Method == http.MethodGet && len(parts) == 2 && parts[0] == "balance_transactions":
		bt, ok := f.balanceTxns[parts[1]]
		if !ok {
			return missing(parts[1]), http.StatusNotFound
		}
		return bt, http.StatusOK
	case r.Method == http.MethodGet && path == "refunds" && r.Form.Get("charge") != "":
		var data []any
		for _, re := range f.refunds {
			if re["charge"] == r.Form.Get("charge") {
				data = append(data, re)
			}
		}
		return map[string]any{"object": "list", "data": data, "has_more": false, "url": "/v1/refunds"}, http.StatusOK
	case r.Method == http.MethodGet && path == "refunds":
		return listCreated(r, f.refunds), http.StatusOK
	case r.Method == http.MethodGet && path == "payment_intents":
		return listCreated(r, slices.Collect(maps.Values(f.intents))), http.StatusOK
	case r.Method == http.MethodGet && path == "disputes":
		return listCreated(r, f.disputes), http.StatusOK
	}
	return missing(path), http.StatusNotFound
}

func (f *fakeAPI) capture(pi map[string]any, r *http.Request) (any, int) {
	if pi["status"] != "requires_capture" {
		return unexpectedState(pi, "captured", "requires_capture"), http.StatusBadRequest
	}
	capturable := pi["amount_capturable"].(int64)
	amount := formInt(r, "amount_to_capture", capturable)
	if amount <= 0 || amount > capturable {
		return errorObject("invalid_request_error", "amount_too_large",
			fmt.Sprintf("The amount to capture (%d) must not exceed the amount capturable (%d).", amount, capturable)), http.StatusBadRequest
	}
	pi["status"], pi["amount_received"], pi["amount_capturable"] = "succeeded", amount, int64(0)
	f.newCharge(pi, amount)
	return pi, http.StatusOK
}

func cancel(pi map[string]any, r *http.Request) (any, int) {
	switch pi["status"] {
	case "requires_payment_method", "requires_capture", "requires_confirmation", "requires_action", "processing":
	default:
		return unexpectedState(pi, "canceled", "requires_payment_method, requires_capture, requires_confirmation, requires_action, processing"), http.StatusBadRequest
	}
	pi["status"], pi["amount_capturable"] = "canceled", int64(0)
	if reason := r.Form.Get("cancellation_reason"); reason != "" {
		pi["cancellation_reason"] = reason
	}
	return pi, http.StatusOK
}

// refund refunds a captured intent, the way Stripe does for a refund made
// through the API: what is left when no amount is given, never more.
func (f *fakeAPI) refund(pi map[string]any, r *http.Request) (any, int) {
	if pi["status"] != "succeeded" {
		return errorObject("invalid_request_error", "charge_not_refundable",
			"This PaymentIntent has no captured charge to refund."), http.StatusBadRequest
	}
	left := pi["amount_received"].(int64) - f.refunded(pi["id"].(string))
	if left == 0 {
		return errorObject("invalid_request_error", "charge_already_refunded",
			"Charge "+chargeOf(pi["id"].(string))+" has already been refunded."), http.StatusBadRequest
	}
	amount := formInt(r, "amount", left)
	if amount <= 0 || amount > left {
		return errorObject("invalid_request_error", "",
			fmt.Sprintf("Refund amount (%d) is greater than unrefunded amount on charge (%d)", amount, left)), http.StatusBadRequest
	}
	re := f.newRefund(pi, amount, metadata(r))
	if reason := r.Form.Get("reason"); reason != "" {
		re["reason"] = reason
	}
	return re, http.StatusOK
}

// refunded is what the refunds of an intent that have not failed add up to.
func (f *fakeAPI) refunded(intentID string) int64 {
	var sum int64
	for _, re := range f.refunds {
		if re["payment_intent"] == intentID && re["status"] != "failed" && re["status"] != "canceled" {
			sum += re["amount"].(int64)
		}
	}
	return sum
}

// newRefund records a refund of a captured intent, the way Stripe would for
// a refund made through the API or in the Dashboard.
func (f *fakeAPI) newRefund(pi map[string]any, amount int64, md map[string]string) map[string]any {
	f.seq++
	re := map[string]any{
		"id": fmt.Sprintf("re_fake%d", f.seq), "object": "refund", "status": f.refundStatus,
		"amount": amount, "currency": pi["currency"], "payment_intent": pi["id"], "charge": chargeOf(pi["id"].(string)),
		"metadata": md, "created": f.createdOr(1703250000),
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

// authorize has the customer confirm a manual-capture intent: its amount is
// held, awaiting capture.
func (f *fakeAPI) authorize(t *testing.T, intentID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi := f.intents[intentID]
	require.NotNil(t, pi, intentID)
	require.Equal(t, "manual", pi["capture_method"], "only a manual-capture intent waits for a capture")
	pi["status"], pi["amount_capturable"] = "requires_capture", pi["amount"]
}

// pay has the customer pay an automatic-capture intent in full and returns
// the intent as its payment_intent.succeeded event carries it.
func (f *fakeAPI) pay(t *testing.T, intentID string) map[string]any {
	return f.payReceived(t, intentID, -1)
}

// payReceived is pay with amount_received set to received minor units
// (-1 for the intent's amount), which Stripe would never make more than
// the amount: the suite uses it to see what the ledger does when it is.
func (f *fakeAPI) payReceived(t *testing.T, intentID string, received int64) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi := f.intents[intentID]
	require.NotNil(t, pi, intentID)
	require.Equal(t, "automatic", pi["capture_method"])
	pi["status"], pi["amount_received"] = "succeeded", pi["amount"]
	if received >= 0 {
		pi["amount_received"] = received
	}
	f.newCharge(pi, pi["amount_received"].(int64))
	return maps.Clone(pi)
}

// completeRefund makes the oldest pending refund of amount of an intent
// succeed, as Stripe does when the bank confirms it, and returns it.
func (f *fakeAPI) completeRefund(t *testing.T, intentID string, amount int64) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	i := slices.IndexFunc(f.refunds, func(re map[string]any) bool {
		return re["payment_intent"] == intentID && re["amount"] == amount && re["status"] == "pending"
	})
	require.GreaterOrEqual(t, i, 0, "no pending refund of %d of %s", amount, intentID)
	f.refunds[i]["status"] = "succeeded"
	return maps.Clone(f.refunds[i])
}

func chargeOf(intentID string) string { return "ch_" + strings.TrimPrefix(intentID, "pi_") }

func (f *fakeAPI) createIntent(r *http.Request) map[string]any {
	f.seq++
	id := fmt.Sprintf("pi_fake%d", f.seq)
	pi := map[string]any{
		"id": id, "object": "payment_intent", "amount": formInt(r, "amount", 0), "currency": r.Form.Get("currency"),
		"capture_method": r.Form.Get("capture_method"), "metadata": metadata(r), "status": "requires_payment_method",
		"client_secret": id + "_secret_fake", "amount_received": int64(0), "amount_capturable": int64(0),
		"created": f.createdOr(1703175360), "livemode": false,
	}
	f.intents[id] = pi
	return pi
}

func missing(id string) map[string]any {
	return errorObject("invalid_request_error", "resource_missing", "No such object: '"+id+"'")
}

func unexpectedState(pi map[string]any, done, allowed string) map[string]any {
	return errorObject("invalid_request_error", "payment_intent_unexpected_state",
		fmt.Sprintf("This PaymentIntent could not be %s because it has a status of %s. Only a PaymentIntent with one of the following statuses may be %s: %s.",
			done, pi["status"], done, allowed))
}

func errorObject(typ, code, message string) map[string]any {
	e := map[string]any{"type": typ, "message": message}
	if code != "" {
		e["code"] = code
	}
	return map[string]any{"error": e}
}

func stripeError(typ, code, message string) []byte {
	b, _ := json.Marshal(errorObject(typ, code, message))
	return b
}

func formInt(r *http.Request, name string, def int64) int64 {
	if v, err := strconv.ParseInt(r.Form.Get(name), 10, 64); err == nil {
		return v
	}
	return def
}

func metadata(r *http.Request) map[string]string { return prefixed(r, "metadata[") }

// prefixed returns the form's map parameter whose keys start with prefix,
// "metadata[" for metadata[k]=v.
func prefixed(r *http.Request, prefix string) map[string]string {
	md := map[string]string{}
	for k, v := range r.Form {
		if name, ok := strings.CutPrefix(k, prefix); ok {
			md[strings.TrimSuffix(name, "]")] = v[0]
		}
	}
	return md
}

// expanded returns a copy of the intent with the fields asked for
// expanded: review, latest_charge, and latest_charge.balance_transaction,
// which expands latest_charge too, as at Stripe.
func (f *fakeAPI) expanded(pi map[string]any, expand []string) map[string]any {
	out := maps.Clone(pi)
	if id, ok := out["review"].(string); ok && slices.Contains(expand, "review") {
		out["review"] = maps.Clone(f.reviews[id])
	}
	withTxn := slices.Contains(expand, "latest_charge.balance_transaction")
	if id, ok := out["latest_charge"].(string); ok && (withTxn || slices.Contains(expand, "latest_charge")) {
		out["latest_charge"] = f.expandedCharge(f.charges[id], withTxn)
	}
	return out
}

// openReview has Radar place an intent in review, as a rule does when the
// payment is authorized.
func (f *fakeAPI) openReview(t *testing.T, intentID string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	pi := f.intents[intentID]
	require.NotNil(t, pi, intentID)
	f.seq++
	id := fmt.Sprintf("prv_fake%d", f.seq)
	f.reviews[id] = map[string]any{
		"id": id, "object": "review", "open": true, "opened_reason": "rule", "reason": "rule", "closed_reason": nil,
		"payment_intent": intentID, "charge": chargeOf(intentID), "created": int64(1703175370), "livemode": false,
	}
	pi["review"] = id
	return id
}

// closeReview closes an intent's review as the Dashboard does, and returns
// the review as its review.closed event carries it. Closing it as anything
// but approved from the Dashboard's Cancel button would also cancel the
// intent; this leaves that to the driver, as an API close would.
func (f *fakeAPI) closeReview(t *testing.T, intentID, reason string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	id, _ := f.intents[intentID]["review"].(string)
	re := f.reviews[id]
	require.NotNil(t, re, "no review of %s", intentID)
	re["open"], re["reason"], re["closed_reason"] = false, reason, reason
	return maps.Clone(re)
}

// createSession creates a hosted Checkout Session in payment mode, as
// Stripe does at 2023-10-16: without a PaymentIntent until it is paid.
func (f *fakeAPI) createSession(r *http.Request) map[string]any {
	f.seq++
	id := fmt.Sprintf("cs_test_fake%d", f.seq)
	amount := formInt(r, "line_items[0][price_data][unit_amount]", 0) * formInt(r, "line_items[0][quantity]", 1)
	s := map[string]any{
		"id": id, "object": "checkout.session", "mode": r.Form.Get("mode"), "status": "open", "payment_status": "unpaid",
		"amount_total": amount, "amount_subtotal": amount, "currency": r.Form.Get("line_items[0][price_data][currency]"),
		"client_reference_id": r.Form.Get("client_reference_id"), "metadata": metadata(r), "payment_intent": nil,
		"success_url": r.Form.Get("success_url"), "cancel_url": r.Form.Get("cancel_url"),
		"url": "https://checkout.stripe.com/c/pay/" + id, "created": int64(1703260000), "livemode": false,
		// What the session's PaymentIntent will be created with; Stripe
		// keeps it to itself.
		"_capture_method": r.Form.Get("payment_intent_data[capture_method]"), "_intent_metadata": prefixed(r, "payment_intent_data[metadata]["),
	}
	f.sessions[id] = s
	return publicSession(s)
}

// paySession has the customer pay a session: Stripe creates its
// PaymentIntent with payment_intent_data, succeeded (or awaiting capture
// for manual capture), and completes the session. It returns the session
// as checkout.session.completed carries it, and the intent's id.
func (f *fakeAPI) paySession(t *testing.T, sessionID string) (map[string]any, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	s := f.sessions[sessionID]
	require.NotNil(t, s, sessionID)
	f.seq++
	id := fmt.Sprintf("pi_fake%d", f.seq)
	pi := map[string]any{
		"id": id, "object": "payment_intent", "amount": s["amount_total"], "currency": s["currency"],
		"capture_method": s["_capture_method"], "metadata": s["_intent_metadata"], "status": "succeeded",
		"amount_received": s["amount_total"], "amount_capturable": int64(0), "created": int64(1703260100), "livemode": false,
	}
	s["payment_status"] = "paid"
	if pi["capture_method"] == "manual" {
		pi["status"], pi["amount_received"], pi["amount_capturable"] = "requires_capture", int64(0), s["amount_total"]
		s["payment_status"] = "unpaid"
	} else {
		f.newCharge(pi, pi["amount_received"].(int64))
	}
	f.intents[id] = pi
	s["payment_intent"], s["status"], s["url"] = id, "complete", nil
	return publicSession(s), id
}

// publicSession is a session without the fake's own fields.
func publicSession(s map[string]any) map[string]any {
	out := maps.Clone(s)
	maps.DeleteFunc(out, func(k string, _ any) bool { return strings.HasPrefix(k, "_") })
	return out
}

// session returns the session the fake holds, with its hidden fields.
func (f *fakeAPI) session(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.sessions[id])
}

// executedCalls returns the requests that ran at the fake.
func (f *fakeAPI) executedCalls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.executed...)
}

func (f *fakeAPI) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// intent returns a copy of the intent the fake holds.
func (f *fakeAPI) intent(id string) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	return maps.Clone(f.intents[id])
}

// createdOr is the created time of a new object: the one setCreated set,
// else the fixtures' def.
func (f *fakeAPI) createdOr(def int64) int64 {
	if f.created != 0 {
		return f.created
	}
	return def
}

// setCreated makes new objects created at t, for listings by created.
func (f *fakeAPI) setCreated(t time.Time) {
	f.mu.Lock()
	f.created = t.Unix()
	f.mu.Unlock()
}

// listCreated answers a list call over objs as Stripe does: those created
// in created[gte]..created[lt], newest first (ties by id, descending), limit
// at a time after starting_after.
func listCreated(r *http.Request, objs []map[string]any) map[string]any {
	gte, lt := formInt(r, "created[gte]", 0), formInt(r, "created[lt]", 1<<62)
	var in []map[string]any
	for _, o := range objs {
		if c := o["created"].(int64); c >= gte && c < lt {
			in = append(in, o)
		}
	}
	slices.SortFunc(in, func(a, b map[string]any) int {
		if c := b["created"].(int64) - a["created"].(int64); c != 0 {
			return int(c)
		}
		return strings.Compare(b["id"].(string), a["id"].(string))
	})
	if after := r.Form.Get("starting_after"); after != "" {
		i := slices.IndexFunc(in, func(o map[string]any) bool { return o["id"] == after })
		in = in[i+1:]
	}
	limit := int(formInt(r, "limit", 10))
	more := len(in) > limit
	data := []any{}
	for _, o := range in[:min(limit, len(in))] {
		data = append(data, maps.Clone(o))
	}
	return map[string]any{"object": "list", "data": data, "has_more": more, "url": r.URL.Path}
}

// dispute opens a dispute of amount on an intent's charge, as the card
// network would; withdrawn takes the funds, reinstated gives them back.
func (f *fakeAPI) dispute(intentID string, amount int64, withdrawn, reinstated bool) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	pi := f.intents[intentID]
	var txns []any
	if withdrawn {
		txns = append(txns, map[string]any{"id": fmt.Sprintf("txn_fake%dw", f.seq), "object": "balance_transaction", "amount": -amount - 1500})
	}
	if reinstated {
		txns = append(txns, map[string]any{"id": fmt.Sprintf("txn_fake%dr", f.seq), "object": "balance_transaction", "amount": amount + 1500})
	}
	d := map[string]any{
		"id": fmt.Sprintf("dp_fake%d", f.seq), "object": "dispute", "amount": amount, "currency": pi["currency"],
		"charge": chargeOf(intentID), "payment_intent": intentID, "status": "needs_response", "reason": "fraudulent",
		"balance_transactions": txns, "created": f.createdOr(1703260000), "livemode": false,
	}
	f.disputes = append(f.disputes, d)
	return maps.Clone(d)
}
