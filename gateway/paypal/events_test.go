package paypal_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/store/memory"
)

const (
	fixturePayment = "pay_019ad3e1c2f07a6b9e8d7c6b5a493827"
	fixtureOrder   = "9JL52742K01513702"
	fixtureCapture = "29Y24445UY2083144"
)

// parse signs body as PayPal would now and has g parse it.
func parse(t *testing.T, g *paypal.Gateway, body []byte) (*payments.Changes, error) {
	t.Helper()
	c, err := g.ParseWebhook(context.Background(), defaultSigner(t).sign(body, time.Now()))
	if err == nil {
		assert.NoError(t, c.Validate(g.Name()))
	}
	return c, err
}

func TestCaptureEvents(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	c, err := parse(t, g, fixture(t, "payment.capture.completed"))
	require.NoError(t, err)
	assert.Equal(t, "PAYMENT.CAPTURE.COMPLETED", c.EventType)
	require.Len(t, c.Payments, 1)
	assert.Equal(t, payments.PaymentUpdate{GatewayID: fixtureOrder, PaymentID: fixturePayment, Status: payments.StatusSucceeded,
		Reference: "order:672626:k3j2h1", Amount: usd(2500)}, c.Payments[0])
	require.Len(t, c.Entries, 1)
	e := c.Entries[0]
	assert.Equal(t, payments.KindCharge, e.Kind)
	assert.Equal(t, fixtureCapture, e.GatewayRef, "keyed by the capture id")
	assert.Equal(t, fixtureOrder, e.GatewayPaymentID, "linked to the order")
	assert.Equal(t, usd(2500), e.Amount)
	assert.False(t, e.Overpayment, "PayPal reports no overpayment")
	assert.Equal(t, time.Date(2026, 11, 30, 10, 5, 8, 0, time.UTC), e.OccurredAt)

	for name, status := range map[string]payments.Status{
		"payment.capture.pending":  payments.StatusPending,
		"payment.capture.denied":   payments.StatusFailed,
		"payment.capture.declined": payments.StatusFailed,
	} {
		c, err := parse(t, g, fixture(t, name))
		require.NoError(t, err, name)
		require.Len(t, c.Payments, 1, name)
		assert.Equal(t, status, c.Payments[0].Status, name)
		assert.Empty(t, c.Entries, "%s moves no money", name)
	}
}

// TestCaptureOfAnAuthorization: a capture that names only its
// authorization is linked to the order through the authorization, looked
// up.
func TestCaptureOfAnAuthorization(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	ctx := context.Background()
	co, err := g.CreateCheckout(ctx, payments.CheckoutRequest{Account: "a", Amount: usd(1000), Capture: payments.CaptureManual, PaymentID: fixturePayment})
	require.NoError(t, err)
	api.approve(t, co.GatewayID)
	captured, err := g.Capture(ctx, payments.Payment{ID: fixturePayment, GatewayID: co.GatewayID}, payments.CaptureOptions{Key: "k"})
	require.NoError(t, err)
	require.Len(t, captured.Entries, 1)
	order := api.order(co.GatewayID)
	capture := api.captureNow(order.Captures[0])
	delete(capture, "supplementary_data") // as in PayPal's 2019 sample: only the "up" link names the authorization
	c, err := parse(t, g, eventBody(t, paypal.EventCaptureCompleted, "capture", capture))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, co.GatewayID, c.Entries[0].GatewayPaymentID)
	assert.Equal(t, captured.Entries[0].ID, c.Entries[0].ID, "the capture's answer and its event are one entry")

	// The fixture's authorization is unknown at PayPal: the capture is
	// linked to nothing, and the Service parks it.
	c, err = parse(t, g, fixture(t, "payment.capture.completed.authorization"))
	require.NoError(t, err)
	assert.Empty(t, c.Payments)
	require.Len(t, c.Entries, 1)
	assert.Empty(t, c.Entries[0].GatewayPaymentID)
}

// TestRefundEvents: a refund names its capture only; the capture, looked
// up, names the order and says whether it is refunded in full. The amount
// booked is the refund's own, never total_refunded_amount.
func TestRefundEvents(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	ctx := context.Background()
	co, err := g.CreateCheckout(ctx, payments.CheckoutRequest{Account: "a", Amount: usd(2500), PaymentID: fixturePayment})
	require.NoError(t, err)
	api.pay(t, co.GatewayID, usd(2500))
	p := payments.Payment{ID: fixturePayment, GatewayID: co.GatewayID, Amount: usd(2500)}
	ten := usd(1000)
	first, err := g.Refund(ctx, p, payments.RefundOptions{Amount: &ten, Key: "r1"})
	require.NoError(t, err)
	require.Len(t, first.Entries, 1)

	refund := api.refundNow(first.Entries[0].GatewayRef)
	c, err := parse(t, g, eventBody(t, paypal.EventCaptureRefunded, "refund", refund))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, first.Entries[0].ID, c.Entries[0].ID, "the refund's answer and its event are one entry")
	assert.Equal(t, usd(-1000), c.Entries[0].Amount)
	assert.Equal(t, co.GatewayID, c.Entries[0].GatewayPaymentID)
	require.Len(t, c.Payments, 1)
	assert.Equal(t, payments.PaymentUpdate{GatewayID: co.GatewayID, PaymentID: fixturePayment, Status: payments.StatusPartiallyRefunded}, c.Payments[0])

	rest, err := g.Refund(ctx, p, payments.RefundOptions{Key: "r2"})
	require.NoError(t, err)
	refund = api.refundNow(rest.Entries[0].GatewayRef)
	assert.Equal(t, "25.00", refund["seller_payable_breakdown"].(map[string]any)["total_refunded_amount"].(map[string]any)["value"])
	c, err = parse(t, g, eventBody(t, paypal.EventCaptureRefunded, "refund", refund))
	require.NoError(t, err)
	assert.Equal(t, usd(-1500), c.Entries[0].Amount, "this refund, not the 25.00 refunded in all")
	assert.Equal(t, payments.StatusRefunded, c.Payments[0].Status)

	// The fixture's capture is unknown at PayPal: the refund is linked by
	// its custom_id alone, and its total_refunded_amount (15.00) is not
	// booked.
	c, err = parse(t, g, fixture(t, "payment.capture.refunded"))
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	assert.Equal(t, payments.KindRefund, c.Entries[0].Kind)
	assert.Equal(t, "1Y107995YT783435V", c.Entries[0].GatewayRef)
	assert.Equal(t, usd(-1000), c.Entries[0].Amount)
	assert.Equal(t, fixturePayment, c.Payments[0].PaymentID)
}

func TestReversalIsAChargeback(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	co, err := g.CreateCheckout(context.Background(), payments.CheckoutRequest{Account: "a", Amount: usd(2500), PaymentID: fixturePayment})
	require.NoError(t, err)
	capture := api.pay(t, co.GatewayID, usd(2500))
	body := edit(t, fixture(t, "payment.capture.reversed"), func(ev map[string]any) {
		resource(ev)["links"] = []any{map[string]any{"rel": "up", "href": fakeHost + "/v2/payments/captures/" + capture["id"].(string)}}
	})
	c, err := parse(t, g, body)
	require.NoError(t, err)
	require.Len(t, c.Entries, 1)
	e := c.Entries[0]
	assert.Equal(t, payments.KindChargeback, e.Kind)
	assert.Equal(t, "09E71677NS257044M", e.GatewayRef)
	assert.Equal(t, usd(-2500), e.Amount)
	assert.Equal(t, co.GatewayID, e.GatewayPaymentID)
	assert.Equal(t, payments.StatusDisputed, c.Payments[0].Status)
}

func TestAuthorizationEvents(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	c, err := parse(t, g, fixture(t, "payment.authorization.created"))
	require.NoError(t, err)
	require.Len(t, c.Payments, 1)
	u := c.Payments[0]
	assert.Equal(t, "2K3482624Y7394234", u.GatewayID)
	assert.Equal(t, payments.StatusAuthorized, u.Status)
	assert.Equal(t, time.Date(2026, 12, 29, 10, 3, 40, 0, time.UTC), u.CaptureBefore)
	assert.Empty(t, c.Entries)

	c, err = parse(t, g, fixture(t, "payment.authorization.voided"))
	require.NoError(t, err)
	require.Len(t, c.Payments, 1)
	assert.Equal(t, "2K3482624Y7394234", c.Payments[0].GatewayID, "from the up link")
	assert.Equal(t, payments.StatusCanceled, c.Payments[0].Status)
}

func TestDisputeEvents(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	co, err := g.CreateCheckout(context.Background(), payments.CheckoutRequest{Account: "a", Amount: usd(2500), PaymentID: fixturePayment})
	require.NoError(t, err)
	capture := api.pay(t, co.GatewayID, usd(2500))
	for _, name := range []string{"customer.dispute.created", "customer.dispute.resolved"} {
		body := edit(t, fixture(t, name), func(ev map[string]any) {
			resource(ev)["disputed_transactions"].([]any)[0].(map[string]any)["seller_transaction_id"] = capture["id"]
		})
		c, err := parse(t, g, body)
		require.NoError(t, err, name)
		require.Len(t, c.Payments, 1, name)
		assert.Equal(t, payments.PaymentUpdate{GatewayID: co.GatewayID, Status: payments.StatusDisputed}, c.Payments[0], name)
		assert.Empty(t, c.Entries, "%s: the money moves with PAYMENT.CAPTURE.REVERSED", name)
	}
	c, err := parse(t, g, fixture(t, "customer.dispute.created"))
	require.NoError(t, err)
	assert.True(t, c.Empty(), "a capture PayPal does not know here")
	assert.Contains(t, c.Note, "PP-R-NMW-10060094")
}

// TestOrderApprovedIsCaptured: through a Service, an automatic checkout
// approved by the buyer is captured when CHECKOUT.ORDER.APPROVED arrives;
// its redelivery and the PAYMENT.CAPTURE.COMPLETED that follows record
// nothing twice.
func TestOrderApprovedIsCaptured(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	ctx := context.Background()
	p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "user-42", Amount: usd(2500), Reference: "order:1:a"})
	require.NoError(t, err)
	api.approve(t, p.GatewayID)
	order := api.orderNow(p.GatewayID)
	approved := defaultSigner(t).sign(eventBody(t, paypal.EventOrderApproved, "checkout-order", order), time.Now())

	res, err := svc.HandleWebhook(ctx, paypal.DefaultName, approved)
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, usd(2500), res.Recorded.Entries[0].Amount)
	assert.Equal(t, "user-42", res.Recorded.Entries[0].Account)
	got, err := svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, got.Status)

	again := defaultSigner(t).sign(approved.Body, time.Now())
	res, err = svc.HandleWebhook(ctx, paypal.DefaultName, again)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome, "the same event: PayPal's first answer")

	capture := api.captureNow(api.order(p.GatewayID).Captures[0])
	res, err = svc.HandleWebhook(ctx, paypal.DefaultName,
		defaultSigner(t).sign(eventBody(t, paypal.EventCaptureCompleted, "capture", capture), time.Now()))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome)
	// The host's return page captures it too: the same capture, nothing new.
	posts, _ := api.posts()
	captured, err := svc.Capture(ctx, p.ID, payments.CaptureOptions{})
	require.NoError(t, err)
	assert.True(t, captured.Recorded.Empty())
	assert.Equal(t, payments.StatusSucceeded, captured.Payment.Status)
	after, _ := api.posts()
	assert.Len(t, after, len(posts), "PayPal is not asked to capture again")
	b, err := svc.Balance(ctx, "user-42", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(2500), b.Money.Amount)
}

// TestOrderApprovedNotCaptured: an order of intent AUTHORIZE, one made
// elsewhere and one PayPal refuses to capture are reported authorized, and
// only the last reaches the API.
func TestOrderApprovedNotCaptured(t *testing.T) {
	api := newFakeAPI(t)
	g := newGateway(t, api)
	for name, change := range map[string]func(o map[string]any){
		"authorize intent": func(o map[string]any) { o["intent"] = "AUTHORIZE" },
		"made elsewhere": func(o map[string]any) {
			o["purchase_units"].([]any)[0].(map[string]any)["custom_id"] = paypal.CustomIDAccountPrefix + "user-7"
		},
		"unknown at PayPal": func(map[string]any) {},
	} {
		before := apiCalls(api)
		c, err := parse(t, g, edit(t, fixture(t, "checkout.order.approved"), func(ev map[string]any) { change(resource(ev)) }))
		require.NoError(t, err, name)
		require.Len(t, c.Payments, 1, name)
		assert.Equal(t, payments.StatusAuthorized, c.Payments[0].Status, name)
		assert.Equal(t, fixtureOrder, c.Payments[0].GatewayID, name)
		assert.Empty(t, c.Entries, name)
		if name != "unknown at PayPal" {
			assert.Equal(t, before, apiCalls(api), "%s: no capture asked for", name)
		}
	}
}

// apiCalls counts the calls made to PayPal's REST API, certificates aside.
func apiCalls(api *fakeAPI) int {
	n := 0
	for _, c := range api.callLog() {
		if strings.Contains(c, " /v2/") {
			n++
		}
	}
	return n
}

func TestIgnoredEvents(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	c, err := parse(t, g, fixture(t, "checkout.order.completed"))
	require.NoError(t, err)
	assert.True(t, c.Empty())
	assert.Contains(t, c.Note, "not acted on")

	v1 := edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) {
		resource(ev)["amount"] = map[string]any{"total": "25.00", "currency": "USD"}
	})
	c, err = parse(t, g, v1)
	require.NoError(t, err)
	assert.True(t, c.Empty())
	assert.Contains(t, c.Note, "Payments v1")
}

// TestAmountsAreExact: PayPal's decimal strings are read by the currency's
// exponent, and more precision than it has is refused.
func TestAmountsAreExact(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	for _, tc := range []struct {
		value, currency string
		want            int64
	}{
		{"10.5", "USD", 1050}, {".5", "USD", 50}, {"1000", "JPY", 1000}, {"1000", "HUF", 100000},
		{"3.125", "KWD", 3125}, {"20.000", "USD", 2000}, {"92233720368547758.07", "USD", 9223372036854775807},
	} {
		c, err := parse(t, g, edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) {
			resource(ev)["amount"] = map[string]any{"value": tc.value, "currency_code": tc.currency}
		}))
		require.NoError(t, err, tc.value)
		assert.Equal(t, payments.Money{Amount: tc.want, Currency: payments.Currency(tc.currency)}, c.Entries[0].Amount, tc.value)
	}
	for _, bad := range []map[string]any{
		{"value": "10.505", "currency_code": "USD"}, {"value": "1e3", "currency_code": "USD"},
		{"value": "0.00", "currency_code": "USD"}, {"value": "10.00", "currency_code": "XXX"},
		{"value": "92233720368547758.08", "currency_code": "USD"}, {"value": "10.00"},
	} {
		_, err := parse(t, g, edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) { resource(ev)["amount"] = bad }))
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "%v", bad)
	}
}

// TestVerifiedButNotUnderstood: a signed body that is not a PayPal event,
// or names a resource the driver cannot read, is invalid input (400), never
// unauthenticated.
func TestVerifiedButNotUnderstood(t *testing.T) {
	g := newGateway(t, newFakeAPI(t))
	for name, body := range map[string][]byte{
		"not JSON":          []byte("not json"),
		"no event type":     []byte(`{"id":"WH-1"}`),
		"resource an array": []byte(`{"id":"WH-1","event_type":"PAYMENT.CAPTURE.COMPLETED","resource":[]}`),
		"capture without id": edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) {
			delete(resource(ev), "id")
		}),
		"capture id with a path": edit(t, fixture(t, "payment.capture.completed"), func(ev map[string]any) {
			resource(ev)["id"] = "../orders/1"
		}),
	} {
		_, err := parse(t, g, body)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, name)
		assert.NotErrorIs(t, err, payments.ErrUnauthenticated, name)
	}
}
