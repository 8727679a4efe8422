package googleplay_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// TestVoidedOneTime: a voided purchase is a refund keyed by its order id,
// for its charge's amount and account, and its payment is refunded; a
// redelivery records nothing twice.
func TestVoidedOneTime(t *testing.T) {
	w := newWorld(t)
	token, orderID := w.api.purchase("coins_100", "acct_void")
	_, err := w.deliver(t, oneTimePurchased("coins_100", token))
	require.NoError(t, err)
	w.api.voidOneTime(token, 1, time.Now())

	void := voidedNotice(token, orderID, 2, 1)
	res, err := w.deliver(t, void)
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	require.Len(t, res.Recorded.Entries, 1)
	e := res.Recorded.Entries[0]
	assert.Equal(t, payments.KindRefund, e.Kind)
	assert.Equal(t, orderID, e.GatewayRef)
	assert.Equal(t, usd(-99), e.Amount)
	assert.Equal(t, "acct_void", e.Account)
	require.Len(t, res.Recorded.Changes, 1)
	assert.Equal(t, payments.StatusRefunded, res.Recorded.Changes[0].To)

	res, err = w.deliver(t, void)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	assert.Zero(t, w.balance(t, "acct_void"))
}

// TestVoidedQuantities: a purchase of five units refunded two, then the
// rest: each unit is refunded once however the voids are reported, and
// the last report, a full refund, refunds only what remained.
func TestVoidedQuantities(t *testing.T) {
	w := newWorld(t)
	five := func(p *androidpublisher.ProductPurchase) { p.Quantity, p.RefundableQuantity = 5, 5 }
	token, orderID := w.api.purchase("gems", "acct_units", five)
	_, err := verify(t, w, "acct_units", "gems", token)
	require.NoError(t, err)
	assert.Equal(t, int64(500), w.balance(t, "acct_units"))

	w.api.voidOneTime(token, 2, time.Now())
	partial := voidedNotice(token, orderID, 2, 2)
	res, err := w.deliver(t, partial)
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	assert.Equal(t, []string{orderID + "/1", orderID + "/2"}, refs(res.Recorded.Entries))
	assert.Equal(t, payments.StatusPartiallyRefunded, res.Recorded.Changes[0].To)
	assert.Equal(t, int64(300), w.balance(t, "acct_units"))

	w.api.voidOneTime(token, 3, time.Now())
	res, err = w.deliver(t, voidedNotice(token, orderID, 2, 1))
	require.NoError(t, err)
	assert.Equal(t, []string{orderID + "/3", orderID + "/4", orderID + "/5"}, refs(res.Recorded.Entries))
	assert.Len(t, res.Recorded.Duplicates, 2)
	assert.Equal(t, payments.StatusRefunded, res.Recorded.Changes[0].To)

	res, err = w.deliver(t, partial) // the first void, delivered late
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	assert.Zero(t, w.balance(t, "acct_units"))
}

func refs(entries []payments.Entry) []string {
	var out []string
	for _, e := range entries {
		out = append(out, e.GatewayRef)
	}
	return out
}

// TestVoidedUnitsShareTheTotal: an order total that does not divide by its
// quantity is refunded to the minor unit.
func TestVoidedUnitsShareTheTotal(t *testing.T) {
	w := newWorld(t, func(c *googleplay.Config) { c.OrdersAPI = true })
	three := func(p *androidpublisher.ProductPurchase) { p.Quantity, p.RefundableQuantity = 3, 3 }
	token, orderID := w.api.purchase("skin_gold", "acct_share", three)
	w.api.order(&androidpublisher.Order{OrderId: orderID, Total: &androidpublisher.Money{CurrencyCode: "EUR", Units: 10}})
	_, err := verify(t, w, "acct_share", "skin_gold", token)
	require.NoError(t, err)
	w.api.voidOneTime(token, 3, time.Now())
	res, err := w.deliver(t, voidedNotice(token, orderID, 2, 1))
	require.NoError(t, err)
	assert.Equal(t, []payments.Money{{Amount: -334, Currency: "EUR"}, {Amount: -333, Currency: "EUR"}, {Amount: -333, Currency: "EUR"}},
		amounts(res.Recorded.Entries))
	b, err := w.svc.Balance(t.Context(), "acct_share", "EUR")
	require.NoError(t, err)
	assert.Zero(t, b.Money.Amount)
}

// TestVoidedSubscription: a voided renewal is a refund of that order; an
// earlier renewal of a one-item subscription is priced at its base plan.
func TestVoidedSubscription(t *testing.T) {
	w := newWorld(t)
	const first = "GPA.3355-0000-1111-80000"
	token := w.api.subscription(activeSubscription("acct_sub_void", monthlyItem(first+"..0", basePhase())))
	_, err := w.deliver(t, subscriptionNotice(2, token))
	require.NoError(t, err)

	for _, order := range []string{first + "..0", first} {
		res, err := w.deliver(t, voidedNotice(token, order, 1, 1))
		require.NoError(t, err)
		require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
		require.Len(t, res.Recorded.Entries, 1)
		assert.Equal(t, order, res.Recorded.Entries[0].GatewayRef)
		assert.Equal(t, usd(-499), res.Recorded.Entries[0].Amount)
		assert.Equal(t, "acct_sub_void", res.Recorded.Entries[0].Account)
	}
	assert.Equal(t, int64(-499), w.balance(t, "acct_sub_void"), "the first order's charge was never reported; its refund is")
}

// TestVoidedRefusals: what a voided notification cannot make the driver
// record.
func TestVoidedRefusals(t *testing.T) {
	w := newWorld(t)
	token, orderID := w.api.purchase("gems", "acct_void_refused", func(p *androidpublisher.ProductPurchase) { p.Quantity, p.RefundableQuantity = 2, 2 })

	_, err := w.deliver(t, voidedNotice(token, orderID, 2, 2))
	require.Error(t, err, "a partial refund Google has not counted yet is delivered again")
	assert.NotErrorIs(t, err, payments.ErrInvalidInput)

	_, err = w.deliver(t, voidedNotice(token, "GPA.0000-0000-0000-99999", 2, 1))
	require.ErrorIs(t, err, payments.ErrInvalidInput, "the order is not the token's")
	_, err = w.deliver(t, voidedNotice("", orderID, 2, 1))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = w.deliver(t, voidedNotice(token, "", 1, 1))
	require.ErrorIs(t, err, payments.ErrInvalidInput, "a subscription's void names its order")
	assert.Zero(t, w.balance(t, "acct_void_refused"))
}
