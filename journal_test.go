package payments_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

func TestAttributeCreditsParkedMoneyOnce(t *testing.T) {
	ctx := t.Context()
	svc, fake, store := newService(t)
	// A payment made outside the library: the gateway knows no account.
	parked, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "pi_outside", "", "12.00"), time.Now()))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeParked, parked.Notification.Outcome)
	waiting := payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true}
	list, _, err := svc.Notifications(ctx, waiting)
	require.NoError(t, err)
	require.Len(t, list, 1)

	_, err = svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "an account is required")

	res, err := svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: "ivy", Reference: "order:7:k2"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Equal(t, parked.Notification.ID, res.Notification.ReplayOf)
	p, err := store.PaymentByGatewayID(ctx, "fake", "pi_outside")
	require.NoError(t, err)
	assert.Equal(t, "ivy", p.Account)
	assert.Equal(t, "order:7:k2", p.Reference)
	bal, err := svc.Balance(ctx, "ivy", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1200), bal.Money.Amount)

	resolved, err := svc.Notification(ctx, parked.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, res.Notification.ID, resolved.ResolvedBy)
	list, _, err = svc.Notifications(ctx, waiting)
	require.NoError(t, err)
	assert.Empty(t, list, "nothing waits any more")

	again, err := svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: "ivy"})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, again.Notification.Outcome, "attributing twice records once")

	_, err = svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: "mallory"})
	assert.ErrorIs(t, err, payments.ErrConflict, "money that is someone's is not moved to another account")
	bal, err = svc.Balance(ctx, "mallory", "USD")
	require.NoError(t, err)
	assert.Zero(t, bal.Money.Amount)

	bad := fake.Request(charge("e2", "pi_bad", "", "1.00"), time.Now())
	bad.Body[len(bad.Body)-3] ^= 1
	rejected, _ := svc.HandleWebhook(ctx, "fake", bad)
	_, err = svc.Attribute(ctx, rejected.Notification.ID, payments.Attribution{Account: "ivy"})
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "what never verified is never attributed")
}

func TestWebhookReplies(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	res, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e1", "p1", "jo", "1.00"), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.WebhookReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("ok e1")}, res.Reply,
		"the driver's own acknowledgement")

	bad := fake.Request(charge("e2", "p2", "jo", "1.00"), time.Now())
	bad.Body[len(bad.Body)-3] ^= 1
	res, err = svc.HandleWebhook(ctx, "fake", bad)
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.Equal(t, http.StatusUnauthorized, res.Reply.Status)
	assert.Equal(t, "error", string(res.Reply.Body))

	plain, err := payments.New(failingStore{memoryStore()}, payments.WithGateway(gatewaytest.NewFake("k", gatewaytest.WithName("plain"))))
	require.NoError(t, err)
	res, err = plain.HandleWebhook(ctx, "plain", gatewaytest.NewFake("k", gatewaytest.WithName("plain")).Request(charge("e3", "p3", "jo", "1.00"), time.Now()))
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status, "a store failure is retried")
}

// lyingReplier acknowledges everything, as a careless driver might.
type lyingReplier struct{ *gatewaytest.Fake }

func (lyingReplier) WebhookReply(*payments.WebhookRequest, *payments.WebhookResult) payments.WebhookReply {
	return payments.WebhookReply{Status: http.StatusOK, Body: []byte("OK")}
}

func TestDriverReplyNeverTurnsAFailureIntoAnAcknowledgement(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	svc, err := payments.New(failingStore{memoryStore()}, payments.WithGateway(lyingReplier{fake}))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "fake", fake.Request(charge("e1", "p1", "jo", "1.00"), time.Now()))
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status)
	assert.Equal(t, "OK", string(res.Reply.Body), "the body is the driver's")
}

func TestOperationOptionsReachTheDriver(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	p, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "kim", Amount: payments.Money{Amount: 900, Currency: "USD"}})
	require.NoError(t, err)
	_, err = svc.Capture(ctx, p.ID, payments.CaptureOptions{Key: "cap-1", Extension: gatewaytest.FakeExtension{Note: "hello"}})
	require.NoError(t, err)
	assert.Contains(t, fake.Calls(), "extension hello")
	assert.Contains(t, fake.Calls(), "capture "+p.ID+":capture:cap-1")

	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Extension: struct{ Address string }{"T9yD"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "another driver's extension is refused")

	q, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "kim", Amount: payments.Money{Amount: 900, Currency: "USD"}})
	require.NoError(t, err)
	_, err = svc.Cancel(ctx, q.ID, payments.CancelOptions{Reason: "abandoned"})
	require.NoError(t, err)
	assert.Contains(t, fake.Calls(), "cancel "+q.ID+":cancel")
}

func TestEntriesPage(t *testing.T) {
	ctx := t.Context()
	svc, fake, _ := newService(t)
	for i := range 5 {
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(charge("e"+string(rune('a'+i)), "p"+string(rune('a'+i)), "lee", "1.00"), time.Now()))
		require.NoError(t, err)
	}
	var all []payments.Entry
	f := payments.EntryFilter{Account: "lee", Limit: 2}
	for {
		page, next, err := svc.Entries(ctx, f)
		require.NoError(t, err)
		all = append(all, page...)
		if next == "" {
			break
		}
		f.After = next
	}
	assert.Len(t, all, 5)
}
