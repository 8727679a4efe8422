package payeer_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// failingStore fails every commit, as a database that is down does.
type failingStore struct{ *memory.Store }

func (failingStore) Commit(context.Context, *payments.Batch) (*payments.BatchResult, error) {
	return nil, errors.New("payeer_test: the store is down")
}

// TestCallbacksThroughTheService sends callbacks through a Service and
// checks what each becomes: the outcome journaled, the reply Payeer reads,
// and that nothing reaches the ledger unless it should.
func TestCallbacksThroughTheService(t *testing.T) {
	peer := newFakePayeer(t)
	g := newGateway(t, peer.config, func(c *payeer.Config) { c.ParamsKey, c.CheckSenderIP = testParamsKey, true })
	store := memory.New()
	svc, err := payments.New(store, payments.WithGateway(g))
	require.NoError(t, err)
	ctx := t.Context()

	p, err := svc.Checkout(ctx, "payeer", payments.CheckoutRequest{Account: "user-42", Amount: usd(t, "25.00"), Reference: "order:1001:k3j2h1"})
	require.NoError(t, err)
	require.Equal(t, p.ID, p.GatewayID)
	peer.open(t, p.RedirectURL)
	paid := peer.pay(t, p.ID, p.Amount)

	deliver := func(body []byte, remote string) (*payments.WebhookResult, error) {
		return svc.HandleWebhook(ctx, "payeer", &payments.WebhookRequest{Body: body, RemoteAddr: remote})
	}
	type want struct {
		outcome  payments.Outcome
		verified bool
		status   int
		reply    string
	}
	check := func(name string, res *payments.WebhookResult, w want) {
		t.Helper()
		require.NotNil(t, res, name)
		assert.Equal(t, w.outcome, res.Notification.Outcome, "%s: %s", name, res.Notification.Detail)
		assert.Equal(t, w.verified, res.Notification.Verified, name)
		assert.Equal(t, w.status, res.Reply.Status, name)
		assert.Equal(t, w.reply, string(res.Reply.Body), name)
		assert.Equal(t, "text/plain; charset=utf-8", res.Reply.ContentType, name)
	}
	entries := func() []payments.Entry {
		t.Helper()
		es, _, err := svc.Entries(ctx, payments.EntryFilter{Gateway: "payeer"})
		require.NoError(t, err)
		return es
	}

	// Refused before anything is recorded.
	res, err := deliver(bytes.Replace(paid, []byte("m_amount=25.00"), []byte("m_amount=2500.00"), 1), payeerIP+":1")
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	check("tampered", res, want{payments.OutcomeRejected, false, http.StatusUnauthorized, p.ID + "|error"})
	res, _ = deliver(withoutField(paid, "m_sign"), payeerIP+":1")
	check("unsigned", res, want{payments.OutcomeRejected, false, http.StatusUnauthorized, p.ID + "|error"})
	res, _ = deliver(resign(paid, testShop, "stolen-elsewhere"), payeerIP+":1")
	check("wrong key", res, want{payments.OutcomeRejected, false, http.StatusUnauthorized, p.ID + "|error"})
	res, _ = deliver(paid, "203.0.113.7:1")
	check("wrong sender", res, want{payments.OutcomeRejected, false, http.StatusUnauthorized, p.ID + "|error"})
	res, _ = deliver(bytes.Replace(withoutField(paid, "m_sign"), []byte("m_orderid="+p.ID), []byte("m_orderid=%3Cscript%3E"), 1), payeerIP+":1")
	check("an order id that is no id is not echoed", res, want{payments.OutcomeRejected, false, http.StatusUnauthorized, "|error"})

	// Signed, but in another currency than the payment's: parked, and
	// acknowledged so that Payeer stops sending it.
	peer.mu.Lock()
	op := peer.orders[p.ID].Operation
	peer.mu.Unlock()
	eur := resign(bytes.Replace(paid, []byte("m_curr=USD"), []byte("m_curr=EUR"), 1), testShop, testKey)
	res, err = deliver(eur, payeerIP+":1")
	require.NoError(t, err)
	check("wrong currency", res, want{payments.OutcomeParked, true, http.StatusOK, p.ID + "|success"})
	assert.Contains(t, res.Notification.Detail, payments.ErrMismatch.Error())
	assert.Empty(t, entries(), "nothing booked")

	// The callback itself, then the same again (Payeer resending it), then
	// a replay of its journal row: one charge.
	res, err = deliver(paid, payeerIP+":1")
	require.NoError(t, err)
	check("paid", res, want{payments.OutcomeRecorded, true, http.StatusOK, p.ID + "|success"})
	res, err = deliver(paid, payeerIP+":1")
	require.NoError(t, err)
	check("resent", res, want{payments.OutcomeDuplicate, true, http.StatusOK, p.ID + "|success"})
	replayed, err := svc.Replay(ctx, res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, replayed.Notification.Outcome)
	require.Len(t, entries(), 1)
	assert.Equal(t, op, entries()[0].GatewayRef, "keyed by m_operation_id")
	assert.Equal(t, "user-42", entries()[0].Account)
	assert.Equal(t, p.ID, entries()[0].PaymentID)
	got, err := svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, got.Status)

	// A signed callback for the same operation with less: it contradicts
	// the ledger, is journaled, and Payeer hears an error.
	less := resign(bytes.Replace(paid, []byte("m_amount=25.00"), []byte("m_amount=5.00"), 1), testShop, testKey)
	res, err = deliver(less, payeerIP+":1")
	require.ErrorIs(t, err, payments.ErrConflict)
	check("contradiction", res, want{payments.OutcomeRejected, true, http.StatusConflict, p.ID + "|error"})

	// Every delivery is in the journal, the refused ones unverified.
	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{Gateway: "payeer"})
	require.NoError(t, err)
	assert.Len(t, journal, 10)
}

func TestStoreFailureRepliesError(t *testing.T) {
	svc, err := payments.New(failingStore{memory.New()}, payments.WithGateway(newGateway(t)))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "payeer", callbackRequest(readFixture(t, "callback_success.form")))
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status)
	assert.Equal(t, successOrder+"|error", string(res.Reply.Body))
}

func TestReplyBody(t *testing.T) {
	g := newGateway(t)
	for _, tc := range []struct {
		body   string
		status int
		want   string
	}{
		{"m_orderid=shop-1001.a_b", 200, "shop-1001.a_b|success"},
		{"m_orderid=" + strings.Repeat("a", 65), 200, "|success"},
		{"m_orderid=a%0Ab", 401, "|error"},
		{"m_orderid=a&m_orderid=b", 200, "|success"},
		{"", 500, "|error"},
		{"%zz", 400, "|error"},
	} {
		got := g.WebhookReply(&payments.WebhookRequest{Body: []byte(tc.body)}, &payments.WebhookResult{Reply: payments.WebhookReply{Status: tc.status}})
		assert.Equal(t, tc.want, string(got.Body), tc.body)
		assert.Equal(t, tc.status, got.Status)
	}
	assert.Equal(t, "|error", string(g.WebhookReply(nil, &payments.WebhookResult{Reply: payments.WebhookReply{Status: 401}}).Body))
}

// TestOverHTTP posts the published-shape callback through webhook.Mount
// and reads the exact bytes Payeer would read.
func TestOverHTTP(t *testing.T) {
	svc, err := payments.New(memory.New(), payments.WithGateway(newGateway(t)))
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	for _, tc := range []struct {
		body   []byte
		status int
		reply  string
	}{
		{readFixture(t, "callback_foreign.form"), http.StatusOK, "shop-1001|success"}, // parked: no account
		{readFixture(t, "callback_fail.form"), http.StatusOK, "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5|success"},
		{[]byte("m_orderid=shop-1001&m_operation_id=1&m_sign=00"), http.StatusUnauthorized, "shop-1001|error"},
	} {
		resp, err := http.Post(srv.URL+"/payeer-handleWebhookEvents", "application/x-www-form-urlencoded", bytes.NewReader(tc.body))
		require.NoError(t, err)
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode)
		assert.Equal(t, tc.reply, string(reply))
		assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	}
}
