package cryptomus_test

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/cryptomus"
)

// fakeAPI is an httptest stand-in for api.cryptomus.com. It checks every
// request's merchant header and its sign against the raw bytes received,
// under the key its path needs. A path given an answer (answer) gets that
// answer; otherwise invoices and refunds are kept as Cryptomus keeps them:
// creating an invoice echoes the order with a fresh uuid, and a known
// order_id gets its first invoice back; a refund is accepted for a paid
// invoice and refused for one that is not; the payment history lists the
// invoices by creation date, perPage at a time (see list).
type fakeAPI struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	answers  map[string]answer
	keys     map[string]string // path → key expected (default paymentKey)
	requests []apiRequest
	invoices map[string]*fakeInvoice // by uuid
	orders   map[string]string       // order_id → uuid
	order    []string                // uuids, in the order they were created
	perPage  int                     // the history's page size
	// created is when the next invoice is created (default: now).
	created func() time.Time
}

type answer struct {
	status int
	body   string
}

type apiRequest struct {
	Path   string
	Query  url.Values
	Body   []byte
	Fields map[string]any
}

// fakeInvoice is an invoice the fake holds, with what a webhook of it
// echoes.
type fakeInvoice struct {
	UUID, OrderID, Amount, Currency, AdditionalData, Status string
	// PaymentAmount and PayerCurrency are what the customer paid, once
	// they have (settle).
	PaymentAmount, PayerCurrency string
	CreatedAt, UpdatedAt         time.Time
	// Refunds counts the refund requests Cryptomus accepted for it.
	Refunds int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, answers: map[string]answer{}, keys: map[string]string{},
		invoices: map[string]*fakeInvoice{}, orders: map[string]string{}, perPage: 15, created: time.Now}
	f.server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.server.Close)
	return f
}

func (f *fakeAPI) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	require.NoError(f.t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	key, ok := f.keys[r.URL.Path]
	if !ok {
		key = paymentKey
	}
	var fields map[string]any
	_ = json.Unmarshal(body, &fields)
	f.requests = append(f.requests, apiRequest{Path: r.URL.Path, Query: r.URL.Query(), Body: body, Fields: fields})

	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.Header.Get("merchant") != merchantID || r.Header.Get("sign") != md5Sign(string(body), key):
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Invalid Sign."}`)
	default:
		a := f.route(r.URL.Path, r.URL.Query(), fields)
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}
}

func (f *fakeAPI) route(path string, query url.Values, fields map[string]any) answer {
	if a, ok := f.answers[path]; ok {
		return a
	}
	switch path {
	case "/v1/payment":
		return f.createInvoice(fields)
	case "/v1/payment/refund":
		return f.refund(fields)
	case "/v1/payment/list":
		return f.list(query, fields)
	}
	return answer{status: http.StatusNotFound}
}

// createInvoice answers as Cryptomus does
// (https://doc.cryptomus.com/business/payments/creating-invoice): a new
// invoice in status check, or the invoice an order_id already names.
func (f *fakeAPI) createInvoice(fields map[string]any) answer {
	str := func(k string) string { s, _ := fields[k].(string); return s }
	orderID := str("order_id")
	if orderID == "" || str("amount") == "" || str("currency") == "" {
		return answer{http.StatusUnprocessableEntity, `{"state":1,"errors":{"order_id":["validation.required"]}}`}
	}
	inv, ok := f.invoices[f.orders[orderID]]
	if !ok {
		at := f.created().Truncate(time.Second)
		inv = &fakeInvoice{UUID: newUUID(f.t), OrderID: orderID, Amount: str("amount"), Currency: str("currency"),
			AdditionalData: str("additional_data"), Status: "check", CreatedAt: at, UpdatedAt: at}
		f.invoices[inv.UUID] = inv
		f.orders[orderID] = inv.UUID
		f.order = append(f.order, inv.UUID)
	}
	return answer{http.StatusOK, `{"state":0,"result":` + string(inv.item()) + `}`}
}

// item is the invoice as payment information and the payment history
// write it (https://doc.cryptomus.com/business/payments/payment-information),
// dated in UTC+3 as Cryptomus dates its invoices.
func (inv *fakeInvoice) item() []byte {
	orNull := func(s string) any {
		if s == "" {
			return nil
		}
		return s
	}
	final := inv.Status != "check" && inv.Status != "process" && inv.Status != "refund_process"
	result, err := json.Marshal(map[string]any{
		"uuid": inv.UUID, "order_id": inv.OrderID, "amount": inv.Amount, "currency": inv.Currency,
		"payment_amount": orNull(inv.PaymentAmount), "payer_amount": orNull(inv.PaymentAmount),
		"payer_currency": orNull(inv.PayerCurrency), "merchant_amount": nil, "comments": nil,
		"network": nil, "address": nil, "from": nil, "txid": nil, "payment_status": inv.Status,
		"url": "https://pay.cryptomus.com/pay/" + inv.UUID, "expired_at": inv.CreatedAt.Add(time.Hour).Unix(), "status": inv.Status,
		"is_final": final, "additional_data": orNull(inv.AdditionalData),
		"created_at": inv.CreatedAt.In(utcPlus3).Format(time.RFC3339), "updated_at": inv.UpdatedAt.In(utcPlus3).Format(time.RFC3339),
	})
	if err != nil {
		panic(err) // a map of strings, numbers and nil always marshals
	}
	return result
}

var utcPlus3 = time.FixedZone("UTC+3", 3*60*60)

// list answers the payment history
// (https://doc.cryptomus.com/business/payments/payment-history): the
// invoices created between date_from and date_to (inclusive, on the UTC+3
// clock), newest first, perPage at a time, the next page named by an
// opaque cursor in the query. A cursor the fake did not issue is a 422.
func (f *fakeAPI) list(query url.Values, fields map[string]any) answer {
	bound := func(k string) (time.Time, bool) {
		s, _ := fields[k].(string)
		if s == "" {
			return time.Time{}, true
		}
		t, err := time.ParseInLocation("2006-01-02 15:04:05", s, utcPlus3)
		return t, err == nil
	}
	from, okFrom := bound("date_from")
	to, okTo := bound("date_to")
	if !okFrom || !okTo {
		return answer{http.StatusUnprocessableEntity, `{"state":1,"errors":{"date_from":["validation.date_format"]}}`}
	}
	var matched []*fakeInvoice
	for i := len(f.order) - 1; i >= 0; i-- {
		inv := f.invoices[f.order[i]]
		if (from.IsZero() || !inv.CreatedAt.Before(from)) && (to.IsZero() || !inv.CreatedAt.After(to)) {
			matched = append(matched, inv)
		}
	}
	start := 0
	if c := query.Get("cursor"); c != "" {
		raw, err := base64.RawURLEncoding.DecodeString(c)
		n, convErr := strconv.Atoi(string(raw))
		if err != nil || convErr != nil || n <= 0 || n > len(matched) {
			return answer{http.StatusUnprocessableEntity, `{"state":1,"message":"Invalid cursor"}`}
		}
		start = n
	}
	end := min(start+f.perPage, len(matched))
	items := make([]json.RawMessage, 0, end-start)
	for _, inv := range matched[start:end] {
		items = append(items, inv.item())
	}
	var next any
	if end < len(matched) {
		next = base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(end)))
	}
	result, err := json.Marshal(map[string]any{
		"items": items,
		"paginate": map[string]any{"count": len(items), "hasPages": len(matched) > f.perPage,
			"nextCursor": next, "previousCursor": nil, "perPage": f.perPage},
	})
	require.NoError(f.t, err)
	return answer{http.StatusOK, `{"state":0,"result":` + string(result) + `}`}
}

// refund accepts a refund of a paid invoice, or of one whose refund is
// under way, and moves it to refund_process. Cryptomus documents no answer
// for the second case; accepting it again is what a retried Refund meets
// at worst, since it takes no idempotency key. An invoice that is not paid
// is refused with a message of the fake's own.
func (f *fakeAPI) refund(fields map[string]any) answer {
	uuid, _ := fields["uuid"].(string)
	inv, ok := f.invoices[uuid]
	if !ok {
		return answer{http.StatusUnprocessableEntity, `{"state":1,"message":"Payment was not found"}`}
	}
	switch inv.Status {
	case "paid", "paid_over", "refund_process":
	default:
		return answer{http.StatusUnprocessableEntity, `{"state":1,"message":"The invoice is not paid"}`}
	}
	inv.Status = "refund_process"
	inv.Refunds++
	return answer{http.StatusOK, `{"state":0,"result":[]}`}
}

// settle moves an invoice the fake made to status, as the customer paying
// it or Cryptomus paying its refund would, and returns it.
func (f *fakeAPI) settle(t *testing.T, uuid, status string) fakeInvoice {
	f.mu.Lock()
	defer f.mu.Unlock()
	inv, ok := f.invoices[uuid]
	require.True(t, ok, "the fake made no invoice %s", uuid)
	inv.Status = status
	inv.UpdatedAt = time.Now().Truncate(time.Second)
	if inv.PaymentAmount == "" && status != "check" && status != "cancel" {
		inv.PaymentAmount, inv.PayerCurrency = inv.Amount, inv.Currency
	}
	return *inv
}

func (f *fakeAPI) answer(path string, status int, body string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.answers[path] = answer{status, body}
}

func (f *fakeAPI) last() apiRequest {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotEmpty(f.t, f.requests)
	return f.requests[len(f.requests)-1]
}

func (f *fakeAPI) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func (f *fakeAPI) gateway(mutate ...func(*cryptomus.Config)) *cryptomus.Gateway {
	return newGateway(f.t, append([]func(*cryptomus.Config){func(c *cryptomus.Config) {
		c.BaseURL = f.server.URL + "/"
		c.CallbackURL = "https://shop.example/payments/cryptomus-handleWebhookEvents"
	}}, mutate...)...)
}

// newUUID returns a random version 4 uuid, as Cryptomus's invoice ids are.
func newUUID(t *testing.T) string {
	var b [16]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
