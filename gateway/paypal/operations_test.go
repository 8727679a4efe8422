package paypal_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	pp "github.com/plutov/paypal/v4"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/store/memory"
)

func newService(t *testing.T, g *paypal.Gateway) *payments.Service {
	t.Helper()
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	return svc
}

// TestCheckoutCreatesAnOrder: the order carries the intent of the capture
// mode, the payment id as custom_id and the reference as invoice_id; the
// payment id is its PayPal-Request-Id, and the approve link the redirect.
func TestCheckoutCreatesAnOrder(t *testing.T) {
	api := newFakeAPI(t)
	svc := newService(t, newGateway(t, api))
	ctx := context.Background()
	long := strings.Repeat("ü", 200)
	for mode, intent := range map[payments.CaptureMode]string{payments.CaptureAutomatic: "CAPTURE", payments.CaptureManual: "AUTHORIZE"} {
		p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "user-42", Amount: usd(1999),
			Reference: "order:672626:" + string(mode), Description: long, Capture: mode,
			ReturnURL: "https://shop.example/return", CancelURL: "https://shop.example/cancel"})
		require.NoError(t, err)
		assert.Equal(t, payments.StatusPending, p.Status)
		assert.Equal(t, "https://www.sandbox.paypal.com/checkoutnow?token="+p.GatewayID, p.RedirectURL)
		o := api.order(p.GatewayID)
		assert.Equal(t, intent, o.Intent)
		assert.Equal(t, p.ID, o.CustomID)
		assert.Equal(t, "order:672626:"+string(mode), o.InvoiceID)
		assert.Equal(t, strings.Repeat("ü", 127), o.Description, "PayPal's 127 characters")
		assert.Equal(t, usd(1999), o.Amount)
	}
	posts, _ := api.posts()
	require.Len(t, posts, 2)
	for _, r := range posts {
		assert.True(t, strings.HasPrefix(r.RequestID, "pay_"), "the payment id is the PayPal-Request-Id: %q", r.RequestID)
		ac := r.Body["application_context"].(map[string]any)
		assert.Equal(t, "https://shop.example/return", ac["return_url"])
		assert.Equal(t, "PAY_NOW", ac["user_action"])
	}

	_, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: payments.Money{Amount: 150, Currency: "HUF"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "PayPal takes HUF whole")
	p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: payments.Money{Amount: 150000, Currency: "HUF"}})
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 150000, Currency: "HUF"}, api.order(p.GatewayID).Amount)
	posts, _ = api.posts()
	assert.Equal(t, "1500", posts[len(posts)-1].Body["purchase_units"].([]any)[0].(map[string]any)["amount"].(map[string]any)["value"])
}

// TestEveryPostIsIdempotent: every POST the driver makes carries a
// PayPal-Request-Id, and one longer than PayPal takes is sent as its
// digest.
func TestEveryPostIsIdempotent(t *testing.T) {
	api := newFakeAPI(t)
	svc := newService(t, newGateway(t, api))
	ctx := context.Background()
	manual := func() *payments.Payment {
		p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(2500), Capture: payments.CaptureManual})
		require.NoError(t, err)
		api.approve(t, p.GatewayID)
		return p
	}
	p := manual()
	long := strings.Repeat("k", 300)
	_, err := svc.Capture(ctx, p.ID, payments.CaptureOptions{Key: long})
	require.NoError(t, err)
	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Key: "r"})
	require.NoError(t, err)
	_, err = svc.Cancel(ctx, manual().ID, payments.CancelOptions{})
	require.NoError(t, err)
	posts, without := api.posts()
	assert.Empty(t, without)
	assert.Len(t, posts, 7, "2 checkouts, 2 authorizations, a capture, a refund and a void")
	for _, r := range posts {
		assert.LessOrEqual(t, len(r.RequestID), 108, r.Path)
		if strings.HasSuffix(r.Path, "/capture") {
			assert.True(t, strings.HasPrefix(r.RequestID, "sha256:"), "a key longer than 108 characters: %q", r.RequestID)
		}
	}
}

// TestWhatPayPalCannotDo is refused before PayPal is asked, or as PayPal
// refuses it.
func TestWhatPayPalCannotDo(t *testing.T) {
	api := newFakeAPI(t)
	svc := newService(t, newGateway(t, api))
	ctx := context.Background()
	auto, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(2500)})
	require.NoError(t, err)
	api.approve(t, auto.GatewayID)
	part := usd(1000)
	before := apiCalls(api)
	_, err = svc.Capture(ctx, auto.ID, payments.CaptureOptions{Amount: &part})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "an order of intent CAPTURE is captured in full")
	_, err = svc.Cancel(ctx, auto.ID, payments.CancelOptions{})
	assert.ErrorIs(t, err, payments.ErrConflict, "PayPal voids authorizations only")
	posts, _ := api.posts()
	assert.Len(t, posts, 1, "only the checkout was posted")
	assert.Equal(t, before+2, apiCalls(api), "two reads of the order")

	manual, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(2500), Capture: payments.CaptureManual})
	require.NoError(t, err)
	_, err = svc.Cancel(ctx, manual.ID, payments.CancelOptions{})
	assert.ErrorIs(t, err, payments.ErrConflict, "not approved yet")
	_, err = svc.Capture(ctx, manual.ID, payments.CaptureOptions{})
	assert.ErrorIs(t, err, payments.ErrConflict, "not approved yet")
	api.approve(t, manual.GatewayID)
	_, err = svc.Capture(ctx, manual.ID, payments.CaptureOptions{})
	require.NoError(t, err)
	_, err = svc.Cancel(ctx, manual.ID, payments.CancelOptions{})
	assert.ErrorIs(t, err, payments.ErrConflict, "captured: refund it")
	_, err = svc.Capture(ctx, manual.ID, payments.CaptureOptions{Key: "another"})
	assert.ErrorIs(t, err, payments.ErrConflict, "captured already, under another key")
	var e *pp.ErrorResponse
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "AUTHORIZATION_ALREADY_CAPTURED", e.Details[0].Issue)
	assert.Contains(t, err.Error(), "f4k3d3bu91d", "PayPal's debug id, for its support")

	_, err = svc.Refund(ctx, auto.ID, payments.RefundOptions{})
	assert.ErrorIs(t, err, payments.ErrConflict, "nothing captured")
}

// TestRefundExtension picks the capture of a payment captured in parts and
// carries a note to the buyer; another driver's extension is refused.
func TestRefundExtension(t *testing.T) {
	api := newFakeAPI(t)
	svc := newService(t, newGateway(t, api))
	ctx := context.Background()
	p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(2500)})
	require.NoError(t, err)
	api.pay(t, p.GatewayID, usd(2500))
	second := api.addCapture(t, p.GatewayID, usd(500))

	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{})
	assert.ErrorIs(t, err, payments.ErrInvalidInput, "two captures: which?")
	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Extension: paypal.RefundExtension{CaptureID: "NOTTHISORDERS1"}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	res, err := svc.Refund(ctx, p.ID, payments.RefundOptions{Key: "second",
		Extension: &paypal.RefundExtension{CaptureID: second, NoteToPayer: "Sorry for the wait."}})
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	assert.Equal(t, usd(-500), res.Recorded.Entries[0].Amount)
	posts, _ := api.posts()
	last := posts[len(posts)-1]
	assert.Equal(t, "/v2/payments/captures/"+second+"/refund", last.Path)
	assert.Equal(t, "Sorry for the wait.", last.Body["note_to_payer"])
	assert.Equal(t, p.ID, last.Body["custom_id"], "its PAYMENT.CAPTURE.REFUNDED names the payment")

	_, err = svc.Refund(ctx, p.ID, payments.RefundOptions{Extension: struct{ CaptureID string }{second}})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

// TestTokenCachedAndRenewed: one token serves every call until PayPal
// refuses it; then one new token is fetched and the call goes through.
func TestTokenCachedAndRenewed(t *testing.T) {
	api := newFakeAPI(t)
	svc := newService(t, newGateway(t, api))
	ctx := context.Background()
	for range 3 {
		_, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(100)})
		require.NoError(t, err)
	}
	tokens, _ := api.counts()
	assert.Equal(t, 1, tokens)
	api.revokeTokens()
	_, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(100)})
	require.NoError(t, err, "the refused token is dropped and the call made again")
	tokens, _ = api.counts()
	assert.Equal(t, 2, tokens)
}

// TestCheckHealth fetches a token; wrong credentials fail it, and neither
// the error nor the log carries the secret or a token.
func TestCheckHealth(t *testing.T) {
	api := newFakeAPI(t)
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	g := newGateway(t, api, func(c *paypal.Config) { c.Logger = logger })
	require.NoError(t, g.CheckHealth(context.Background()))

	bad := newGateway(t, api, func(c *paypal.Config) { c.Secret, c.Logger = "EGnHDxD_wrong_secret_value", logger })
	err := bad.CheckHealth(context.Background())
	require.Error(t, err)
	assert.False(t, errors.Is(err, payments.ErrInvalidInput), "not the caller's input: %v", err)
	assert.NotContains(t, err.Error(), "wrong_secret")
	svc := newService(t, bad)
	_, err = svc.Checkout(context.Background(), paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(100)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	for _, secret := range []string{fakeSecret, "wrong_secret", "A21AAfake"} {
		assert.NotContains(t, err.Error(), secret)
		assert.NotContains(t, logs.String(), secret)
	}
}

// TestApprovedCaptureRefusedIsLogged: when PayPal refuses to capture an
// approved order for good, the payment stays authorized and the log says
// why, without a secret, a token or a signature.
func TestApprovedCaptureRefusedIsLogged(t *testing.T) {
	api := newFakeAPI(t)
	var logs bytes.Buffer
	g := newGateway(t, api, func(c *paypal.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	})
	svc := newService(t, g)
	ctx := context.Background()
	p, err := svc.Checkout(ctx, paypal.DefaultName, payments.CheckoutRequest{Account: "a", Amount: usd(2500)})
	require.NoError(t, err)
	order := api.orderNow(p.GatewayID) // CREATED: PayPal refuses to capture it
	req := defaultSigner(t).sign(eventBody(t, paypal.EventOrderApproved, "checkout-order", order), time.Now())
	res, err := svc.HandleWebhook(ctx, paypal.DefaultName, req)
	require.NoError(t, err)
	assert.Empty(t, res.Recorded.Entries)
	got, err := svc.Payment(ctx, p.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.StatusAuthorized, got.Status)
	assert.Contains(t, logs.String(), "ORDER_NOT_APPROVED")
	for _, secret := range []string{fakeSecret, "A21AAfake", req.Header.Get(paypal.HeaderTransmissionSig)} {
		assert.NotContains(t, logs.String(), secret)
	}
}
