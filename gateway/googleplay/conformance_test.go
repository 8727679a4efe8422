package googleplay_test

import (
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// TestConformance runs the suite against the fake Developer API, with
// notifications signed by the test key as Pub/Sub signs them: a
// one-time product purchased, looked up, recorded and acknowledged. The
// driver creates no checkouts and makes no refunds (Play purchases start in
// the app and refunds are made in the Play Console), so the suite's
// operations do not apply; VerifyPurchase, which it does not exercise, is
// checked in purchase_test.go. A verified rejection is acknowledged 200,
// since Pub/Sub redelivers every refusal until the message expires. The
// push token authenticates the sender, not the body (it is the same for
// every message Pub/Sub pushes within its hour,
// https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions),
// so the suite runs SenderOnly: a changed body under a valid token is
// refused or ignored, and moves only what the Developer API reports.
func TestConformance(t *testing.T) {
	api, keys := newFakePlay(t), newKeysServer(t)
	g := newGateway(t, api, keys)
	// purchased is the notification of a new purchase, pushed with bearer.
	purchased := func(account, bearer string) *payments.WebhookRequest {
		token, _ := api.purchase("coins_100", account)
		return push(envelope(oneTimePurchased("coins_100", token)), bearer)
	}
	gatewaytest.RunConformance(t, gatewaytest.Harness{
		Gateway: g,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return purchased("acct_conformance", signToken(googleKey(), claims(at)))
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return purchased("acct_conformance", signToken(otherKey(), claims(at)))
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) { req.Header.Del("Authorization") },
		// Pub/Sub's tokens live an hour ("may be up to an hour old"); one
		// issued in the future is refused beyond googleplay.ClockSkew.
		Tolerance: time.Hour,
		Sign:      func(body []byte) *payments.WebhookRequest { return signedPush(body, time.Now()) },
		// A purchase whose app set no obfuscatedExternalAccountId.
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return purchased("", signToken(googleKey(), claims(at)))
		},
		AcknowledgesRejected: true,
		SenderOnly:           true,
	})
}

// FuzzParseWebhook signs every input with the test key, so that the fuzzer
// reaches the envelope and notification parsers behind the token check.
// The fake API holds no purchase, so whatever the notification names is
// looked up and refused, never recorded.
func FuzzParseWebhook(f *testing.F) {
	api, keys := newFakePlay(f), newKeysServer(f)
	g := newGateway(f, api, keys)
	seeds := [][]byte{readFixture(f, "pubsub_envelope.json")}
	for _, name := range []string{"rtdn_subscription_purchased.json", "rtdn_one_time_purchased.json",
		"rtdn_voided_purchase.json", "rtdn_test.json"} {
		seeds = append(seeds, envelope(readFixture(f, name)))
	}
	seeds = append(seeds, envelope(voidedNotice("PURCHASE_TOKEN", "GPA.1234-5678-9012-34567", 2, 2)),
		envelope(notification("pendingRefundReviewNotification", map[string]any{"version": "1.0"})))
	token := signToken(googleKey(), claims(time.Now()))
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest { return push(body, token) }, seeds...)
}
