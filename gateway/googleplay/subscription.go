package googleplay

import (
	"context"
	"fmt"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// SubscriptionPurchaseV2 states
// (https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.subscriptionsv2).
const (
	subscriptionPending         = "SUBSCRIPTION_STATE_PENDING"
	subscriptionPendingCanceled = "SUBSCRIPTION_STATE_PENDING_PURCHASE_CANCELED"
	subscriptionExpired         = "SUBSCRIPTION_STATE_EXPIRED"
	acknowledgementPending      = "ACKNOWLEDGEMENT_STATE_PENDING"
)

// subscriptionChanges looks a subscription up with
// purchases.subscriptionsv2.get and translates it: a charge for each line
// item's latest successful order, each order its own payment. A renewal is
// a new order, so each renewal is recorded once, when a notification or a
// report finds it; a free trial's order is a payment with no charge.
// productID, when set, must be one of the subscription's items.
func (g *Gateway) subscriptionChanges(ctx context.Context, token, productID string, src source) (*payments.Changes, error) {
	s, err := g.api.Purchases.Subscriptionsv2.Get(g.pkg, token).Context(ctx).Do()
	if err != nil {
		return nil, apiError("subscriptionsv2.get", tokenRef(token), err)
	}
	test := s.TestPurchase != nil
	if test && g.refuseTest {
		return refusedTest(src, "subscription")
	}
	if productID != "" && !hasProduct(s.LineItems, productID) {
		return nil, fmt.Errorf("googleplay: the purchase token is not a subscription to %s: %w", productID, payments.ErrInvalidInput)
	}
	account, err := g.resolveAccount(ctx, subscriptionAccount(s))
	if err != nil {
		return nil, err
	}
	c := &payments.Changes{}
	switch s.SubscriptionState {
	case subscriptionPending:
		c.Note = "subscription pending: recorded once paid"
		return c, nil
	case subscriptionPendingCanceled:
		if src == fromClient {
			return nil, fmt.Errorf("googleplay: subscription purchase was canceled before it was paid: %w", payments.ErrInvalidInput)
		}
		c.Note = "pending subscription purchase canceled"
		return c, nil
	}
	for _, o := range ordersOf(s.LineItems) {
		amount, err := g.subscriptionAmount(ctx, o.id, o.items, true)
		if err != nil {
			return nil, err
		}
		key := OrderKey(o.id, token, test)
		if amount.Amount == 0 {
			c.Payments = append(c.Payments, statusOnly(src, key, payments.StatusSucceeded, account)...)
			continue
		}
		c.Payments = append(c.Payments, payments.PaymentUpdate{GatewayID: key, Status: payments.StatusSucceeded, Account: account, Amount: amount})
		c.Entries = append(c.Entries, payments.Entry{Gateway: g.name, Kind: payments.KindCharge,
			GatewayRef: key, GatewayPaymentID: key, Account: account, Amount: amount})
	}
	if len(c.Payments) == 0 {
		c.Note = "no successful order to record"
	}
	// A subscription is acknowledged with purchases.subscriptions.acknowledge
	// (v2 has no acknowledge); Google refuses to acknowledge what is pending.
	if s.AcknowledgementState == acknowledgementPending && s.SubscriptionState != subscriptionExpired && len(s.LineItems) > 0 {
		c.Followup = &followup{items: []followupItem{{subscription: true, productID: s.LineItems[0].ProductId, token: token, acknowledge: true}}}
	}
	return c, nil
}

func subscriptionAccount(s *androidpublisher.SubscriptionPurchaseV2) string {
	if s.ExternalAccountIdentifiers == nil {
		return ""
	}
	return s.ExternalAccountIdentifiers.ObfuscatedExternalAccountId
}

func hasProduct(items []*androidpublisher.SubscriptionPurchaseLineItem, productID string) bool {
	for _, it := range items {
		if it.ProductId == productID {
			return true
		}
	}
	return false
}

// subscriptionOrder is one order and the line items it paid for.
type subscriptionOrder struct {
	id    string
	items []*androidpublisher.SubscriptionPurchaseLineItem
}

// ordersOf groups line items by their latest successful order, in the
// order the items come: a base plan and an add-on bought together share
// one.
func ordersOf(items []*androidpublisher.SubscriptionPurchaseLineItem) []subscriptionOrder {
	var orders []subscriptionOrder
	for _, it := range items {
		if it.LatestSuccessfulOrderId == "" {
			continue // not owned yet (a deferred replacement)
		}
		i := 0
		for i < len(orders) && orders[i].id != it.LatestSuccessfulOrderId {
			i++
		}
		if i == len(orders) {
			orders = append(orders, subscriptionOrder{id: it.LatestSuccessfulOrderId})
		}
		orders[i].items = append(orders[i].items, it)
	}
	return orders
}
