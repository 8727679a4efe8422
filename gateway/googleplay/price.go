package googleplay

import (
	"context"
	"fmt"
	"math"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// noPrice is the failure to price an order. It is a configuration to fix,
// not a refusal, so it stays unclassified: a webhook is answered 500 and
// Pub/Sub delivers it again, and records it once the catalogue lists the
// product.
func noPrice(what, orderID string) error {
	if orderID == "" {
		orderID = "without an order id"
	}
	return fmt.Errorf("googleplay: no price for %s (order %s): list it in Config.Prices, or set Config.OrdersAPI", what, orderID)
}

// oneTimeAmount is what an order of quantity units of a one-time product
// is worth: the catalogue's unit price times the quantity, or the order's
// total in the Orders API.
func (g *Gateway) oneTimeAmount(ctx context.Context, orderID, productID string, quantity int64) (payments.Money, error) {
	unit, ok := g.prices[productID]
	if !ok {
		return g.orderTotal(ctx, orderID, "product "+productID)
	}
	if quantity > math.MaxInt64/unit.Amount {
		return payments.Money{}, fmt.Errorf("googleplay: %d × %s overflows: %w", quantity, unit, payments.ErrInvalidInput)
	}
	return payments.Money{Amount: unit.Amount * quantity, Currency: unit.Currency}, nil
}

// orderTotal asks the Orders API what the buyer paid for the order
// (https://developers.google.com/android-publisher/api-ref/rest/v3/orders/get).
func (g *Gateway) orderTotal(ctx context.Context, orderID, what string) (payments.Money, error) {
	if !g.ordersAPI || orderID == "" {
		g.log.WarnContext(ctx, "googleplay: an order cannot be priced; it is recorded once the catalogue lists it",
			"what", what, "order", orderID)
		return payments.Money{}, noPrice(what, orderID)
	}
	o, err := g.api.Orders.Get(g.pkg, orderID).Context(ctx).Do()
	if err != nil {
		return payments.Money{}, apiError("orders.get", orderID, err)
	}
	total, err := fromGoogleMoney(o.Total)
	if err != nil {
		return payments.Money{}, fmt.Errorf("googleplay: order %s total: %w", orderID, err)
	}
	return total, nil
}

// fromGoogleMoney converts Google's money (units and nanos, see
// google.type.Money) exactly: nanos finer than the currency's minor unit
// are an error, never a rounding.
func fromGoogleMoney(m *androidpublisher.Money) (payments.Money, error) {
	if m == nil {
		return payments.Money{}, fmt.Errorf("no amount: %w", payments.ErrInvalidInput)
	}
	currency, err := payments.ParseCurrency(m.CurrencyCode)
	if err != nil {
		return payments.Money{}, err
	}
	exp, _ := currency.Exponent()
	if exp > 9 || m.Nanos <= -1e9 || m.Nanos >= 1e9 || (m.Units > 0 && m.Nanos < 0) || (m.Units < 0 && m.Nanos > 0) {
		return payments.Money{}, fmt.Errorf("malformed amount %d units %d nanos %s: %w", m.Units, m.Nanos, currency, payments.ErrInvalidInput)
	}
	step := int64(math.Pow10(9 - exp))
	if m.Nanos%step != 0 {
		return payments.Money{}, fmt.Errorf("%d nanos is finer than %s's minor unit: %w", m.Nanos, currency, payments.ErrInvalidInput)
	}
	scale := int64(math.Pow10(exp))
	if m.Units > math.MaxInt64/scale || m.Units < math.MinInt64/scale {
		return payments.Money{}, fmt.Errorf("%d units %s overflows: %w", m.Units, currency, payments.ErrInvalidInput)
	}
	return payments.Money{Amount: m.Units*scale + m.Nanos/step, Currency: currency}, nil
}

// splitUnits shares total among quantity units, the first units taking a
// minor unit more when it does not divide, so that refunding every unit
// refunds exactly the total.
func splitUnits(total, quantity int64) []int64 {
	units := make([]int64, quantity)
	for k := range units {
		units[k] = total / quantity
		if int64(k) < total%quantity {
			units[k]++
		}
	}
	return units
}

// subscriptionAmount is what one order of a subscription is worth: the
// sum of its line items' catalogue prices, nothing for a free trial, or
// the order's total in the Orders API when the catalogue cannot price an
// item (one it does not list, or a proration period). phaseKnown says
// whether the items' offer phase is the order's: it is for the latest
// order, but not for an earlier renewal, which is priced at the base plan.
// A zero Money (no currency) is an order nothing was paid for.
func (g *Gateway) subscriptionAmount(ctx context.Context, orderID string, items []*androidpublisher.SubscriptionPurchaseLineItem, phaseKnown bool) (payments.Money, error) {
	var sum payments.Money
	for _, it := range items {
		ph := it.OfferPhase
		if phaseKnown && ph != nil && ph.FreeTrial != nil {
			continue
		}
		price, ok := g.catalogueSubscription(it, phaseKnown)
		if !ok || (phaseKnown && ph != nil && ph.ProrationPeriod != nil) {
			return g.orderTotal(ctx, orderID, "subscription "+it.ProductId)
		}
		if sum.Currency == "" {
			sum.Currency = price.Currency
		}
		total, err := sum.Add(price)
		if err != nil {
			return payments.Money{}, fmt.Errorf("googleplay: order %s: %w", orderID, err)
		}
		sum = total
	}
	return sum, nil
}

// catalogueSubscription looks a line item up in the catalogue: during an
// introductory price by product/basePlan/offer alone, otherwise by
// product/basePlan, then by product.
func (g *Gateway) catalogueSubscription(it *androidpublisher.SubscriptionPurchaseLineItem, phaseKnown bool) (payments.Money, bool) {
	d := it.OfferDetails
	var keys []string
	switch {
	case phaseKnown && it.OfferPhase != nil && it.OfferPhase.IntroductoryPrice != nil:
		// Only the offer's own price will do: the base plan's is not what
		// was paid.
		if d == nil || d.OfferId == "" {
			return payments.Money{}, false
		}
		keys = []string{it.ProductId + "/" + d.BasePlanId + "/" + d.OfferId}
	case d != nil && d.BasePlanId != "":
		keys = []string{it.ProductId + "/" + d.BasePlanId, it.ProductId}
	default:
		keys = []string{it.ProductId}
	}
	for _, k := range keys {
		if p, ok := g.prices[k]; ok {
			return p, true
		}
	}
	return payments.Money{}, false
}
