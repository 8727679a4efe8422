package googleplay

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// ParseWebhook implements payments.Gateway for Real-time Developer
// Notifications delivered by a Pub/Sub push subscription. In order, it:
//
//  1. authenticates the push: the Authorization header's OIDC token must
//     pass Config.TokenValidator (signature, expiry, audience) and carry
//     the claims Pub/Sub signs (see pushAuth.verify). Failures wrap
//     payments.ErrUnauthenticated; a token that cannot be checked because
//     Google's keys are out of reach fails unclassified, so that Pub/Sub
//     delivers it again;
//
//  2. decodes the envelope {message: {data, messageId, publishTime,
//     attributes}, subscription} and its base64 data, a DeveloperNotification
//     (https://developer.android.com/google/play/billing/rtdn-reference).
//     An authenticated body that is not one fails with
//     payments.ErrInvalidInput: Google's own published example of a voided
//     purchase notification is such a body (it lacks a comma);
//
//  3. ignores a notification for another package than Config.PackageName,
//     a testNotification and any kind it does not know, and marks a
//     pendingRefundReviewNotification as a notice for the host
//     (payments.Changes.Notice), without reading it;
//
//  4. looks the purchase up and translates what Google answers:
//
//     oneTimeProductNotification   purchases.products.get: a charge of the
//     (purchased, canceled)        order when it is purchased (state 0),
//     status canceled when canceled (1),
//     nothing while pending (2)
//     subscriptionNotification     purchases.subscriptionsv2.get: a charge
//     (every type)                 for each line item's latest successful
//     order (a renewal is a new order)
//     voidedPurchaseNotification   a refund of the order, or of the units a
//     quantity-based partial refund voided
//     (see Gateway.ParseRecord)
//
// A lookup Google refuses for the token (400, 404, 410) fails with
// payments.ErrInvalidInput; one that fails otherwise (5xx, 429, network,
// the service account's permissions) fails unclassified, and Pub/Sub
// delivers the notification again.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if req == nil {
		return nil, fmt.Errorf("googleplay: no webhook request: %w", payments.ErrUnauthenticated)
	}
	if err := g.push.verify(ctx, req); err != nil {
		return nil, err
	}
	msg, n, err := decodePush(req.Body)
	if err != nil {
		return nil, err
	}
	c, err := g.translate(ctx, n)
	if err != nil {
		return nil, err
	}
	c.EventID = msg.MessageID
	return c, nil
}

// pushMessage is the part of a Pub/Sub push envelope the driver reads
// (https://cloud.google.com/pubsub/docs/push).
type pushMessage struct {
	Data      string `json:"data"`
	MessageID string `json:"messageId"`
	// MessageIDSnake is the same id under its other name: push envelopes
	// carry both spellings.
	MessageIDSnake string            `json:"message_id"`
	PublishTime    string            `json:"publishTime"`
	Attributes     map[string]string `json:"attributes"`
}

// developerNotification is the decoded data of an RTDN. eventTimeMillis is
// a long in the reference's table and a string in its examples.
type developerNotification struct {
	Version             string                      `json:"version"`
	PackageName         string                      `json:"packageName"`
	EventTimeMillis     flexInt                     `json:"eventTimeMillis"`
	OneTimeProduct      *oneTimeProductNotification `json:"oneTimeProductNotification"`
	Subscription        *subscriptionNotification   `json:"subscriptionNotification"`
	Voided              *voidedPurchaseNotification `json:"voidedPurchaseNotification"`
	Test                json.RawMessage             `json:"testNotification"`
	PendingRefundReview json.RawMessage             `json:"pendingRefundReviewNotification"`
}

type oneTimeProductNotification struct {
	Version          string  `json:"version"`
	NotificationType flexInt `json:"notificationType"`
	PurchaseToken    string  `json:"purchaseToken"`
	SKU              string  `json:"sku"`
}

type subscriptionNotification struct {
	Version          string  `json:"version"`
	NotificationType flexInt `json:"notificationType"`
	PurchaseToken    string  `json:"purchaseToken"`
}

type voidedPurchaseNotification struct {
	PurchaseToken string  `json:"purchaseToken"`
	OrderID       string  `json:"orderId"`
	ProductType   flexInt `json:"productType"`
	RefundType    flexInt `json:"refundType"`
}

// flexInt is an integer sent as a JSON number or a string of digits.
type flexInt int64

func (f *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "null" || s == "" {
		return nil
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %.40q", b)
	}
	*f = flexInt(v)
	return nil
}

// decodePush decodes an authenticated envelope and its notification.
func decodePush(body []byte) (*pushMessage, *developerNotification, error) {
	invalid := func(format string, args ...any) error {
		return fmt.Errorf("googleplay: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	var env struct {
		Message *pushMessage `json:"message"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, nil, invalid("push body is not a Pub/Sub envelope: %v", err)
	}
	msg := env.Message
	if msg == nil || msg.Data == "" {
		return nil, nil, invalid("push envelope without message data")
	}
	if msg.MessageID == "" {
		msg.MessageID = msg.MessageIDSnake
	}
	data, err := base64.StdEncoding.DecodeString(msg.Data)
	if err != nil {
		if data, err = base64.RawStdEncoding.DecodeString(msg.Data); err != nil {
			return nil, nil, invalid("message %s: data is not base64", msg.MessageID)
		}
	}
	var n developerNotification
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, nil, invalid("message %s: data is not a developer notification: %v", msg.MessageID, err)
	}
	return msg, &n, nil
}

// Notification kinds and types, as the RTDN reference numbers them.
const (
	oneTimePurchased = 1
	oneTimeCanceled  = 2

	productTypeSubscription = 1
	productTypeOneTime      = 2

	refundTypeFull              = 1
	refundTypeQuantityBasedPart = 2
)

// subscriptionTypes names subscriptionNotification.notificationType, for
// the journal.
var subscriptionTypes = map[flexInt]string{
	1: "SUBSCRIPTION_RECOVERED", 2: "SUBSCRIPTION_RENEWED", 3: "SUBSCRIPTION_CANCELED",
	4: "SUBSCRIPTION_PURCHASED", 5: "SUBSCRIPTION_ON_HOLD", 6: "SUBSCRIPTION_IN_GRACE_PERIOD",
	7: "SUBSCRIPTION_RESTARTED", 8: "SUBSCRIPTION_PRICE_CHANGE_CONFIRMED", 9: "SUBSCRIPTION_DEFERRED",
	10: "SUBSCRIPTION_PAUSED", 11: "SUBSCRIPTION_PAUSE_SCHEDULE_CHANGED", 12: "SUBSCRIPTION_REVOKED",
	13: "SUBSCRIPTION_EXPIRED", 17: "SUBSCRIPTION_ITEMS_CHANGED", 18: "SUBSCRIPTION_CANCELLATION_SCHEDULED",
	19: "SUBSCRIPTION_PRICE_CHANGE_UPDATED", 20: "SUBSCRIPTION_PENDING_PURCHASE_CANCELED",
	22: "SUBSCRIPTION_PRICE_STEP_UP_CONSENT_UPDATED",
}

// present reports whether a raw member was sent with a value.
func present(raw json.RawMessage) bool {
	return len(raw) > 0 && string(raw) != "null"
}

// translate dispatches one decoded notification.
func (g *Gateway) translate(ctx context.Context, n *developerNotification) (*payments.Changes, error) {
	kinds := 0
	for _, set := range []bool{n.OneTimeProduct != nil, n.Subscription != nil, n.Voided != nil,
		present(n.Test), present(n.PendingRefundReview)} {
		if set {
			kinds++
		}
	}
	if kinds > 1 {
		return nil, fmt.Errorf("googleplay: notification of %d kinds at once: %w", kinds, payments.ErrInvalidInput)
	}
	if n.PackageName != g.pkg {
		return &payments.Changes{Note: fmt.Sprintf("for package %q; this gateway serves %q", n.PackageName, g.pkg)}, nil
	}
	at := time.Time{}
	if n.EventTimeMillis > 0 {
		at = time.UnixMilli(int64(n.EventTimeMillis))
	}
	switch {
	case n.OneTimeProduct != nil:
		return g.oneTimeNotification(ctx, n.OneTimeProduct)
	case n.Subscription != nil:
		return g.subscriptionNotification(ctx, n.Subscription)
	case n.Voided != nil:
		return g.voidedNotification(ctx, n.Voided, at)
	case present(n.Test):
		return &payments.Changes{EventType: "testNotification", Note: "test notification from the Play Console"}, nil
	case present(n.PendingRefundReview):
		// The host may answer with orders.reviewrefund within Google's
		// window; it reads the notification from the journal.
		return &payments.Changes{EventType: "pendingRefundReviewNotification", Notice: true,
			Note: "a refund awaits the developer's review (orders.reviewrefund)"}, nil
	}
	return &payments.Changes{Note: "no notification kind this driver acts on"}, nil
}

func (g *Gateway) oneTimeNotification(ctx context.Context, o *oneTimeProductNotification) (*payments.Changes, error) {
	eventType := "oneTimeProductNotification." + strconv.FormatInt(int64(o.NotificationType), 10)
	switch o.NotificationType {
	case oneTimePurchased:
		eventType = "ONE_TIME_PRODUCT_PURCHASED"
	case oneTimeCanceled:
		eventType = "ONE_TIME_PRODUCT_CANCELED"
	default:
		return &payments.Changes{EventType: eventType, Note: "one-time product notification type not acted on"}, nil
	}
	if o.SKU == "" || o.PurchaseToken == "" {
		return nil, fmt.Errorf("googleplay: %s without sku or purchaseToken: %w", eventType, payments.ErrInvalidInput)
	}
	c, err := g.oneTimeChanges(ctx, o.SKU, o.PurchaseToken, fromNotification)
	if err != nil {
		return nil, err
	}
	c.EventType = eventType
	return c, nil
}

func (g *Gateway) subscriptionNotification(ctx context.Context, s *subscriptionNotification) (*payments.Changes, error) {
	eventType, ok := subscriptionTypes[s.NotificationType]
	if !ok {
		eventType = "subscriptionNotification." + strconv.FormatInt(int64(s.NotificationType), 10)
	}
	if s.PurchaseToken == "" {
		return nil, fmt.Errorf("googleplay: %s without purchaseToken: %w", eventType, payments.ErrInvalidInput)
	}
	// Every type is looked up: "call the Google Play Developer API after
	// receiving Real-time developer notifications to get the complete
	// status" (RTDN reference), and recording what is already recorded is a
	// duplicate.
	c, err := g.subscriptionChanges(ctx, s.PurchaseToken, "", fromNotification)
	if err != nil {
		return nil, err
	}
	c.EventType = eventType
	return c, nil
}

func (g *Gateway) voidedNotification(ctx context.Context, v *voidedPurchaseNotification, at time.Time) (*payments.Changes, error) {
	claim := voidClaim{orderID: v.OrderID, token: v.PurchaseToken, productType: int64(v.ProductType),
		partial: v.RefundType == refundTypeQuantityBasedPart, at: at}
	c, err := g.voidedChanges(ctx, claim)
	if err != nil {
		return nil, err
	}
	c.EventType = "voidedPurchaseNotification"
	return c, nil
}

// WebhookReply implements payments.WebhookReplier. It answers 200 to a
// notification that verified but that the ledger rejected for good (one the
// driver cannot understand, such as Google's published voided purchase
// example, or one that contradicts the ledger), where the Service would
// answer 4xx: Pub/Sub redelivers every push not answered 102, 200, 201, 202
// or 204, with the subscription's retry policy, until the message expires
// (https://cloud.google.com/pubsub/docs/push), and every redelivery would be
// refused the same way. It is journaled, verified and whole, with why, and
// Service.Replay runs it again once the cause is fixed. Every other answer
// is the Service's: 401 for what did not verify, 500 for what failed, so
// that Pub/Sub retries what may yet be recorded.
func (g *Gateway) WebhookReply(req *payments.WebhookRequest, res *payments.WebhookResult) payments.WebhookReply {
	if n := res.Notification; n.Outcome != payments.OutcomeRejected || !n.Verified {
		return res.Reply
	}
	return payments.WebhookReply{
		Status:      http.StatusOK,
		ContentType: "application/json",
		Body:        []byte(`{"outcome":"` + string(payments.OutcomeRejected) + `"}` + "\n"),
	}
}
