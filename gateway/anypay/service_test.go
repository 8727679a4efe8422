package anypay_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

// failingStore fails every commit, as a database that is down does.
type failingStore struct{ *memory.Store }

func (failingStore) Commit(context.Context, *payments.Batch) (*payments.BatchResult, error) {
	return nil, errors.New("anypay_test: the store is down")
}

// TestNotificationsThroughTheService sends notifications through a
// Service and checks what each becomes: the outcome journaled, the reply
// Anypay reads, and that nothing reaches the ledger unless it should.
func TestNotificationsThroughTheService(t *testing.T) {
	peer := newFakeAnypay(t, false)
	g := newGateway(t, peer.config, func(c *anypay.Config) { c.CheckSenderIP = true })
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	ctx := t.Context()

	p, err := svc.Checkout(ctx, "anypay", payments.CheckoutRequest{Account: "user-42", Amount: rub(t, "100.00"), Reference: "order:1001:k3j2h1"})
	require.NoError(t, err)
	peer.open(t, p.RedirectURL)
	paid := peer.pay(t, p.ID, p.Amount)

	deliver := func(body []byte, remote string) (*payments.WebhookResult, error) {
		return svc.HandleWebhook(ctx, "anypay", &payments.WebhookRequest{Body: body, RemoteAddr: remote})
	}
	check := func(name string, res *payments.WebhookResult, outcome payments.Outcome, verified bool, status int) {
		t.Helper()
		require.NotNil(t, res, name)
		assert.Equal(t, outcome, res.Notification.Outcome, "%s: %s", name, res.Notification.Detail)
		assert.Equal(t, verified, res.Notification.Verified, name)
		assert.Equal(t, status, res.Reply.Status, name)
		assert.Equal(t, status == http.StatusOK, string(res.Reply.Body) == "OK", "%s: OK only for what is acknowledged", name)
	}
	entries := func() []payments.Entry {
		es, _, err := svc.Entries(ctx, payments.EntryFilter{Gateway: "anypay"})
		require.NoError(t, err)
		return es
	}

	res, err := deliver(bytes.Replace(paid, []byte("amount=100.00"), []byte("amount=1000.00"), 1), anypayIP+":1")
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	check("tampered", res, payments.OutcomeRejected, false, http.StatusUnauthorized)
	res, _ = deliver(withoutField(paid, "sign"), anypayIP+":1")
	check("unsigned", res, payments.OutcomeRejected, false, http.StatusUnauthorized)
	res, _ = deliver(resign(paid, "stolen-elsewhere"), anypayIP+":1")
	check("wrong key", res, payments.OutcomeRejected, false, http.StatusUnauthorized)
	res, _ = deliver(paid, "203.0.113.7:1")
	check("wrong sender", res, payments.OutcomeRejected, false, http.StatusUnauthorized)

	eur := resign(bytes.Replace(paid, []byte("currency=RUB"), []byte("currency=EUR"), 1), testSecret)
	res, err = deliver(eur, anypayIP+":1")
	require.NoError(t, err)
	check("wrong currency", res, payments.OutcomeParked, true, http.StatusOK)
	assert.Contains(t, res.Notification.Detail, payments.ErrMismatch.Error())
	assert.Empty(t, entries())

	res, err = deliver(paid, anypayIP+":1")
	require.NoError(t, err)
	check("paid", res, payments.OutcomeRecorded, true, http.StatusOK)
	// Anypay resending it, and a replay of it with another transaction_id,
	// which the sign does not cover: one charge.
	res, err = deliver(paid, anypayIP+":1")
	require.NoError(t, err)
	check("resent", res, payments.OutcomeDuplicate, true, http.StatusOK)
	res, err = deliver(bytes.Replace(paid, []byte("transaction_id=4950030"), []byte("transaction_id=4950999"), 1), anypayIP+":1")
	require.NoError(t, err)
	check("replayed with another transaction_id", res, payments.OutcomeDuplicate, true, http.StatusOK)
	replayed, err := svc.Replay(ctx, res.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, replayed.Notification.Outcome)
	require.Len(t, entries(), 1)
	assert.Equal(t, p.ID, entries()[0].GatewayRef, "keyed by the signed pay_id")
	assert.Equal(t, "user-42", entries()[0].Account)

	journal, _, err := svc.Notifications(ctx, payments.NotificationFilter{Gateway: "anypay"})
	require.NoError(t, err)
	assert.Len(t, journal, 9)
}

func TestStoreFailureIsNotOK(t *testing.T) {
	svc, err := payments.New(failingStore{memory.New()}, payments.WithGateway(newGateway(t)))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "anypay", notificationRequest(readFixture(t, "notification_paid.form")))
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status)
	assert.NotEqual(t, "OK", string(res.Reply.Body))
}

// TestOverHTTP posts notifications through webhook.Mount and reads the
// exact bytes Anypay would read.
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
		{readFixture(t, "notification_foreign.form"), http.StatusOK, "OK"}, // parked: no account
		{readFixture(t, "notification_waiting.form"), http.StatusOK, "OK"},
		{withoutField(readFixture(t, "notification_paid.form"), "sign"), http.StatusUnauthorized, "Unauthorized\n"},
	} {
		resp, err := http.Post(srv.URL+"/anypay-handleWebhookEvents", "application/x-www-form-urlencoded", bytes.NewReader(tc.body))
		require.NoError(t, err)
		reply, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, tc.status, resp.StatusCode)
		assert.Equal(t, tc.reply, string(reply))
	}
}
