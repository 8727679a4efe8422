package paypal_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// fakeAPI is an httptest stand-in for PayPal's REST API: OAuth tokens,
// Orders v2, authorizations, captures and refunds of Payments v2, and the
// webhook certificates under /v1/notifications/. It moves orders through
// PayPal's states (CREATED → APPROVED → COMPLETED), refusing with 422 what
// PayPal refuses (capturing an order twice, voiding a captured
// authorization, refunding more than is left), and honours
// PayPal-Request-Id as PayPal does: the same id again gets the first
// answer (https://developer.paypal.com/reference/guidelines/idempotency).
// It lists its captures and refunds through the Transaction Search
// (fakesearch_test.go). It answers 401 to a token it did not issue or revoked. It also stands in
// for DigiCert's cacerts.digicert.com, serving intermediates under .crt
// paths.
type fakeAPI struct {
	*httptest.Server
	t testing.TB

	mu           sync.Mutex
	seq          int
	tokens       map[string]bool
	tokenFetches int
	orders       map[string]*fakeOrder
	auths        map[string]*fakeAuth
	captures     map[string]*fakeCapture
	refunds      map[string]*fakeRefund
	byRequestID  map[string]fakeAnswer
	certs        map[string][]byte // path → PEM
	redirects    map[string]string // path → where it redirects to
	certFetches  int
	refundStatus string // of new refunds: COMPLETED (default) or PENDING
	// ledger is what the Transaction Search lists, in the order things
	// happened (see fakesearch_test.go); searches are the queries it got.
	ledger        []fakeTransaction
	searches      []url.Values
	searchRefused bool
	calls         []string
	noRequestID   []string // POSTs to /v2 that came without PayPal-Request-Id
	requests      []fakeRequest
}

type fakeAnswer struct {
	path   string
	status int
	body   []byte
}

type fakeRequest struct {
	Method, Path, RequestID string
	Body                    map[string]any
}

type fakeOrder struct {
	ID, Intent, Status, CustomID, InvoiceID, Description string
	Amount                                               payments.Money
	Auths, Captures                                      []string
}

type fakeAuth struct {
	ID, OrderID, Status string
	Amount, Captured    payments.Money
}

type fakeCapture struct {
	ID, OrderID, AuthID, Status, CustomID, InvoiceID string
	Amount                                           payments.Money
}

type fakeRefund struct {
	ID, CaptureID, Status, CustomID string
	Amount                          payments.Money
}

const (
	fakeClientID = "AeA1QIZXiflr1_-r0U2UbWTziOWX1GRQer5jkUq4ZfWT5qwb6qQRPq7jDtv57TL4POEEezGLdutcxnkJ"
	fakeSecret   = "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL"
)

func newFakeAPI(t testing.TB) *fakeAPI {
	f := &fakeAPI{t: t, tokens: map[string]bool{}, orders: map[string]*fakeOrder{}, auths: map[string]*fakeAuth{},
		captures: map[string]*fakeCapture{}, refunds: map[string]*fakeRefund{}, byRequestID: map[string]fakeAnswer{},
		certs: map[string][]byte{}, redirects: map[string]string{}, refundStatus: "COMPLETED"}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	raw, _ := io.ReadAll(r.Body)
	rid := r.Header.Get("PayPal-Request-Id")
	f.calls = append(f.calls, r.Method+" "+r.URL.Path+" rid="+rid)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Paypal-Debug-Id", "f4k3d3bu91d")
	switch {
	case strings.HasPrefix(r.URL.Path, "/v1/notifications/") || strings.HasSuffix(r.URL.Path, ".crt"):
		f.certFetches++
		if to, ok := f.redirects[r.URL.Path]; ok {
			http.Redirect(w, r, to, http.StatusFound)
			return
		}
		pem, ok := f.certs[r.URL.Path]
		if !ok {
			f.fail(w, http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
			return
		}
		w.Header().Set("Content-Type", "application/x-pem-file")
		_, _ = w.Write(pem)
		return
	case r.URL.Path == "/v1/oauth2/token":
		f.token(w, r)
		return
	}
	if !f.tokens[strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")] {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_token","error_description":"Token signature verification failed"}`))
		return
	}
	var body map[string]any
	if len(raw) > 0 {
		_ = json.Unmarshal(raw, &body)
	}
	f.requests = append(f.requests, fakeRequest{Method: r.Method, Path: r.URL.Path, RequestID: rid, Body: body})
	if r.Method == http.MethodPost {
		if rid == "" {
			f.noRequestID = append(f.noRequestID, r.URL.Path)
		} else if prev, ok := f.byRequestID[rid]; ok {
			if prev.path != r.URL.Path {
				f.fail(w, http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "DUPLICATE_REQUEST_ID")
				return
			}
			w.WriteHeader(prev.status)
			_, _ = w.Write(prev.body)
			return
		}
	}
	var status int
	var answer any
	if r.Method == http.MethodGet && r.URL.Path == "/v1/reporting/transactions" {
		status, answer = f.searchTransactions(r.URL.Query())
	} else {
		status, answer = f.route(r.Method, r.URL.Path, body)
	}
	out, _ := json.Marshal(answer)
	if r.Method == http.MethodPost && rid != "" && status < 300 {
		f.byRequestID[rid] = fakeAnswer{path: r.URL.Path, status: status, body: out}
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

func (f *fakeAPI) token(w http.ResponseWriter, r *http.Request) {
	id, secret, ok := r.BasicAuth()
	if !ok || id != fakeClientID || secret != fakeSecret {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = w.Write([]byte(`{"error":"invalid_client","error_description":"Client Authentication failed"}`))
		return
	}
	f.tokenFetches++
	tok := fmt.Sprintf("A21AAfake%d", f.tokenFetches)
	f.tokens[tok] = true
	_ = json.NewEncoder(w).Encode(map[string]any{"scope": "https://uri.paypal.com/services/payments/payment",
		"access_token": tok, "token_type": "Bearer", "app_id": "APP-80W284485P519543T", "expires_in": 32400, "nonce": "fake"})
}

func (f *fakeAPI) route(method, path string, body map[string]any) (int, any) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case method == http.MethodPost && path == "/v2/checkout/orders":
		return http.StatusCreated, f.orderJSON(f.createOrder(body))
	case len(parts) >= 4 && parts[0] == "v2" && parts[1] == "checkout" && parts[2] == "orders":
		o, ok := f.orders[parts[3]]
		if !ok {
			return f.refusal(http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		}
		switch {
		case method == http.MethodGet && len(parts) == 4:
			return http.StatusOK, f.orderJSON(o)
		case method == http.MethodPost && len(parts) == 5 && parts[4] == "capture":
			return f.captureOrder(o)
		case method == http.MethodPost && len(parts) == 5 && parts[4] == "authorize":
			return f.authorizeOrder(o)
		}
	case len(parts) >= 4 && parts[0] == "v2" && parts[1] == "payments" && parts[2] == "authorizations":
		a, ok := f.auths[parts[3]]
		if !ok {
			return f.refusal(http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		}
		switch {
		case method == http.MethodGet && len(parts) == 4:
			return http.StatusOK, f.authJSON(a)
		case method == http.MethodPost && len(parts) == 5 && parts[4] == "capture":
			return f.captureAuth(a, body)
		case method == http.MethodPost && len(parts) == 5 && parts[4] == "void":
			if a.Status != "CREATED" && a.Status != "PARTIALLY_CAPTURED" {
				return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "CANNOT_BE_VOIDED")
			}
			a.Status = "VOIDED"
			return http.StatusOK, f.authJSON(a)
		}
	case method == http.MethodGet && len(parts) == 4 && parts[0] == "v2" && parts[1] == "payments" && parts[2] == "refunds":
		r, ok := f.refunds[parts[3]]
		if !ok {
			return f.refusal(http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		}
		return http.StatusOK, f.refundJSON(r)
	case len(parts) >= 4 && parts[0] == "v2" && parts[1] == "payments" && parts[2] == "captures":
		c, ok := f.captures[parts[3]]
		if !ok {
			return f.refusal(http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
		}
		switch {
		case method == http.MethodGet && len(parts) == 4:
			return http.StatusOK, f.captureJSON(c)
		case method == http.MethodPost && len(parts) == 5 && parts[4] == "refund":
			return f.refund(c, body)
		}
	}
	return f.refusal(http.StatusNotFound, "RESOURCE_NOT_FOUND", "INVALID_RESOURCE_ID")
}

func (f *fakeAPI) id(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s%013dT", prefix, f.seq)
}

func (f *fakeAPI) createOrder(body map[string]any) *fakeOrder {
	unit := body["purchase_units"].([]any)[0].(map[string]any)
	amount := unit["amount"].(map[string]any)
	m, err := payments.ParseMoney(amount["value"].(string), amount["currency_code"].(string))
	require.NoError(f.t, err)
	o := &fakeOrder{ID: f.id("5O"), Intent: body["intent"].(string), Status: "CREATED", Amount: m}
	o.CustomID, _ = unit["custom_id"].(string)
	o.InvoiceID, _ = unit["invoice_id"].(string)
	o.Description, _ = unit["description"].(string)
	f.orders[o.ID] = o
	return o
}

func (f *fakeAPI) captureOrder(o *fakeOrder) (int, any) {
	switch {
	case o.Intent != "CAPTURE":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
	case o.Status == "COMPLETED":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_CAPTURED")
	case o.Status != "APPROVED":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
	}
	f.newCapture(o, "", o.Amount)
	o.Status = "COMPLETED"
	return http.StatusCreated, f.orderJSON(o)
}

func (f *fakeAPI) authorizeOrder(o *fakeOrder) (int, any) {
	switch {
	case o.Intent != "AUTHORIZE":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ACTION_DOES_NOT_MATCH_INTENT")
	case o.Status == "COMPLETED":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_ALREADY_AUTHORIZED")
	case o.Status != "APPROVED":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "ORDER_NOT_APPROVED")
	}
	a := &fakeAuth{ID: f.id("0VF"), OrderID: o.ID, Status: "CREATED", Amount: o.Amount,
		Captured: payments.Money{Currency: o.Amount.Currency}}
	f.auths[a.ID] = a
	o.Auths, o.Status = append(o.Auths, a.ID), "COMPLETED"
	return http.StatusCreated, f.orderJSON(o)
}

func (f *fakeAPI) captureAuth(a *fakeAuth, body map[string]any) (int, any) {
	switch a.Status {
	case "CREATED", "PARTIALLY_CAPTURED":
	case "VOIDED":
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_VOIDED")
	default:
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "AUTHORIZATION_ALREADY_CAPTURED")
	}
	left := payments.Money{Amount: a.Amount.Amount - a.Captured.Amount, Currency: a.Amount.Currency}
	amount := left
	if m, ok := body["amount"].(map[string]any); ok {
		var err error
		amount, err = payments.ParseMoney(m["value"].(string), m["currency_code"].(string))
		require.NoError(f.t, err)
	}
	if amount.Currency != left.Currency || amount.Amount <= 0 || amount.Amount > left.Amount {
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "MAX_CAPTURE_AMOUNT_EXCEEDED")
	}
	o := f.orders[a.OrderID]
	c := f.newCapture(o, a.ID, amount)
	a.Captured.Amount += amount.Amount
	a.Status = "PARTIALLY_CAPTURED"
	if final, _ := body["final_capture"].(bool); final || a.Captured.Amount == a.Amount.Amount {
		a.Status = "CAPTURED"
	}
	return http.StatusCreated, f.captureJSON(c)
}

func (f *fakeAPI) newCapture(o *fakeOrder, authID string, amount payments.Money) *fakeCapture {
	c := &fakeCapture{ID: f.id("3C6"), OrderID: o.ID, AuthID: authID, Status: "COMPLETED",
		CustomID: o.CustomID, InvoiceID: o.InvoiceID, Amount: amount}
	f.captures[c.ID] = c
	o.Captures = append(o.Captures, c.ID)
	f.ledger = append(f.ledger, fakeTransaction{ID: c.ID, Code: "T0006", At: transactionTime()})
	return c
}

// refund refunds what is left of a capture, or the amount asked, counting
// refunds still pending as taken, as PayPal does.
func (f *fakeAPI) refund(c *fakeCapture, body map[string]any) (int, any) {
	if c.Status != "COMPLETED" && c.Status != "PARTIALLY_REFUNDED" {
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "CAPTURE_FULLY_REFUNDED")
	}
	left := payments.Money{Amount: c.Amount.Amount - f.refunded(c.ID, false), Currency: c.Amount.Currency}
	amount := left
	if m, ok := body["amount"].(map[string]any); ok {
		var err error
		amount, err = payments.ParseMoney(m["value"].(string), m["currency_code"].(string))
		require.NoError(f.t, err)
	}
	if amount.Currency != left.Currency || amount.Amount <= 0 || amount.Amount > left.Amount {
		return f.refusal(http.StatusUnprocessableEntity, "UNPROCESSABLE_ENTITY", "REFUND_AMOUNT_EXCEEDED")
	}
	r := &fakeRefund{ID: f.id("1JU"), CaptureID: c.ID, Status: f.refundStatus, Amount: amount}
	r.CustomID, _ = body["custom_id"].(string)
	f.refunds[r.ID] = r
	f.ledger = append(f.ledger, fakeTransaction{ID: r.ID, Code: "T1107", At: transactionTime()})
	f.settleCapture(c)
	return http.StatusCreated, f.refundJSON(r)
}

// refunded is what the capture's refunds add up to: completed ones, and
// pending ones unless completedOnly.
func (f *fakeAPI) refunded(captureID string, completedOnly bool) int64 {
	var sum int64
	for _, r := range f.refunds {
		if r.CaptureID == captureID && (r.Status == "COMPLETED" || r.Status == "PENDING" && !completedOnly) {
			sum += r.Amount.Amount
		}
	}
	return sum
}

func (f *fakeAPI) settleCapture(c *fakeCapture) {
	switch done := f.refunded(c.ID, true); {
	case done == c.Amount.Amount:
		c.Status = "REFUNDED"
	case done > 0:
		c.Status = "PARTIALLY_REFUNDED"
	}
}

func (f *fakeAPI) refusal(status int, name, issue string) (int, any) {
	return status, map[string]any{"name": name, "message": "The requested action could not be performed.",
		"debug_id": "f4k3d3bu91d", "details": []any{map[string]any{"issue": issue, "description": issue}}}
}

func (f *fakeAPI) fail(w http.ResponseWriter, status int, name, issue string) {
	_, body := f.refusal(status, name, issue)
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
