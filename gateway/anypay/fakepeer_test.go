package anypay_test

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

// fakeAnypay is an httptest stand-in for Anypay: its /merchant page is
// where checkouts send the customer, and it refuses a link whose sign does
// not verify (computed here independently of the driver, under SHA-256 or
// the project's legacy MD5); /api/<method>/<API id> is Anypay's API for
// the credentials below. Opening the page holds the payment as Anypay
// does; paying it gives it a transaction number, once, and produces the
// signed notification Anypay posts.
type fakeAnypay struct {
	t      *testing.T
	server *httptest.Server
	md5    bool // the project signs with MD5

	mu       sync.Mutex
	payments map[string]*fakePayment // by pay_id
	nextTx   int
	apiCalls int
}

type fakePayment struct {
	PayID, Amount, Currency, Desc, Status string
	TransactionID                         string
}

// The fake's API credentials.
const (
	apiID  = "12345"
	apiKey = "api-key-0f3a"
)

func newFakeAnypay(t *testing.T, md5 bool) *fakeAnypay {
	f := &fakeAnypay{t: t, md5: md5, payments: map[string]*fakePayment{}, nextTx: 4950030}
	mux := http.NewServeMux()
	mux.HandleFunc("/merchant", f.merchant)
	mux.HandleFunc("POST /api/{method}/{id}", f.api)
	f.server = httptest.NewServer(mux)
	t.Cleanup(f.server.Close)
	return f
}

// config points a Config at the fake.
func (f *fakeAnypay) config(c *anypay.Config) {
	c.MerchantURL = f.server.URL + "/merchant"
	c.APIURL = f.server.URL + "/api"
	c.APIID, c.APIKey = apiID, apiKey
	c.SignMD5 = f.md5
}

func hexSum(s string, md bool) string {
	if md {
		return md5Hex(s)
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// merchant is Anypay's payment page.
func (f *fakeAnypay) merchant(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	q := r.Form
	want := hexSum(strings.Join([]string{q.Get("merchant_id"), q.Get("pay_id"), q.Get("amount"), q.Get("currency"),
		q.Get("desc"), q.Get("success_url"), q.Get("fail_url"), testSecret}, ":"), false)
	if f.md5 {
		want = hexSum(strings.Join([]string{q.Get("currency"), q.Get("amount"), testSecret, q.Get("merchant_id"), q.Get("pay_id")}, ":"), true)
	}
	if q.Get("merchant_id") != testMerchant || q.Get("sign") != want {
		http.Error(w, "Неверная подпись", http.StatusBadRequest)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if _, ok := f.payments[q.Get("pay_id")]; !ok {
		f.payments[q.Get("pay_id")] = &fakePayment{PayID: q.Get("pay_id"), Amount: q.Get("amount"), Currency: q.Get("currency"),
			Desc: q.Get("desc"), Status: "waiting"}
	}
	fmt.Fprintln(w, "Anypay payment page")
}

// open is the customer following a checkout's RedirectURL.
func (f *fakeAnypay) open(t *testing.T, redirectURL string) {
	t.Helper()
	resp, err := http.Get(redirectURL)
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "Anypay refused the link: %s", body)
}

// pay has Anypay take the payment, reported as amount (which a test may
// set to what Anypay should never report), and returns the notification.
func (f *fakeAnypay) pay(t *testing.T, payID string, amount payments.Money) []byte {
	t.Helper()
	f.mu.Lock()
	p := f.payments[payID]
	require.NotNil(t, p, "payment %s was never opened", payID)
	if p.TransactionID == "" {
		p.TransactionID = strconv.Itoa(f.nextTx)
		f.nextTx++
	}
	// Anypay's own record says what it reports.
	p.Status, p.Amount, p.Currency = "paid", amount.Decimal(), string(amount.Currency)
	tx := p.TransactionID
	f.mu.Unlock()
	return encodeNotification(notificationFields(
		field{"transaction_id", tx}, field{"pay_id", payID},
		field{"amount", amount.Decimal()}, field{"currency", string(amount.Currency)},
	), testSecret, f.md5)
}

// api is Anypay's API: balance and payments.
func (f *fakeAnypay) api(w http.ResponseWriter, r *http.Request) {
	require.NoError(f.t, r.ParseForm())
	f.mu.Lock()
	defer f.mu.Unlock()
	f.apiCalls++
	w.Header().Set("Content-Type", "application/json")
	method, id := r.PathValue("method"), r.PathValue("id")
	signed := ""
	if method == "payments" {
		signed = r.PostForm.Get("project_id")
	}
	if id != apiID || r.PostForm.Get("sign") != hexSum(method+id+signed+apiKey, false) {
		fmt.Fprint(w, `{"error":{"code":102,"message":"Неверная подпись запроса"}}`)
		return
	}
	switch method {
	case "balance":
		fmt.Fprint(w, `{"result":{"balance":1250.5}}`)
	case "payments":
		list := map[string]any{}
		for _, p := range f.payments {
			if p.PayID != r.PostForm.Get("pay_id") || p.TransactionID == "" {
				continue
			}
			n, _ := strconv.Atoi(p.TransactionID)
			list[p.TransactionID] = map[string]any{
				"transaction_id": n, "pay_id": p.PayID, "status": p.Status, "method": "card",
				"amount": json.Number(p.Amount), "currency": p.Currency, "profit": json.Number("95.00"),
				"email": "customer@example.com", "desc": p.Desc, "date": "01.02.2024 10:00:00", "pay_date": "01.02.2024 10:01:30",
			}
		}
		if len(list) == 0 {
			fmt.Fprint(w, `{"result":{"total":0,"payments":[]}}`)
			return
		}
		json.NewEncoder(w).Encode(map[string]any{"result": map[string]any{"total": len(list), "payments": list}})
	default:
		fmt.Fprint(w, `{"error":{"code":100,"message":"Неверный формат запроса"}}`)
	}
}

func (f *fakeAnypay) requestCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.apiCalls
}

// hold makes Anypay hold a paid payment nobody checked out through the
// driver, as one made elsewhere on the project would be.
func (f *fakeAnypay) hold(payID string, amount payments.Money) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.payments[payID] = &fakePayment{PayID: payID, Amount: amount.Decimal(), Currency: string(amount.Currency),
		Status: "paid", TransactionID: strconv.Itoa(f.nextTx)}
	f.nextTx++
}
