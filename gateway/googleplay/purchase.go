package googleplay

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// source says who reported a purchase: the app through VerifyPurchase,
// whose caller's account the Service pairs with it, or Google (a
// notification, the voided purchases list).
type source int

const (
	fromClient source = iota
	fromNotification
)

// ProductPurchase.purchaseState
// (https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.products).
const (
	purchaseStatePurchased = 0
	purchaseStateCanceled  = 1
	purchaseStatePending   = 2
)

// VerifyPurchase implements payments.PurchaseVerifier for a purchase the
// app reports: req.ProductID and req.Token, the purchase token from the
// Play Billing Library. A product of Config.Subscriptions is looked up with
// purchases.subscriptionsv2.get, any other with purchases.products.get
// (https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.products/get).
//
// A purchased one-time product (purchaseState 0) is a charge of its order
// (see the package doc for keys and prices), and its payment has
// succeeded; a pending one (2) is a pending payment and no money, to be
// charged when its notification or a later report finds it purchased; a
// canceled one (1) is refused with payments.ErrInvalidInput. Its
// obfuscatedExternalAccountId, mapped by Config.Account, is the account the
// money is Google's word for: when it is not req.Account the Service
// refuses the purchase (payments.ErrConflict). A test purchase is refused
// when Config.RefuseTestPurchases is set, and otherwise recorded under keys
// with TestPrefix.
//
// Once the Service has recorded it, AfterCommit acknowledges the purchase
// and consumes a consumable; the Service returns an error of theirs with
// the result, and the app should report the purchase again.
func (g *Gateway) VerifyPurchase(ctx context.Context, req payments.PurchaseRequest) (*payments.Changes, error) {
	if req.ProductID == "" || req.Token == "" {
		return nil, fmt.Errorf("googleplay: a purchase is verified by its product id and purchase token: %w", payments.ErrInvalidInput)
	}
	if g.subscriptions[req.ProductID] {
		return g.subscriptionChanges(ctx, req.Token, req.ProductID, fromClient)
	}
	return g.oneTimeChanges(ctx, req.ProductID, req.Token, fromClient)
}

// oneTimeChanges looks a one-time purchase up and translates it.
func (g *Gateway) oneTimeChanges(ctx context.Context, productID, token string, src source) (*payments.Changes, error) {
	p, err := g.api.Purchases.Products.Get(g.pkg, productID, token).Context(ctx).Do()
	if err != nil {
		return nil, apiError("products.get", productID+" "+tokenRef(token), err)
	}
	test := p.PurchaseType != nil && *p.PurchaseType == 0
	if test && g.refuseTest {
		return refusedTest(src, "purchase of "+productID)
	}
	account, err := g.resolveAccount(ctx, p.ObfuscatedExternalAccountId)
	if err != nil {
		return nil, err
	}
	key := OrderKey(p.OrderId, token, test)
	c := &payments.Changes{}
	switch p.PurchaseState {
	case purchaseStatePurchased:
		return g.purchased(ctx, p, productID, token, key, account)
	case purchaseStateCanceled:
		if src == fromClient {
			return nil, fmt.Errorf("googleplay: purchase of %s (order %s) was canceled: %w", productID, key, payments.ErrInvalidInput)
		}
		c.Note = "purchase canceled before it was paid"
		c.Payments = statusOnly(src, key, payments.StatusCanceled, account)
	case purchaseStatePending:
		c.Note = "purchase pending: recorded once paid"
		c.Payments = statusOnly(src, key, payments.StatusPending, account)
	default:
		return nil, fmt.Errorf("googleplay: purchase of %s: unknown purchaseState %d: %w", productID, p.PurchaseState, payments.ErrInvalidInput)
	}
	return c, nil
}

// purchased is the charge of a paid one-time purchase, and what
// AfterCommit must tell Google once it is recorded.
func (g *Gateway) purchased(ctx context.Context, p *androidpublisher.ProductPurchase, productID, token, key, account string) (*payments.Changes, error) {
	quantity := max(p.Quantity, 1) // "if not present, the quantity is 1"
	amount, err := g.oneTimeAmount(ctx, p.OrderId, productID, quantity)
	if err != nil {
		return nil, err
	}
	c := &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: key, Status: payments.StatusSucceeded, Account: account, Amount: amount}},
		Entries: []payments.Entry{{
			Gateway: g.name, Kind: payments.KindCharge, GatewayRef: key, GatewayPaymentID: key,
			Account: account, Amount: amount, OccurredAt: millis(p.PurchaseTimeMillis),
		}},
	}
	item := followupItem{productID: productID, token: token,
		acknowledge: p.AcknowledgementState == 0,
		consume:     g.consumables[productID] && p.ConsumptionState == 0}
	if item.acknowledge || item.consume {
		c.Followup = &followup{items: []followupItem{item}}
	}
	return c, nil
}

// statusOnly is a status change that moves no money. Reported by Google
// about an account it does not name, it is left out: the payment may not
// exist, and creating one without an account would park a notification
// that has no money to attribute.
func statusOnly(src source, key string, status payments.Status, account string) []payments.PaymentUpdate {
	if src != fromClient && account == "" {
		return nil
	}
	return []payments.PaymentUpdate{{GatewayID: key, Status: status, Account: account}}
}

// refusedTest refuses a test purchase under Config.RefuseTestPurchases: an
// error for the app, a note for a notification, which Google must not
// deliver again.
func refusedTest(src source, what string) (*payments.Changes, error) {
	if src == fromClient {
		return nil, fmt.Errorf("googleplay: %s is a test purchase, refused by RefuseTestPurchases: %w", what, payments.ErrInvalidInput)
	}
	return &payments.Changes{Note: what + " is a test purchase, refused by RefuseTestPurchases"}, nil
}

// millis converts epoch milliseconds; 0 is the zero time.
func millis(ms int64) time.Time {
	if ms <= 0 {
		return time.Time{}
	}
	return time.UnixMilli(ms)
}
