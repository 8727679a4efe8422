package googleplay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

func verify(t *testing.T, w *world, account, productID, token string) (*payments.OperationResult, error) {
	return w.svc.VerifyPurchase(t.Context(), googleplay.DefaultName, payments.PurchaseRequest{
		Account: account, Reference: "topup:" + account, ProductID: productID, Token: token})
}

// acknowledged and consumed count the calls the fake received.
func countCalls(w *world, suffix string) int {
	n := 0
	for _, c := range w.api.callLog() {
		if strings.HasSuffix(c, suffix) {
			n++
		}
	}
	return n
}

// TestVerifyPurchase: a client's report is looked up, recorded as a
// charge of its order for the account, and then acknowledged and, for a
// consumable, consumed; the same purchase reported again, or notified,
// is the same entry and is not acknowledged twice.
func TestVerifyPurchase(t *testing.T) {
	w := newWorld(t)
	token, orderID := w.api.purchase("coins_100", "acct_verify")
	res, err := verify(t, w, "acct_verify", "coins_100", token)
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	e := res.Recorded.Entries[0]
	assert.Equal(t, payments.KindCharge, e.Kind)
	assert.Equal(t, orderID, e.GatewayRef)
	assert.Equal(t, orderID, e.GatewayPaymentID)
	assert.Equal(t, usd(99), e.Amount)
	assert.Equal(t, "acct_verify", e.Account)
	assert.Equal(t, "topup:acct_verify", e.Reference)
	require.NotNil(t, res.Payment)
	assert.Equal(t, payments.StatusSucceeded, res.Payment.Status)
	assert.Equal(t, orderID, res.Payment.GatewayID)

	p := w.api.product(token)
	assert.Equal(t, int64(1), p.AcknowledgementState, "acknowledged once recorded")
	assert.Equal(t, int64(1), p.ConsumptionState, "a consumable is consumed, so it can be bought again")

	again, err := verify(t, w, "acct_verify", "coins_100", token)
	require.NoError(t, err)
	assert.Empty(t, again.Recorded.Entries)
	assert.Len(t, again.Recorded.Duplicates, 1)
	notified, err := w.deliver(t, oneTimePurchased("coins_100", token))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, notified.Notification.Outcome, "the client's report and the notification are one entry")
	assert.Equal(t, 1, countCalls(w, ":acknowledge"))
	assert.Equal(t, 1, countCalls(w, ":consume"))
	assert.Equal(t, int64(99), w.balance(t, "acct_verify"))
}

// TestNotificationBeforeReport: the notification records first, and the
// client's report, for the same account, finds it recorded.
func TestNotificationBeforeReport(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("my.sku", "acct_first")
	res, err := w.deliver(t, oneTimePurchased("my.sku", token))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Equal(t, int64(1), w.api.product(token).AcknowledgementState)
	assert.Zero(t, w.api.product(token).ConsumptionState, "my.sku is no consumable")

	out, err := verify(t, w, "acct_first", "my.sku", token)
	require.NoError(t, err)
	assert.Empty(t, out.Recorded.Entries)
	assert.Equal(t, int64(250), w.balance(t, "acct_first"))
}

// TestVerifyPurchaseAccounts: Google's word on whose purchase it is wins
// over the client's; a purchase without one is the client's.
func TestVerifyPurchaseAccounts(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("coins_100", "acct_owner")
	_, err := verify(t, w, "acct_thief", "coins_100", token)
	require.ErrorIs(t, err, payments.ErrConflict)
	assert.Empty(t, w.entries(t, payments.EntryFilter{Gateway: googleplay.DefaultName}))
	assert.Zero(t, w.api.product(token).AcknowledgementState, "nothing recorded, nothing acknowledged")

	anonymous, _ := w.api.purchase("coins_100", "")
	res, err := verify(t, w, "acct_client", "coins_100", anonymous)
	require.NoError(t, err)
	assert.Equal(t, "acct_client", res.Recorded.Entries[0].Account)
	res2, err := w.deliver(t, oneTimePurchased("coins_100", anonymous))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res2.Notification.Outcome, "the notification finds the client's payment")

	t.Run("mapped by Config.Account", func(t *testing.T) {
		w := newWorld(t, func(c *googleplay.Config) {
			c.Account = func(ctx context.Context, obfuscated string) (string, error) {
				if obfuscated == "h-42" {
					return "user-42", nil
				}
				return "", errors.New("unknown hash")
			}
		})
		token, _ := w.api.purchase("coins_100", "h-42")
		res, err := verify(t, w, "user-42", "coins_100", token)
		require.NoError(t, err)
		assert.Equal(t, "user-42", res.Recorded.Entries[0].Account)
		bad, _ := w.api.purchase("coins_100", "h-unknown")
		_, err = verify(t, w, "user-42", "coins_100", bad)
		require.Error(t, err)
	})
}

// TestVerifyPurchaseStates: pending is no money, canceled is refused.
func TestVerifyPurchaseStates(t *testing.T) {
	w := newWorld(t)
	pending, orderID := w.api.purchase("coins_100", "acct_states", func(p *androidpublisher.ProductPurchase) { p.PurchaseState = 2 })
	res, err := verify(t, w, "acct_states", "coins_100", pending)
	require.NoError(t, err)
	assert.Empty(t, res.Recorded.Entries)
	require.NotNil(t, res.Payment)
	assert.Equal(t, payments.StatusPending, res.Payment.Status)
	assert.Zero(t, w.api.product(pending).AcknowledgementState, "a pending purchase is not acknowledged")

	w.api.mu.Lock()
	w.api.products[pending].p.PurchaseState = 0
	w.api.mu.Unlock()
	notified, err := w.deliver(t, oneTimePurchased("coins_100", pending))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, notified.Notification.Outcome)
	p, err := w.svc.Payment(t.Context(), res.Payment.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, p.Status, "the pending payment succeeds once paid")
	assert.Equal(t, orderID, p.GatewayID)

	canceled, _ := w.api.purchase("coins_100", "acct_states", func(p *androidpublisher.ProductPurchase) { p.PurchaseState = 1 })
	_, err = verify(t, w, "acct_states", "coins_100", canceled)
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Equal(t, int64(99), w.balance(t, "acct_states"))
}

// TestVerifyPurchaseRefusals: what the client cannot make Google confirm.
func TestVerifyPurchaseRefusals(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("coins_100", "acct_refused")
	for name, req := range map[string]payments.PurchaseRequest{
		"no product id":        {Account: "acct_refused", Token: token},
		"unknown token":        {Account: "acct_refused", ProductID: "coins_100", Token: "forged-0000000000000"},
		"another product's":    {Account: "acct_refused", ProductID: "my.sku", Token: token},
		"not the subscription": {Account: "acct_refused", ProductID: "premium", Token: token},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := w.svc.VerifyPurchase(t.Context(), googleplay.DefaultName, req)
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.NotContains(t, err.Error(), token)
		})
	}
	assert.Zero(t, w.balance(t, "acct_refused"))
}

// TestTestPurchases: a license tester's purchase is recorded under keys
// that say so, or refused under RefuseTestPurchases.
func TestTestPurchases(t *testing.T) {
	test := func(p *androidpublisher.ProductPurchase) { p.PurchaseType = new(int64) }
	w := newWorld(t)
	token, orderID := w.api.purchase("coins_100", "acct_tester", test)
	res, err := verify(t, w, "acct_tester", "coins_100", token)
	require.NoError(t, err)
	e := res.Recorded.Entries[0]
	assert.Equal(t, googleplay.TestPrefix+orderID, e.GatewayRef)
	assert.True(t, googleplay.IsTestPurchase(e))
	assert.Equal(t, googleplay.TestPrefix+orderID, res.Payment.GatewayID)

	noOrder, _ := w.api.purchase("coins_100", "acct_tester", test, func(p *androidpublisher.ProductPurchase) { p.OrderId = "" })
	res, err = verify(t, w, "acct_tester", "coins_100", noOrder)
	require.NoError(t, err)
	assert.Equal(t, googleplay.OrderKey("", noOrder, true), res.Recorded.Entries[0].GatewayRef, "keyed by a digest of the token")
	assert.NotContains(t, res.Recorded.Entries[0].GatewayRef, noOrder)

	real, _ := w.api.purchase("coins_100", "acct_tester")
	res, err = verify(t, w, "acct_tester", "coins_100", real)
	require.NoError(t, err)
	assert.False(t, googleplay.IsTestPurchase(res.Recorded.Entries[0]))

	strict := newWorld(t, func(c *googleplay.Config) { c.RefuseTestPurchases = true })
	token, _ = strict.api.purchase("coins_100", "acct_tester", test)
	_, err = verify(t, strict, "acct_tester", "coins_100", token)
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	notified, err := strict.deliver(t, oneTimePurchased("coins_100", token))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeIgnored, notified.Notification.Outcome, "Google is not asked to deliver it again")
	assert.Zero(t, strict.api.product(token).AcknowledgementState)
}

// TestPrices: the catalogue prices a unit and wins over the Orders API;
// without either the purchase is not recorded and not acknowledged, and
// fails unclassified, so that Pub/Sub delivers it again once the catalogue
// lists it; the Orders API's total is exact or refused.
func TestPrices(t *testing.T) {
	w := newWorld(t, func(c *googleplay.Config) { c.OrdersAPI = true })
	three, orderID := w.api.purchase("gems", "acct_prices", func(p *androidpublisher.ProductPurchase) { p.Quantity, p.RefundableQuantity = 3, 3 })
	w.api.order(&androidpublisher.Order{OrderId: orderID, Total: &androidpublisher.Money{CurrencyCode: "EUR", Units: 9}})
	res, err := verify(t, w, "acct_prices", "gems", three)
	require.NoError(t, err)
	assert.Equal(t, usd(300), res.Recorded.Entries[0].Amount, "3 × 1.00 USD: the catalogue wins")

	unlisted, orderID := w.api.purchase("skin_gold", "acct_prices")
	w.api.order(&androidpublisher.Order{OrderId: orderID, Total: &androidpublisher.Money{CurrencyCode: "EUR", Units: 4, Nanos: 990_000_000}})
	res, err = verify(t, w, "acct_prices", "skin_gold", unlisted)
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 499, Currency: "EUR"}, res.Recorded.Entries[0].Amount, "the Orders API prices what the catalogue does not list")

	fine, orderID := w.api.purchase("skin_fine", "acct_prices")
	w.api.order(&androidpublisher.Order{OrderId: orderID, Total: &androidpublisher.Money{CurrencyCode: "JPY", Units: 120, Nanos: 500_000_000}})
	_, err = verify(t, w, "acct_prices", "skin_fine", fine)
	require.ErrorIs(t, err, payments.ErrInvalidInput, "half a yen is no amount")

	plain := newWorld(t)
	token, _ := plain.api.purchase("skin_gold", "acct_prices")
	_, err = verify(t, plain, "acct_prices", "skin_gold", token)
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrInvalidInput)
	assert.Contains(t, err.Error(), "no price for product skin_gold")
	res2, err := plain.deliver(t, oneTimePurchased("skin_gold", token))
	require.Error(t, err)
	assert.Equal(t, http.StatusInternalServerError, res2.Reply.Status)
	assert.Zero(t, plain.api.product(token).AcknowledgementState)
}

// TestAcknowledgeFailure: a purchase recorded but not acknowledged fails
// the call, and the client's next report acknowledges it without
// recording it again.
func TestAcknowledgeFailure(t *testing.T) {
	w := newWorld(t)
	token, _ := w.api.purchase("my.sku", "acct_ack")
	w.api.failNth(2, http.StatusServiceUnavailable) // the lookup succeeds, the acknowledge fails
	res, err := verify(t, w, "acct_ack", "my.sku", token)
	require.Error(t, err, "recorded, but Google has not heard")
	require.NotNil(t, res)
	assert.Len(t, res.Recorded.Entries, 1)
	assert.Zero(t, w.api.product(token).AcknowledgementState)

	res, err = verify(t, w, "acct_ack", "my.sku", token)
	require.NoError(t, err)
	assert.Empty(t, res.Recorded.Entries)
	assert.Equal(t, int64(1), w.api.product(token).AcknowledgementState)
	assert.Equal(t, int64(250), w.balance(t, "acct_ack"))
}
