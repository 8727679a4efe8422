package cryptomus_test

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/cryptomus"
)

// fakeAPI is an httptest stand-in for api.cryptomus.com. It checks every
// request's merchant header and its sign against the raw bytes received,
// under the key its path needs. A path given an answer (answer) gets that
// answer; otherwise invoices and refunds are kept as Cryptomus keeps them:
// creating an invoice echoes the order with a fresh uuid, and a known
// order_id gets its first invoice back; a refund is accepted for a paid
// invoice and refused for one that is not.
type fakeAPI struct {
	t      *testing.T
	server *httptest.Server

	mu       sync.Mutex
	answers  map[string]answer
	keys     map[string]string // path → key expected (default paymentKey)
	requests []apiRequest
	invoices map[string]*fakeInvoice // by uuid
	orders   map[string]string       // order_id → uuid
}

type answer struct {
	status int
	body   string
}

type apiRequest struct {
	Path   string
	Body   []byte
	Fields map[string]any
}

// fakeInvoice is an invoice the fake holds, with what a webhook of it
// echoes.
type fakeInvoice struct {
	UUID, OrderID, Amount, Currency, AdditionalData, Status string
	// Refunds counts the refund requests Cryptomus accepted for it.
	Refunds int
}

func newFakeAPI(t *testing.T) *fakeAPI {
	f := &fakeAPI{t: t, answers: map[string]answer{}, keys: map[string]string{},
		invoices: map[string]*fakeInvoice{}, orders: map[string]string{}}
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
	f.requests = append(f.requests, apiRequest{Path: r.URL.Path, Body: body, Fields: fields})

	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/json":
		w.WriteHeader(http.StatusMethodNotAllowed)
	case r.Header.Get("merchant") != merchantID || r.Header.Get("sign") != md5Sign(string(body), key):
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Invalid Sign."}`)
	default:
		a := f.route(r.URL.Path, fields)
		w.WriteHeader(a.status)
		io.WriteString(w, a.body)
	}
}

func (f *fakeAPI) route(path string, fields map[string]any) answer {
	if a, ok := f.answers[path]; ok {
		return a
	}
	switch path {
	case "/v1/payment":
		return f.createInvoice(fields)
	case "/v1/payment/refund":
		return f.refund(fields)
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
		inv = &fakeInvoice{UUID: newUUID(f.t), OrderID: orderID, Amount: str("amount"), Currency: str("currency"),
			AdditionalData: str("additional_data"), Status: "check"}
		f.invoices[inv.UUID] = inv
		f.orders[orderID] = inv.UUID
	}
	var additional any
	if inv.AdditionalData != "" {
		additional = inv.AdditionalData
	}
	result, err := json.Marshal(map[string]any{
		"uuid": inv.UUID, "order_id": inv.OrderID, "amount": inv.Amount, "currency": inv.Currency,
		"payment_amount": nil, "payer_amount": nil, "payer_currency": nil, "merchant_amount": nil,
		"network": nil, "address": nil, "from": nil, "txid": nil, "payment_status": inv.Status,
		"url": "https://pay.cryptomus.com/pay/" + inv.UUID, "expired_at": 1689098133, "status": inv.Status,
		"is_final": false, "additional_data": additional,
		"created_at": "2023-07-11T20:23:52+03:00", "updated_at": "2023-07-11T21:24:17+03:00",
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
