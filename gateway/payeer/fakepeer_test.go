package payeer_test

import (
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

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
)

// fakePayeer is an httptest stand-in for Payeer: its /merchant/ page is
// where checkouts send the customer, and it refuses a form whose m_sign
// does not verify (computed here independently of the driver) or whose
// m_params does not decrypt; /api is Payeer's API for the API user below.
// Opening the page holds the order as Payeer does; paying it gives the
// order an operation number, once, and produces the signed callback
// Payeer posts to the status URL, with m_params brought back as the JSON
// the shop encrypted.
type fakePayeer struct {
	t      *testing.T
	server *httptest.Server
	key    string // the merchant's secret key
	params string // the merchant's key for additional parameters

	mu       sync.Mutex
	orders   map[string]*fakeOrder
	nextOp   int
	apiCalls int
}

// fakeOrder is an order the fake holds, as opened.
type fakeOrder struct {
	ID, Amount, Currency, Desc string
	// Params is m_params decrypted: the JSON Payeer posts back.
	Params string
	// Operation is Payeer's m_operation_id, set when the order is paid.
	Operation string
	Paid      bool
}

// The fake's API user.
const (
	apiAccount = "P1000000"
	apiID      = "12345"
	apiKey     = "qwerty-api-key"
)

func newFakePayeer(t *testing.T) *fakePayeer {
	f := &fakePayeer{t: t, key: testKey, params: testParamsKey, orders: map[string]*fakeOrder{}, nextOp: 1293284400}
	mux := http.NewServeMux()
	mux.HandleFunc("/merchant/", f.merchant)
	mux.HandleFunc("POST /api", f.api)
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

// config points a Config at the fake.
func (f *fakePayeer) config(c *payeer.Config) {
	c.MerchantURL = f.server.URL + "/merchant/"
	c.APIURL = f.server.URL + "/api"
	c.APIAccount, c.APIID, c.APIKey = apiAccount, apiID, apiKey
}

// merchant is Payeer's payment page: it checks the form as Payeer does
// and holds the order.
func (f *fakePayeer) merchant(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	values := []string{q.Get("m_shop"), q.Get("m_orderid"), q.Get("m_amount"), q.Get("m_curr"), q.Get("m_desc")}
	params := ""
	if p, ok := q["m_params"]; ok {
		values = append(values, p[0])
		if q.Get("m_cipher_method") != "AES-256-CBC" {
			http.Error(w, "unknown m_cipher_method", http.StatusBadRequest)
			return
		}
		plain, err := payeer.DecryptParams(f.params, q.Get("m_orderid"), p[0])
		if err != nil || !json.Valid(plain) {
			http.Error(w, "m_params does not decrypt", http.StatusBadRequest)
			return
		}
		params = string(plain)
	}
	if q.Get("m_shop") != testShop || q.Get("m_sign") != sha256Upper(f.key, values...) {
		http.Error(w, "Invalid sign", http.StatusBadRequest)
		return
	}
	desc, err := base64.StdEncoding.DecodeString(q.Get("m_desc"))
	if err != nil {
		http.Error(w, "m_desc is not base64", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.orders[q.Get("m_orderid")]; !ok {
		f.orders[q.Get("m_orderid")] = &fakeOrder{ID: q.Get("m_orderid"), Amount: q.Get("m_amount"),
			Currency: q.Get("m_curr"), Desc: string(desc), Params: params}
	}
	fmt.Fprintln(w, "Payeer payment page")
}

// open is the customer following a checkout's RedirectURL.
func (f *fakePayeer) open(t *testing.T, redirectURL string) *fakeOrder {
	t.Helper()
	resp, err := http.Get(redirectURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "Payeer refused the form: %s", body)
	u, err := url.Parse(redirectURL)
	require.NoError(t, err)
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.orders[u.Query().Get("m_orderid")]
}

// pay has Payeer take the order, reported as amount (which a test may set
// to what Payeer should never report), and returns the callback. An order
// keeps the operation number it was first paid with.
func (f *fakePayeer) pay(t *testing.T, orderID string, amount payments.Money) []byte {
	t.Helper()
	f.mu.Lock()
	o := f.orders[orderID]
	require.NotNil(t, o, "order %s was never opened", orderID)
	if o.Operation == "" {
		o.Operation = strconv.Itoa(f.nextOp)
		f.nextOp++
	}
	o.Paid = true
	op, params, desc := o.Operation, o.Params, o.Desc
	f.mu.Unlock()
	fields := callbackFields(
		field{"m_operation_id", op}, field{"m_orderid", orderID},
		field{"m_amount", amount.Decimal()}, field{"m_curr", string(amount.Currency)},
		field{"m_desc", base64.StdEncoding.EncodeToString([]byte(desc))},
	)
	if params != "" {
		fields = append(fields, field{"m_params", params})
	}
	fields = append(fields, field{"summa_out", amount.Decimal()}, field{"client_email", "client@example.com"})
	return encodeCallback(fields, f.key)
}

// api is Payeer's API: the authorization check and paymentDetails.
func (f *fakePayeer) api(w http.ResponseWriter, r *http.Request) {
	require.NoError(f.t, r.ParseForm())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiCalls++
	w.Header().Set("Content-Type", "application/json")
	if r.PostForm.Get("account") != apiAccount || r.PostForm.Get("apiId") != apiID || r.PostForm.Get("apiPass") != apiKey {
		fmt.Fprint(w, `{"auth_error":"1","errors":["Auth error: account or apiId or apiPass is incorrect or api-user was blocked"]}`)
		return
	}
	switch r.PostForm.Get("action") {
	case "":
		fmt.Fprint(w, `{"auth_error":"0","errors":[]}`)
	case "paymentDetails":
		assert.Equal(f.t, testShop, r.PostForm.Get("merchantId"))
		items := []map[string]any{}
		if o := f.orders[r.PostForm.Get("referenceId")]; o != nil && o.Paid {
			items = append(items, map[string]any{
				"amount": json.Number(o.Amount), "currency": o.Currency, "description": o.Desc,
				"referenceId": o.ID, "created": "2020-01-20 14:05:30", "processed": "2020-01-20 14:05:48",
				"paySystemName": "Payeer", "paySystemId": "2609", "clientAmount": json.Number(o.Amount),
				"clientCurrency": o.Currency, "clientAccount": "P1000001", "clientEmail": "client@payeer.com",
				"profitAmount": json.Number("24.75"), "profitCurrency": o.Currency, "profitTransactionId": "928562504",
				"merchantTransactionId": "928562360", "created_ts": 1579518330, "processed_ts": 1579518348,
				"merchantFee": json.Number("0.25"), "merchantCurrency": o.Currency,
			})
		}
		json.NewEncoder(w).Encode(map[string]any{"auth_error": "0", "errors": []string{}, "success": true, "items": items})
	default:
		fmt.Fprint(w, `{"auth_error":"0","errors":["unknown action"]}`)
	}
}

func (f *fakePayeer) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiCalls
}
