package googleplay_test

import (
	"bytes"
	"encoding/json"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// TestGooglesPublishedExamples runs the RTDN reference's examples through
// the Service: the two that are not JSON (the Encoding example's data and
// the voided purchase example) are rejected as verified and unreadable,
// journaled whole and acknowledged, so that Pub/Sub does not redeliver them
// for days; the test notification is ignored; the one-time and
// subscription purchase examples are looked up and recorded.
func TestGooglesPublishedExamples(t *testing.T) {
	w := newWorld(t)
	w.api.purchase("my.sku", "acct_example", func(p *androidpublisher.ProductPurchase) { p.PurchaseToken = "PURCHASE_TOKEN" })
	w.api.subscription(activeSubscription("acct_example", monthlyItem("GPA.1111-2222-3333-44444", basePhase())), "PURCHASE_TOKEN")

	for name, body := range map[string][]byte{
		"encoding example":        readFixture(t, "pubsub_envelope.json"),
		"voided purchase example": envelope(readFixture(t, "rtdn_voided_purchase.json")),
	} {
		t.Run(name, func(t *testing.T) {
			res, err := w.svc.HandleWebhook(t.Context(), googleplay.DefaultName, signedPush(body, time.Now()))
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.Equal(t, payments.OutcomeRejected, res.Notification.Outcome)
			assert.True(t, res.Notification.Verified, "the token verified: it is Google's, just unreadable")
			assert.Equal(t, body, res.Notification.Body, "journaled whole, for a replay")
			assert.Contains(t, res.Notification.Detail, "not a developer notification")
			assert.Equal(t, http.StatusOK, res.Reply.Status)
			assert.JSONEq(t, `{"outcome":"rejected"}`, string(res.Reply.Body))
		})
	}
	t.Run("test notification", func(t *testing.T) {
		res, err := w.deliver(t, readFixture(t, "rtdn_test.json"))
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome)
		assert.Equal(t, "testNotification", res.Notification.EventType)
	})
	t.Run("one-time purchase example", func(t *testing.T) {
		res, err := w.deliver(t, readFixture(t, "rtdn_one_time_purchased.json"))
		require.NoError(t, err)
		require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
		assert.Equal(t, "ONE_TIME_PRODUCT_PURCHASED", res.Notification.EventType)
		assert.Equal(t, []payments.Money{usd(250)}, amounts(res.Recorded.Entries))
	})
	t.Run("subscription purchase example", func(t *testing.T) {
		res, err := w.deliver(t, readFixture(t, "rtdn_subscription_purchased.json"))
		require.NoError(t, err)
		require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
		assert.Equal(t, "SUBSCRIPTION_PURCHASED", res.Notification.EventType)
		assert.Equal(t, []payments.Money{usd(499)}, amounts(res.Recorded.Entries))
	})
	assert.Equal(t, int64(749), w.balance(t, "acct_example"))
}

func amounts(entries []payments.Entry) []payments.Money {
	var out []payments.Money
	for _, e := range entries {
		out = append(out, e.Amount)
	}
	return out
}

// TestNotificationKinds covers what the driver ignores, marks or refuses.
func TestNotificationKinds(t *testing.T) {
	w := newWorld(t)
	events := w.svc.Subscribe(t.Context(), 4)
	other, _ := json.Marshal(map[string]any{"version": "1.0", "packageName": "com.other.app", "eventTimeMillis": "1",
		"oneTimeProductNotification": map[string]any{"notificationType": 1, "purchaseToken": "t", "sku": "s"}})
	both, _ := json.Marshal(map[string]any{"version": "1.0", "packageName": packageName, "eventTimeMillis": 1,
		"testNotification": map[string]any{"version": "1.0"}, "subscriptionNotification": map[string]any{"notificationType": 2, "purchaseToken": "t"}})
	tests := []struct {
		name    string
		body    []byte
		outcome payments.Outcome
		err     error
	}{
		{"another package", other, payments.OutcomeIgnored, nil},
		{"two kinds at once", both, payments.OutcomeRejected, payments.ErrInvalidInput},
		{"a kind this driver does not know", notification("futureNotification", map[string]any{"version": "1.0"}), payments.OutcomeIgnored, nil},
		{"one-time product notification type not acted on", notification("oneTimeProductNotification", map[string]any{"notificationType": 9, "purchaseToken": "t", "sku": "s"}), payments.OutcomeIgnored, nil},
		{"one-time purchase without a token", oneTimePurchased("coins_100", ""), payments.OutcomeRejected, payments.ErrInvalidInput},
		{"a token Google does not know", oneTimePurchased("coins_100", "forged-token-0000000000"), payments.OutcomeRejected, payments.ErrInvalidInput},
		{"voided purchase of an unknown product type", voidedNotice("t", "GPA.1", 3, 1), payments.OutcomeRejected, payments.ErrInvalidInput},
		{"eventTimeMillis that is no number", []byte(`{"version":"1.0","packageName":"com.some.thing","eventTimeMillis":"soon","testNotification":{}}`), payments.OutcomeRejected, payments.ErrInvalidInput},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := w.deliver(t, tt.body)
			if tt.err == nil {
				require.NoError(t, err)
			} else {
				require.ErrorIs(t, err, tt.err)
			}
			assert.Equal(t, tt.outcome, res.Notification.Outcome, res.Notification.Detail)
			assert.Equal(t, http.StatusOK, res.Reply.Status, "acknowledged: Pub/Sub would redeliver it for days")
		})
	}
	t.Run("a refund awaiting review is a notice for the host", func(t *testing.T) {
		res, err := w.deliver(t, notification("pendingRefundReviewNotification", map[string]any{"version": "1.0"}))
		require.NoError(t, err)
		assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome)
		select {
		case ev := <-events:
			assert.Equal(t, payments.EventNotice, ev.Type)
			assert.Equal(t, "pendingRefundReviewNotification", ev.Notification.EventType)
		case <-time.After(time.Second):
			t.Fatal("no notice published")
		}
	})
}

// TestOneTimeCanceled: a pending purchase the user canceled moves its
// payment to canceled when Google names the account, and is ignored when
// it does not, rather than parked with no money to attribute.
func TestOneTimeCanceled(t *testing.T) {
	w := newWorld(t)
	canceled := func(p *androidpublisher.ProductPurchase) { p.PurchaseState = 1 }
	named, orderID := w.api.purchase("coins_100", "acct_cancel", canceled)
	anonymous, _ := w.api.purchase("coins_100", "", canceled)
	cancelNotice := func(token string) []byte {
		return notification("oneTimeProductNotification", map[string]any{"version": "1.0", "notificationType": 2, "purchaseToken": token, "sku": "coins_100"})
	}
	res, err := w.deliver(t, cancelNotice(named))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	require.Len(t, res.Recorded.Created, 1)
	assert.Equal(t, payments.StatusCanceled, res.Recorded.Created[0].Status)
	assert.Equal(t, orderID, res.Recorded.Created[0].GatewayID)
	assert.Empty(t, res.Recorded.Entries)

	res, err = w.deliver(t, cancelNotice(anonymous))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeIgnored, res.Notification.Outcome)
	assert.Contains(t, res.Notification.Detail, "canceled")
}

// TestLookupFailureIsRedelivered: a Developer API failure that is not the
// token's fault answers 500, and Pub/Sub's redelivery records it.
func TestLookupFailureIsRedelivered(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("coins_100", "acct_retry")
	for _, status := range []int{http.StatusServiceUnavailable, http.StatusTooManyRequests, http.StatusForbidden} {
		w.api.failNextCall(status)
		res, err := w.deliver(t, oneTimePurchased("coins_100", token))
		require.Error(t, err)
		assert.NotErrorIs(t, err, payments.ErrInvalidInput)
		assert.Equal(t, http.StatusInternalServerError, res.Reply.Status, "status %d", status)
		assert.NotContains(t, err.Error(), token, "the purchase token is never in a message whole")
	}
	res, err := w.deliver(t, oneTimePurchased("coins_100", token))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Equal(t, int64(99), w.balance(t, "acct_retry"))
}

// TestBodyUnderValidToken replaces the conformance suite's tampered-body
// check: a Pub/Sub token does not cover the body, so under a valid token a
// tampered body is authenticated. What it can do is bounded by the driver
// recording only what Google's API answers: changing any letter or digit
// of a notification either fails as unreadable, or records the very charge
// Google reports for the purchase, never another amount or account.
func TestBodyUnderValidToken(t *testing.T) {
	api, keys := newFakePlay(t), newKeysServer(t)
	g := newGateway(t, api, keys)
	token, orderID := api.purchase("coins_100", "acct_tamper")
	body := envelope(oneTimePurchased("coins_100", token))
	bearer := signToken(googleKey(), claims(time.Now()))
	tampered := 0
	for i := range body {
		swapped, ok := swap(body[i])
		if !ok {
			continue
		}
		tampered++
		b := bytes.Clone(body)
		b[i] = swapped
		c, err := g.ParseWebhook(t.Context(), push(b, bearer))
		if err != nil {
			assert.ErrorIs(t, err, payments.ErrInvalidInput, "byte %d", i)
			continue
		}
		for _, e := range c.Entries {
			assert.Equal(t, orderID, e.GatewayRef, "byte %d", i)
			assert.Equal(t, usd(99), e.Amount, "byte %d", i)
			assert.Equal(t, "acct_tamper", e.Account, "byte %d", i)
		}
	}
	assert.Greater(t, tampered, 100)
}

func swap(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		return c + 1, true
	case c == '9':
		return '0', true
	case c == 'z', c == 'Z':
		return c - 25, true
	}
	return 0, false
}

// TestGarbage replaces the conformance suite's garbage check: without a
// valid token any body is unauthenticated; with one, garbage is
// authenticated and unreadable, and nothing panics.
func TestGarbage(t *testing.T) {
	api, keys := newFakePlay(t), newKeysServer(t)
	g := newGateway(t, api, keys)
	valid := envelope(readFixture(t, "rtdn_one_time_purchased.json"))
	rng := rand.New(rand.NewPCG(3, 4))
	bodies := [][]byte{nil, {}, []byte("{}"), []byte("null"), []byte("[]"), []byte(`{"message":`),
		bytes.Repeat([]byte("["), 10000), []byte("\xff\xfe\x00"), []byte(`{"message":{"data":"!!!"}}`),
		[]byte(`{"message":{"data":"bnVsbA=="}}`), []byte(`{"message":{"data":"W10="}}`)}
	for n := 1; n < len(valid); n *= 2 {
		bodies = append(bodies, valid[:n])
	}
	for range 32 {
		b := make([]byte, rng.IntN(512))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		bodies = append(bodies, b)
	}
	bearer := signToken(googleKey(), claims(time.Now()))
	for _, b := range bodies {
		for _, header := range []http.Header{nil, {}, {"Authorization": {"Bearer " + signToken(otherKey(), claims(time.Now()))}}} {
			assert.NotPanics(t, func() {
				_, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Header: header, Body: b})
				assert.ErrorIs(t, err, payments.ErrUnauthenticated, "unsigned %.40q", b)
			})
		}
		assert.NotPanics(t, func() {
			c, err := g.ParseWebhook(t.Context(), push(b, bearer))
			if err != nil {
				assert.ErrorIs(t, err, payments.ErrInvalidInput, "signed %.40q", b)
				return
			}
			assert.Empty(t, c.Entries, "signed garbage %.40q recorded money", b)
		})
	}
}

// TestReplies replaces the conformance suite's replies check, whose bodies
// under a valid token are authenticated here: what is recorded or a
// duplicate is acknowledged with the Service's JSON, what does not verify
// is 401, and an authenticated body that cannot be read is journaled as
// verified and acknowledged.
func TestReplies(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("coins_100", "acct_replies")
	req := signedPush(envelope(oneTimePurchased("coins_100", token)), time.Now())
	for _, want := range []payments.Outcome{payments.OutcomeRecorded, payments.OutcomeDuplicate} {
		res, err := w.svc.HandleWebhook(t.Context(), googleplay.DefaultName, clone(req))
		require.NoError(t, err)
		assert.Empty(t, res.Notification.Header, "the journal never keeps the bearer token")
		assert.Equal(t, http.StatusOK, res.Reply.Status)
		assert.JSONEq(t, `{"outcome":"`+string(want)+`"}`, string(res.Reply.Body))
	}
	wrong := clone(req)
	wrong.Header.Set("Authorization", "Bearer "+signToken(otherKey(), claims(time.Now())))
	for _, r := range []*payments.WebhookRequest{wrong, push(req.Body, ""), push([]byte("{}"), "")} {
		res, err := w.svc.HandleWebhook(t.Context(), googleplay.DefaultName, r)
		require.ErrorIs(t, err, payments.ErrUnauthenticated)
		assert.Equal(t, http.StatusUnauthorized, res.Reply.Status)
		assert.False(t, res.Notification.Verified)
	}
	for _, body := range [][]byte{nil, []byte("{}"), []byte("not a notification")} {
		res, err := w.svc.HandleWebhook(t.Context(), googleplay.DefaultName, signedPush(body, time.Now()))
		require.ErrorIs(t, err, payments.ErrInvalidInput)
		assert.True(t, res.Notification.Verified)
		assert.Equal(t, payments.OutcomeRejected, res.Notification.Outcome)
		assert.Equal(t, http.StatusOK, res.Reply.Status)
	}
}

func clone(r *payments.WebhookRequest) *payments.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

// activeSubscription is an active subscription Google has not had
// acknowledged yet.
func activeSubscription(account string, items ...*androidpublisher.SubscriptionPurchaseLineItem) *androidpublisher.SubscriptionPurchaseV2 {
	s := &androidpublisher.SubscriptionPurchaseV2{Kind: "androidpublisher#subscriptionPurchaseV2",
		SubscriptionState: "SUBSCRIPTION_STATE_ACTIVE", AcknowledgementState: "ACKNOWLEDGEMENT_STATE_PENDING",
		StartTime: "2026-11-01T10:00:00.000Z", RegionCode: "US", LineItems: items}
	if account != "" {
		s.ExternalAccountIdentifiers = &androidpublisher.ExternalAccountIdentifiers{ObfuscatedExternalAccountId: account}
	}
	return s
}

// monthlyItem is the premium subscription's monthly base plan, last paid
// by orderID, in the given offer phase.
func monthlyItem(orderID string, phase *androidpublisher.OfferPhase) *androidpublisher.SubscriptionPurchaseLineItem {
	return &androidpublisher.SubscriptionPurchaseLineItem{ProductId: "premium", LatestSuccessfulOrderId: orderID,
		ExpiryTime: "2026-12-01T10:00:00.000Z", AutoRenewingPlan: &androidpublisher.AutoRenewingPlan{AutoRenewEnabled: true},
		OfferDetails: &androidpublisher.OfferDetails{BasePlanId: "monthly"}, OfferPhase: phase}
}

func basePhase() *androidpublisher.OfferPhase {
	return &androidpublisher.OfferPhase{BasePrice: &androidpublisher.BasePriceOfferPhase{}}
}
