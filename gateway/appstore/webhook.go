package appstore

import (
	"context"
	"encoding/json"
	"fmt"

	iap "github.com/awa/go-iap/appstore"

	"github.com/payrail/payments"
)

// ParseWebhook implements payments.Gateway for App Store Server
// Notifications V2: a POST of {"signedPayload": "<JWS>"}
// (https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2).
//
// Authentication: the signedPayload and the signedTransactionInfo and
// signedRenewalInfo inside it must verify (see the package doc) and be for
// the configured app and environment. A body without a signedPayload, or
// one that fails any check, is an error wrapping payments.ErrUnauthenticated.
// A verified notification that cannot be understood (a purchase without a
// transaction, a price that is not exact in its currency, a product
// without a price) is payments.ErrInvalidInput. WebhookRequest.Replay
// changes nothing: there is no time window to skip.
//
// Translation, keyed by the transaction's transactionId:
//
//	ONE_TIME_CHARGE, SUBSCRIBED,       the payment succeeded, and a charge of
//	DID_RENEW; DID_CHANGE_RENEWAL_PREF the transaction's price; nothing when
//	and OFFER_REDEEMED that start a    it is free (a trial) or shared through
//	new transaction (UPGRADE,          Family Sharing
//	INITIAL_BUY, RESUBSCRIBE)
//	REFUND                             refunded (partially refunded for a
//	                                   prorated share), a refund of the price
//	                                   or its revocationPercentage, and the
//	                                   charge when it was never reported
//	REFUND_REVERSED                    a refund reversal (see
//	                                   Config.RefundedAmount)
//	REFUND_DECLINED,                   nothing recorded; published to
//	CONSUMPTION_REQUEST                subscribers as a payments.EventNotice
//	                                   for the host to answer (Send
//	                                   Consumption Information)
//	EXPIRED, DID_FAIL_TO_RENEW,        the subscription's status changed:
//	GRACE_PERIOD_EXPIRED, REVOKE       published as a payments.EventNotice
//	TEST, any other                    nothing; journaled as ignored
//
// The subscription statuses are notices rather than payment statuses: a
// payment is one transaction, already succeeded when its subscription
// expires, and a payment's status only moves forward. The host decodes a
// notice's journaled body with DecodeNotification.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if req == nil {
		return nil, unauthenticated("notification", "no request")
	}
	n, err := g.DecodeNotification(req.Body)
	if err != nil {
		return nil, err
	}
	return g.translate(ctx, n)
}

// DecodeNotification verifies a notification's body, as Apple posts it and
// the journal keeps it (payments.Notification.Body, also on an
// EventNotice), and decodes it with its transaction and renewal info. It
// fails as ParseWebhook does.
func (g *Gateway) DecodeNotification(body []byte) (*Notification, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(body, &members); err != nil || members == nil {
		return nil, unauthenticated("notification", "body is not a JSON object")
	}
	var signedPayload string
	if err := json.Unmarshal(members["signedPayload"], &signedPayload); err != nil || signedPayload == "" {
		return nil, unauthenticated("notification", "body has no signedPayload")
	}
	return g.decodeNotification(signedPayload)
}

// translate turns a verified notification into changes.
func (g *Gateway) translate(ctx context.Context, n *Notification) (*payments.Changes, error) {
	c := &payments.Changes{EventID: n.NotificationUUID, EventType: string(n.NotificationType)}
	if n.Subtype != "" {
		c.Note = "subtype " + string(n.Subtype)
	}
	switch n.NotificationType {
	case iap.NotificationTypeV2Test:
		c.Note = joinNote(c.Note, "test notification")
		return c, nil
	case iap.NotificationTypeV2OneTimeCharge, iap.NotificationTypeV2Subscribed, iap.NotificationTypeV2DidRenew,
		iap.NotificationTypeV2DidChangeRenewalPref, iap.NotificationTypeV2OfferRedeemed, iap.NotificationTypeV2Refund:
		if !chargesNow(n) {
			break
		}
		tx, err := transactionOf(n)
		if err != nil {
			return nil, err
		}
		if n.NotificationType == iap.NotificationTypeV2Refund && tx.RevocationDate == 0 {
			return nil, fmt.Errorf("appstore: REFUND of transaction %s without revocationDate: %w", tx.TransactionID, payments.ErrInvalidInput)
		}
		return result(c, g.purchase(ctx, tx, c))
	case iap.NotificationTypeV2RefundReversed:
		tx, err := transactionOf(n)
		if err != nil {
			return nil, err
		}
		return result(c, g.reversal(ctx, tx, millis(n.SignedDate), c))
	case iap.NotificationTypeV2RefundDeclined, iap.NotificationTypeV2ConsumptionRequest,
		iap.NotificationTypeV2Expired, iap.NotificationTypeV2DidFailToRenew,
		iap.NotificationTypeV2GracePeriodExpired, iap.NotificationTypeV2Revoke:
		c.Notice = true
		c.Note = joinNote(c.Note, noticeNote(n))
		return c, nil
	}
	c.Note = joinNote(c.Note, "records nothing")
	return c, nil
}

// result is c, or nothing when err says the translation failed.
func result(c *payments.Changes, err error) (*payments.Changes, error) {
	if err != nil {
		return nil, err
	}
	return c, nil
}

// transactionOf returns the notification's transaction, which a
// notification that moves money must carry.
func transactionOf(n *Notification) (*Transaction, error) {
	if n.Transaction == nil {
		return nil, fmt.Errorf("appstore: %s notification %s carries no signedTransactionInfo: %w",
			n.NotificationType, n.NotificationUUID, payments.ErrInvalidInput)
	}
	return n.Transaction, nil
}

// chargesNow reports whether a notification of a purchase comes with a
// transaction charged now. A DID_CHANGE_RENEWAL_PREF does only for an
// upgrade, which "goes into effect immediately", and an OFFER_REDEEMED for
// an upgrade or an offer that starts a new or lapsed subscription; a
// downgrade, or an offer for the next renewal, charges nothing yet
// (https://developer.apple.com/documentation/appstoreservernotifications/notificationtype).
// Charges are keyed by transactionId, so one also reported as SUBSCRIBED
// is recorded once.
func chargesNow(n *Notification) bool {
	switch n.NotificationType {
	case iap.NotificationTypeV2DidChangeRenewalPref:
		return n.Subtype == iap.SubTypeV2Upgrade
	case iap.NotificationTypeV2OfferRedeemed:
		switch n.Subtype {
		case iap.SubTypeV2Upgrade, iap.SubTypeV2InitialBuy, iap.SubTypeV2Resubscribe:
			return true
		}
		return false
	}
	return true
}

// noticeNote says, for the journal, what a notice is about.
func noticeNote(n *Notification) string {
	note := "for the host to act on"
	if tx := n.Transaction; tx != nil {
		note += fmt.Sprintf(": transaction %s (original %s) of product %s", tx.TransactionID, tx.OriginalTransactionId, tx.ProductID)
	}
	if n.Data != nil && n.Data.ConsumptionRequestReason != "" {
		note += ", reason " + n.Data.ConsumptionRequestReason
	}
	return note
}
