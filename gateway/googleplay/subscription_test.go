package googleplay_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// TestSubscriptionRenewals: the purchase and each renewal are charges of
// their own orders, each its own payment, so a renewal at a new price is
// recorded at it instead of being parked as more than an earlier payment
// asked. The subscription is acknowledged once.
func TestSubscriptionRenewals(t *testing.T) {
	w := newWorld(t, func(c *googleplay.Config) { c.OrdersAPI = true })
	const first = "GPA.3355-0000-1111-22222"
	token := w.api.subscription(activeSubscription("acct_sub", monthlyItem(first, basePhase())))

	res, err := w.deliver(t, subscriptionNotice(4, token)) // SUBSCRIPTION_PURCHASED
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	assert.Equal(t, "SUBSCRIPTION_PURCHASED", res.Notification.EventType)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, first, res.Recorded.Entries[0].GatewayRef)
	assert.Equal(t, usd(499), res.Recorded.Entries[0].Amount)
	assert.Equal(t, "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED", w.api.subscriptionState(token).AcknowledgementState)

	// The first renewal is a new order; so is the second, after the
	// catalogue has dropped the plan and the Orders API prices it higher.
	for i, renewal := range []struct {
		order string
		price payments.Money
	}{{first + "..0", usd(499)}, {first + "..1", usd(599)}} {
		w.api.editSubscription(token, func(s *androidpublisher.SubscriptionPurchaseV2) {
			s.LineItems[0].LatestSuccessfulOrderId = renewal.order
			if i == 1 {
				s.LineItems[0].OfferDetails.BasePlanId = "monthly-2027"
			}
		})
		w.api.order(&androidpublisher.Order{OrderId: renewal.order, Total: &androidpublisher.Money{CurrencyCode: "USD", Units: 5, Nanos: 990_000_000}})
		res, err := w.deliver(t, subscriptionNotice(2, token)) // SUBSCRIPTION_RENEWED
		require.NoError(t, err)
		require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
		require.Len(t, res.Recorded.Entries, 1)
		assert.Equal(t, renewal.order, res.Recorded.Entries[0].GatewayRef)
		assert.Equal(t, renewal.price, res.Recorded.Entries[0].Amount)
		require.Len(t, res.Recorded.Created, 1, "each renewal is a payment of its own")
		assert.Equal(t, renewal.order, res.Recorded.Created[0].GatewayID)
	}
	res, err = w.deliver(t, subscriptionNotice(3, token)) // SUBSCRIPTION_CANCELED: nothing new
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	assert.Equal(t, int64(499+499+599), w.balance(t, "acct_sub"))
	assert.Equal(t, 1, countCalls(w, ":acknowledge"))
}

// TestSubscriptionOfferPhases: a free trial is a payment with no money (and
// still acknowledged); an introductory price is the offer's catalogue price,
// and without one nothing is recorded rather than the base plan's price.
func TestSubscriptionOfferPhases(t *testing.T) {
	w := newWorld(t)
	trial := w.api.subscription(activeSubscription("acct_phase", monthlyItem("GPA.3355-0000-1111-30000",
		&androidpublisher.OfferPhase{FreeTrial: &androidpublisher.FreeTrialOfferPhase{}})))
	res, err := w.deliver(t, subscriptionNotice(4, trial))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Empty(t, res.Recorded.Entries)
	require.Len(t, res.Recorded.Created, 1)
	assert.Equal(t, payments.StatusSucceeded, res.Recorded.Created[0].Status)
	assert.Equal(t, "ACKNOWLEDGEMENT_STATE_ACKNOWLEDGED", w.api.subscriptionState(trial).AcknowledgementState, "a trial must be acknowledged too")

	intro := func(offer string) *androidpublisher.SubscriptionPurchaseLineItem {
		it := monthlyItem("GPA.3355-0000-1111-4000"+offer[len(offer)-1:], &androidpublisher.OfferPhase{IntroductoryPrice: &androidpublisher.IntroductoryPriceOfferPhase{}})
		it.OfferDetails.OfferId = offer
		return it
	}
	listed := w.api.subscription(activeSubscription("acct_phase", intro("intro-50")))
	res, err = w.deliver(t, subscriptionNotice(4, listed))
	require.NoError(t, err)
	assert.Equal(t, []payments.Money{usd(249)}, amounts(res.Recorded.Entries))

	unlisted := w.api.subscription(activeSubscription("acct_phase", intro("intro-1")))
	_, err = w.deliver(t, subscriptionNotice(4, unlisted))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no price for subscription premium")
	assert.Equal(t, int64(249), w.balance(t, "acct_phase"))
}

// TestSubscriptionAddOn: a base plan and an add-on bought in one order are
// one charge of their sum.
func TestSubscriptionAddOn(t *testing.T) {
	w := newWorld(t)
	const order = "GPA.3355-0000-1111-50000"
	addon := &androidpublisher.SubscriptionPurchaseLineItem{ProductId: "premium_addon", LatestSuccessfulOrderId: order,
		AutoRenewingPlan: &androidpublisher.AutoRenewingPlan{AutoRenewEnabled: true}}
	token := w.api.subscription(activeSubscription("acct_addon", monthlyItem(order, basePhase()), addon))
	res, err := w.deliver(t, subscriptionNotice(4, token))
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, usd(599), res.Recorded.Entries[0].Amount)
}

// TestVerifySubscription: a product of Config.Subscriptions is verified
// with subscriptionsv2, for the product the client names.
func TestVerifySubscription(t *testing.T) {
	w := newWorld(t)
	const order = "GPA.3355-0000-1111-60000"
	token := w.api.subscription(activeSubscription("", monthlyItem(order, basePhase())))
	res, err := verify(t, w, "acct_client_sub", "premium", token)
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, "acct_client_sub", res.Recorded.Entries[0].Account)
	assert.Equal(t, order, res.Payment.GatewayID)
	notified, err := w.deliver(t, subscriptionNotice(4, token))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, notified.Notification.Outcome)

	pending := w.api.subscription(&androidpublisher.SubscriptionPurchaseV2{SubscriptionState: "SUBSCRIPTION_STATE_PENDING",
		AcknowledgementState: "ACKNOWLEDGEMENT_STATE_PENDING", LineItems: []*androidpublisher.SubscriptionPurchaseLineItem{monthlyItem("", nil)}})
	res, err = verify(t, w, "acct_client_sub", "premium", pending)
	require.NoError(t, err)
	assert.True(t, res.Recorded.Empty())
	assert.Equal(t, "ACKNOWLEDGEMENT_STATE_PENDING", w.api.subscriptionState(pending).AcknowledgementState)

	canceled := w.api.subscription(&androidpublisher.SubscriptionPurchaseV2{SubscriptionState: "SUBSCRIPTION_STATE_PENDING_PURCHASE_CANCELED",
		LineItems: []*androidpublisher.SubscriptionPurchaseLineItem{monthlyItem("", nil)}})
	_, err = verify(t, w, "acct_client_sub", "premium", canceled)
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	w.api.editSubscription(token, func(s *androidpublisher.SubscriptionPurchaseV2) { s.LineItems[0].ProductId = "premium_plus" })
	_, err = verify(t, w, "acct_client_sub", "premium", token)
	require.ErrorIs(t, err, payments.ErrInvalidInput, "the token is not a subscription to premium")

	test := w.api.subscription(activeSubscription("acct_client_sub", monthlyItem("", basePhase())))
	w.api.editSubscription(test, func(s *androidpublisher.SubscriptionPurchaseV2) { s.TestPurchase = &androidpublisher.TestPurchase{} })
	res, err = verify(t, w, "acct_client_sub", "premium", test)
	require.NoError(t, err)
	assert.Empty(t, res.Recorded.Entries, "no successful order yet")
	w.api.editSubscription(test, func(s *androidpublisher.SubscriptionPurchaseV2) {
		s.LineItems[0].LatestSuccessfulOrderId = "GPA.3355-0000-1111-70000"
	})
	res, err = verify(t, w, "acct_client_sub", "premium", test)
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.True(t, googleplay.IsTestPurchase(res.Recorded.Entries[0]))
}
