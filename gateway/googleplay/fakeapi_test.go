package googleplay_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/api/androidpublisher/v3"
)

// fakePlay stands in for the Google Play Developer API endpoints the driver
// calls, answering from purchases it holds and moving them as Google does
// (https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.products):
// acknowledging or consuming a purchase that is not purchased is refused
// with 400, an unknown token is 404, a token asked with another product id
// is 400. Responses are encoded by the androidpublisher types themselves,
// so int64 fields travel as strings as they do from Google. The voided
// purchases list filters on when the fake saw each void (as Google filters
// on when its systems saw it), pages two records at a time with page
// tokens, and returns one-time products only unless type=1.
type fakePlay struct {
	*httptest.Server
	mu       sync.Mutex
	products map[string]*fakeProduct // by purchase token
	subs     map[string]*androidpublisher.SubscriptionPurchaseV2
	orders   map[string]*androidpublisher.Order
	voided   []fakeVoid
	calls    []string
	failNext int // status of the next call, once
	failOn   int // the ordinal (1-based) of a call to fail with failNext
	seq      int
}

type fakeProduct struct {
	productID string
	p         *androidpublisher.ProductPurchase
}

type fakeVoid struct {
	v       *androidpublisher.VoidedPurchase
	oneTime bool
	seenAt  time.Time
}

const apiPrefix = "/androidpublisher/v3/applications/" + packageName + "/"

func newFakePlay(t testing.TB) *fakePlay {
	f := &fakePlay{products: map[string]*fakeProduct{}, subs: map[string]*androidpublisher.SubscriptionPurchaseV2{},
		orders: map[string]*androidpublisher.Order{}}
	f.Server = httptest.NewServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.Close)
	return f
}

// purchase makes a one-time purchase the fake holds, purchased and neither
// acknowledged nor consumed, and returns its token.
func (f *fakePlay) purchase(productID, account string, edit ...func(*androidpublisher.ProductPurchase)) (token, orderID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	token = fmt.Sprintf("tok-%s-%04d-abcdefghijklmnop", productID, f.seq)
	orderID = fmt.Sprintf("GPA.3300-1111-2222-%05d", f.seq)
	p := &androidpublisher.ProductPurchase{Kind: "androidpublisher#productPurchase", OrderId: orderID,
		PurchaseTimeMillis: 1_700_000_000_000 + int64(f.seq), ObfuscatedExternalAccountId: account,
		ProductId: productID, PurchaseToken: token, Quantity: 1, RefundableQuantity: 1, RegionCode: "US"}
	for _, e := range edit {
		e(p)
	}
	f.products[p.PurchaseToken] = &fakeProduct{productID: productID, p: p}
	return p.PurchaseToken, p.OrderId
}

// subscription makes a subscription the fake holds and returns its token
// (a new one unless token is given).
func (f *fakePlay) subscription(s *androidpublisher.SubscriptionPurchaseV2, token ...string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	t := fmt.Sprintf("sub-tok-%04d-abcdefghijklmnop", f.seq)
	if len(token) > 0 {
		t = token[0]
	}
	f.subs[t] = s
	return t
}

// editSubscription changes a subscription the fake holds, as a renewal or
// a state change does.
func (f *fakePlay) editSubscription(token string, edit func(*androidpublisher.SubscriptionPurchaseV2)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	edit(f.subs[token])
}

func (f *fakePlay) subscriptionState(token string) androidpublisher.SubscriptionPurchaseV2 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.subs[token]
}

func (f *fakePlay) order(o *androidpublisher.Order) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.orders[o.OrderId] = o
}

// voidOneTime voids units of a one-time purchase, as a (partial) refund.
func (f *fakePlay) voidOneTime(token string, units int64, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p := f.products[token].p
	p.RefundableQuantity -= units
	v := &androidpublisher.VoidedPurchase{Kind: "androidpublisher#voidedPurchase", OrderId: p.OrderId,
		PurchaseToken: token, PurchaseTimeMillis: p.PurchaseTimeMillis, VoidedTimeMillis: at.UnixMilli(),
		VoidedReason: 1, VoidedSource: 0}
	if p.RefundableQuantity > 0 { // the rest refunded is a full refund, as the RTDN reference says
		v.VoidedQuantity = units
	}
	f.voided = append(f.voided, fakeVoid{v: v, oneTime: true, seenAt: at})
}

// voidSubscriptionOrder voids one order of a subscription.
func (f *fakePlay) voidSubscriptionOrder(token, orderID string, at time.Time) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.voided = append(f.voided, fakeVoid{seenAt: at, v: &androidpublisher.VoidedPurchase{
		Kind: "androidpublisher#voidedPurchase", OrderId: orderID, PurchaseToken: token,
		VoidedTimeMillis: at.UnixMilli(), VoidedReason: 7, VoidedSource: 2}})
}

func (f *fakePlay) product(token string) androidpublisher.ProductPurchase {
	f.mu.Lock()
	defer f.mu.Unlock()
	return *f.products[token].p
}

func (f *fakePlay) callLog() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakePlay) failNextCall(status int) { f.failNth(1, status) }

// failNth fails the n-th call from now with status, once.
func (f *fakePlay) failNth(n, status int) {
	f.mu.Lock()
	f.failNext, f.failOn = status, len(f.calls)+n
	f.mu.Unlock()
}

func (f *fakePlay) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	rest, ok := strings.CutPrefix(r.URL.EscapedPath(), apiPrefix)
	f.calls = append(f.calls, r.Method+" "+rest)
	if !ok {
		writeError(w, http.StatusNotFound, "no such package")
		return
	}
	if f.failNext != 0 && len(f.calls) == f.failOn {
		status := f.failNext
		f.failNext = 0
		writeError(w, status, "injected failure")
		return
	}
	parts := strings.Split(rest, "/")
	for i := range parts {
		parts[i], _ = url.PathUnescape(parts[i])
	}
	switch {
	case len(parts) == 5 && parts[0] == "purchases" && parts[1] == "products" && parts[3] == "tokens":
		f.serveProduct(w, r, parts[2], parts[4])
	case len(parts) == 4 && parts[0] == "purchases" && parts[1] == "productsv2" && r.Method == http.MethodGet:
		f.serveProductV2(w, parts[3])
	case len(parts) == 4 && parts[0] == "purchases" && parts[1] == "subscriptionsv2" && r.Method == http.MethodGet:
		f.serveSubscription(w, parts[3])
	case len(parts) == 5 && parts[0] == "purchases" && parts[1] == "subscriptions" && r.Method == http.MethodPost:
		f.acknowledgeSubscription(w, parts[2], strings.TrimSuffix(parts[4], ":acknowledge"))
	case len(parts) == 2 && parts[0] == "purchases" && parts[1] == "voidedpurchases":
		f.listVoided(w, r.URL.Query())
	case len(parts) == 2 && parts[0] == "orders":
		if o, ok := f.orders[parts[1]]; ok {
			writeJSON(w, o)
			return
		}
		writeError(w, http.StatusNotFound, "order not found")
	default:
		writeError(w, http.StatusNotFound, "unknown method")
	}
}

func (f *fakePlay) serveProduct(w http.ResponseWriter, r *http.Request, productID, tokenAndVerb string) {
	token, verb, _ := strings.Cut(tokenAndVerb, ":")
	fp, ok := f.products[token]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "The purchase token was not found.")
		return
	case fp.productID != productID:
		writeError(w, http.StatusBadRequest, "The purchase token does not match the product ID.")
		return
	}
	p := fp.p
	switch {
	case verb == "" && r.Method == http.MethodGet:
		writeJSON(w, p)
	case verb == "acknowledge" && r.Method == http.MethodPost:
		if p.PurchaseState != 0 {
			writeError(w, http.StatusBadRequest, "The purchase is not in a valid state to perform the desired operation.")
			return
		}
		p.AcknowledgementState = 1
		w.WriteHeader(http.StatusNoContent)
	case verb == "consume" && r.Method == http.MethodPost:
		if p.PurchaseState != 0 || p.ConsumptionState == 1 {
			writeError(w, http.StatusBadRequest, "The purchase is not in a valid state to perform the desired operation.")
			return
		}
		p.ConsumptionState, p.AcknowledgementState = 1, 1
		w.WriteHeader(http.StatusNoContent)
	default:
		writeError(w, http.StatusNotFound, "unknown method")
	}
}

// serveProductV2 answers purchases.productsv2.getproductpurchasev2 from
// the same purchases.
func (f *fakePlay) serveProductV2(w http.ResponseWriter, token string) {
	fp, ok := f.products[token]
	if !ok {
		writeError(w, http.StatusNotFound, "The purchase token was not found.")
		return
	}
	p := fp.p
	states := map[int64]string{0: "PURCHASED", 1: "CANCELLED", 2: "PENDING"}
	v2 := &androidpublisher.ProductPurchaseV2{Kind: "androidpublisher#productPurchaseV2", OrderId: p.OrderId,
		ObfuscatedExternalAccountId: p.ObfuscatedExternalAccountId, RegionCode: p.RegionCode,
		PurchaseStateContext: &androidpublisher.PurchaseStateContext{PurchaseState: states[p.PurchaseState]},
		ProductLineItem: []*androidpublisher.ProductLineItem{{ProductId: fp.productID,
			ProductOfferDetails: &androidpublisher.ProductOfferDetails{Quantity: p.Quantity, RefundableQuantity: p.RefundableQuantity}}}}
	if p.PurchaseType != nil && *p.PurchaseType == 0 {
		v2.TestPurchaseContext = &androidpublisher.TestPurchaseContext{FopType: "TEST"}
	}
	writeJSON(w, v2)
}

func (f *fakePlay) serveSubscription(w http.ResponseWriter, token string) {
	s, ok := f.subs[token]
	if !ok {
		writeError(w, http.StatusNotFound, "The purchase token was not found.")
		return
	}
	writeJSON(w, s)
}

func (f *fakePlay) acknowledgeSubscription(w http.ResponseWriter, subscriptionID, token string) {
	s, ok := f.subs[token]
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "The purchase token was not found.")
	case len(s.LineItems) == 0 || s.LineItems[0].ProductId != subscriptionID:
		writeError(w, http.StatusBadRequest, "The subscription id does not match the token.")
	case s.SubscriptionState == "SUBSCRIPTION_STATE_PENDING":
		writeError(w, http.StatusBadRequest, "The purchase is not in a valid state to perform the desired operation.")
	default:
		s.AcknowledgementState = "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED"
		w.WriteHeader(http.StatusNoContent)
	}
}

// listVoided pages two records at a time; a page token carries the window,
// the type and the offset, as Google's carries what it needs.
func (f *fakePlay) listVoided(w http.ResponseWriter, q url.Values) {
	start, end, typ, offset := q.Get("startTime"), q.Get("endTime"), q.Get("type"), 0
	if tok := q.Get("token"); tok != "" {
		parts := strings.Split(tok, ",")
		start, end, typ = parts[0], parts[1], parts[2]
		offset, _ = strconv.Atoi(parts[3])
	}
	from, _ := strconv.ParseInt(start, 10, 64)
	to, _ := strconv.ParseInt(end, 10, 64)
	if to > time.Now().UnixMilli() {
		writeError(w, http.StatusBadRequest, "endTime cannot be greater than the current time")
		return
	}
	var match []*androidpublisher.VoidedPurchase
	for _, v := range f.voided {
		seen := v.seenAt.UnixMilli()
		if seen >= from && seen <= to && (typ == "1" || v.oneTime) {
			if v.v.VoidedQuantity > 0 && q.Get("includeQuantityBasedPartialRefund") != "true" {
				continue
			}
			match = append(match, v.v)
		}
	}
	resp := &androidpublisher.VoidedPurchasesListResponse{VoidedPurchases: match[min(offset, len(match)):min(offset+2, len(match))]}
	if offset+2 < len(match) {
		resp.TokenPagination = &androidpublisher.TokenPagination{NextPageToken: fmt.Sprintf("%s,%s,%s,%d", start, end, typ, offset+2)}
	}
	writeJSON(w, resp)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers as Google's APIs do
// (https://cloud.google.com/apis/design/errors#http_mapping).
func writeError(w http.ResponseWriter, status int, message string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{
		"code": status, "message": message,
		"errors": []map[string]string{{"message": message, "domain": "global", "reason": http.StatusText(status)}},
	}})
}
