package googleplay

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// voidClaim is Google's word that an order was voided: from a
// voidedPurchaseNotification or a record of the voided purchases list.
type voidClaim struct {
	orderID, token string
	productType    int64 // productTypeSubscription or productTypeOneTime
	// partial: a quantity-based partial refund of a multi-quantity
	// purchase; otherwise the whole order (or what remained of it).
	partial bool
	at      time.Time
}

// voidedChanges translates a voided order into refunds. Keys follow the
// charge's (OrderKey), so a notification, the voided purchases list and a
// replay of either record each refund once.
func (g *Gateway) voidedChanges(ctx context.Context, v voidClaim) (*payments.Changes, error) {
	if v.token == "" {
		return nil, fmt.Errorf("googleplay: voided purchase without purchaseToken: %w", payments.ErrInvalidInput)
	}
	switch v.productType {
	case productTypeOneTime:
		return g.voidedOneTime(ctx, v)
	case productTypeSubscription:
		if v.orderID == "" {
			return nil, fmt.Errorf("googleplay: voided subscription without orderId: %w", payments.ErrInvalidInput)
		}
		return g.voidedSubscription(ctx, v)
	}
	return nil, fmt.Errorf("googleplay: voided purchase of unknown productType %d: %w", v.productType, payments.ErrInvalidInput)
}

// voidedOneTime refunds the voided units of a one-time purchase. The
// notification does not say how many units a partial refund voided, nor
// what the product was; purchases.productsv2 does: "the refundableQuantity
// field ... contains the remaining number of purchased products that have
// not been voided" (RTDN reference). Each unit is a refund of its own
// (keyed by unitKey), the voided ones being the first quantity −
// refundableQuantity, so that however the voids are reported — one partial
// refund at a time, several at once, the remainder as a full refund — each
// unit is refunded once.
func (g *Gateway) voidedOneTime(ctx context.Context, v voidClaim) (*payments.Changes, error) {
	p, err := g.api.Purchases.Productsv2.Getproductpurchasev2(g.pkg, v.token).Context(ctx).Do()
	if err != nil {
		return nil, apiError("productsv2.getproductpurchasev2", tokenRef(v.token), err)
	}
	if len(p.ProductLineItem) != 1 {
		return nil, fmt.Errorf("googleplay: voided order %s has %d product line items; this driver refunds purchases of one product: %w",
			v.orderID, len(p.ProductLineItem), payments.ErrInvalidInput)
	}
	if v.orderID != "" && p.OrderId != "" && p.OrderId != v.orderID {
		return nil, fmt.Errorf("googleplay: voided order %s, but the purchase token's order is %s: %w", v.orderID, p.OrderId, payments.ErrInvalidInput)
	}
	orderID := p.OrderId
	if orderID == "" {
		orderID = v.orderID
	}
	item := p.ProductLineItem[0]
	quantity, refundable := int64(1), int64(1)
	if d := item.ProductOfferDetails; d != nil && d.Quantity > 0 {
		quantity, refundable = d.Quantity, min(max(d.RefundableQuantity, 0), d.Quantity)
	}
	test := p.TestPurchaseContext != nil
	if test && g.refuseTest {
		return refusedTest(fromNotification, "voided order "+orderID)
	}
	voided := quantity - refundable
	if !v.partial {
		voided = quantity
	}
	if voided == 0 {
		// Google has not yet counted the void: unclassified, so that Pub/Sub
		// delivers the notification again.
		return nil, fmt.Errorf("googleplay: order %s: partial refund reported, but Google counts no unit voided yet", orderID)
	}
	total, err := g.oneTimeAmount(ctx, orderID, item.ProductId, quantity)
	if err != nil {
		return nil, err
	}
	account, err := g.resolveAccount(ctx, p.ObfuscatedExternalAccountId)
	if err != nil {
		return nil, err
	}
	key := OrderKey(orderID, v.token, test)
	status := payments.StatusRefunded
	if voided < quantity {
		status = payments.StatusPartiallyRefunded
	}
	c := &payments.Changes{Payments: []payments.PaymentUpdate{{GatewayID: key, Status: status, Account: account}}}
	units := splitUnits(total.Amount, quantity)
	for k := int64(1); k <= voided; k++ {
		c.Entries = append(c.Entries, payments.Entry{Gateway: g.name, Kind: payments.KindRefund,
			GatewayRef: unitKey(key, k, quantity), GatewayPaymentID: key, Account: account,
			Amount: payments.Money{Amount: -units[k-1], Currency: total.Currency}, OccurredAt: v.at})
	}
	return c, nil
}

// voidedSubscription refunds one voided order of a subscription: the
// initial purchase or one renewal, priced as its charge was. Which items
// the order paid for is known for the latest order (its items'
// latestSuccessfulOrderId); an earlier renewal of a single-item
// subscription is priced at its base plan, without the offer phase it may
// have had, unless the Orders API prices it.
func (g *Gateway) voidedSubscription(ctx context.Context, v voidClaim) (*payments.Changes, error) {
	s, err := g.api.Purchases.Subscriptionsv2.Get(g.pkg, v.token).Context(ctx).Do()
	if err != nil {
		return nil, apiError("subscriptionsv2.get", tokenRef(v.token), err)
	}
	test := s.TestPurchase != nil
	if test && g.refuseTest {
		return refusedTest(fromNotification, "voided order "+v.orderID)
	}
	items, latest := orderItems(s.LineItems, v.orderID)
	if len(items) == 0 {
		return nil, fmt.Errorf("googleplay: voided order %s: the subscription has %d items, none of them the order's: %w",
			v.orderID, len(s.LineItems), payments.ErrInvalidInput)
	}
	amount, err := g.subscriptionAmount(ctx, v.orderID, items, latest)
	if err != nil {
		return nil, err
	}
	if amount.Amount == 0 {
		return &payments.Changes{Note: "voided order " + v.orderID + " was free"}, nil
	}
	account, err := g.resolveAccount(ctx, subscriptionAccount(s))
	if err != nil {
		return nil, err
	}
	key := OrderKey(v.orderID, v.token, test)
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: key, Status: payments.StatusRefunded, Account: account}},
		Entries: []payments.Entry{{Gateway: g.name, Kind: payments.KindRefund, GatewayRef: key, GatewayPaymentID: key,
			Account: account, Amount: payments.Money{Amount: -amount.Amount, Currency: amount.Currency}, OccurredAt: v.at}},
	}, nil
}

// orderItems finds the line items an order paid for: those whose latest
// successful order it is, or else, for a subscription of one item, that
// item, at a phase that is not known (latest false).
func orderItems(items []*androidpublisher.SubscriptionPurchaseLineItem, orderID string) (paid []*androidpublisher.SubscriptionPurchaseLineItem, latest bool) {
	for _, o := range ordersOf(items) {
		if o.id == orderID {
			return o.items, true
		}
	}
	if len(items) == 1 {
		return items, false
	}
	return nil, false
}
