package stripe

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/payrail/payments"
)

// CreateCheckout implements payments.CheckoutCreator with a PaymentIntent
// (https://docs.stripe.com/api/payment_intents/create): capture_method
// automatic or manual, the account, reference and payment id in metadata
// (over any of req.Metadata's keys of the same name), and req.PaymentID as
// the idempotency key, so a retried checkout returns the same intent. The
// client confirms it with Checkout.ClientSecret (Stripe.js, the mobile SDKs);
// ReturnURL and CancelURL are the client's to pass at confirmation.
//
// With Config.HostedCheckout, a request with a ReturnURL gets a hosted
// Checkout Session instead (see createSession): the customer pays at
// Checkout.RedirectURL.
func (g *Gateway) CreateCheckout(ctx context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	api, err := g.client("checkout", req.PaymentID)
	if err != nil {
		return nil, err
	}
	amount, currency, err := toStripe(req.Amount)
	if err != nil {
		return nil, err
	}
	captureMethod := stripego.PaymentIntentCaptureMethodAutomatic
	if req.Capture == payments.CaptureManual {
		captureMethod = stripego.PaymentIntentCaptureMethodManual
	}
	md := maps.Clone(req.Metadata)
	if md == nil {
		md = map[string]string{}
	}
	setIf(md, MetadataAccount, req.Account)
	setIf(md, MetadataReference, req.Reference)
	setIf(md, MetadataPaymentID, req.PaymentID)
	if g.hosted && req.ReturnURL != "" {
		return g.createSession(ctx, api, req, amount, currency, captureMethod, md)
	}
	params := &stripego.PaymentIntentParams{
		Amount:        stripego.Int64(amount),
		Currency:      stripego.String(currency),
		CaptureMethod: stripego.String(string(captureMethod)),
		Metadata:      md,
	}
	if req.Description != "" {
		params.Description = stripego.String(req.Description)
	}
	params.Context = ctx
	setIdempotencyKey(&params.Params, req.PaymentID)
	pi, err := api.PaymentIntents.New(params)
	if err != nil {
		return nil, wrapAPIError("checkout", req.PaymentID, err)
	}
	return &payments.Checkout{
		GatewayID:     pi.ID,
		Status:        intentStatusOf(pi),
		ClientSecret:  pi.ClientSecret,
		CaptureBefore: captureBefore(pi),
	}, nil
}

// Capture implements payments.Capturer: all of an authorized PaymentIntent,
// or opts.Amount of it (amount_to_capture; Stripe releases the rest,
// https://docs.stripe.com/payments/place-a-hold-on-a-payment-method).
// opts.Key is sent as the Idempotency-Key, so a retried capture gets
// Stripe's first answer. A succeeded answer reports the charge entry the
// payment_intent.succeeded event will repeat, with Stripe's settlement
// figures (the answer expands latest_charge.balance_transaction; see
// SettlementSource). The driver defines no extension: any opts.Extension
// is refused with payments.ErrInvalidInput.
func (g *Gateway) Capture(ctx context.Context, p payments.Payment, opts payments.CaptureOptions) (*payments.Changes, error) {
	id := p.GatewayID
	if err := checkExtension("capture", id, opts.Extension); err != nil {
		return nil, err
	}
	api, err := g.client("capture", id)
	if err != nil {
		return nil, err
	}
	var amountToCapture *int64
	if opts.Amount != nil {
		amount, _, err := toStripe(*opts.Amount)
		if err != nil {
			return nil, err
		}
		amountToCapture = stripego.Int64(amount)
	}
	params := captureParams(ctx, amountToCapture)
	setIdempotencyKey(&params.Params, opts.Key)
	pi, err := api.PaymentIntents.Capture(id, params)
	if err != nil {
		return nil, wrapAPIError("capture", id, err)
	}
	return g.intentAnswer(ctx, "capture", pi)
}

// captureParams are the parameters of every capture the driver makes,
// Capture's and CaptureAfterReview's alike: amount_to_capture when given,
// and latest_charge.balance_transaction expanded, so that the answer
// carries Stripe's settlement figures at no extra call (see
// chargeSettlement). The two must stay one request for one idempotency
// key: Stripe refuses a key reused with other parameters
// (https://docs.stripe.com/api/idempotent_requests).
func captureParams(ctx context.Context, amountToCapture *int64) *stripego.PaymentIntentCaptureParams {
	params := &stripego.PaymentIntentCaptureParams{AmountToCapture: amountToCapture}
	params.Context = ctx
	params.AddExpand("latest_charge.balance_transaction")
	return params
}

// Cancel implements payments.Canceler
// (https://docs.stripe.com/api/payment_intents/cancel). opts.Reason is sent
// as cancellation_reason when it is one of Stripe's (abandoned, duplicate,
// fraudulent, requested_by_customer); Stripe takes no other, and a cancel
// has no metadata to keep one in, so another reason is not sent. opts.Key
// is the Idempotency-Key; any opts.Extension is refused with
// payments.ErrInvalidInput.
func (g *Gateway) Cancel(ctx context.Context, p payments.Payment, opts payments.CancelOptions) (*payments.Changes, error) {
	id := p.GatewayID
	if err := checkExtension("cancel", id, opts.Extension); err != nil {
		return nil, err
	}
	api, err := g.client("cancel", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.PaymentIntentCancelParams{}
	switch stripego.PaymentIntentCancellationReason(opts.Reason) {
	case stripego.PaymentIntentCancellationReasonAbandoned, stripego.PaymentIntentCancellationReasonDuplicate,
		stripego.PaymentIntentCancellationReasonFraudulent, stripego.PaymentIntentCancellationReasonRequestedByCustomer:
		params.CancellationReason = stripego.String(opts.Reason)
	}
	params.Context = ctx
	setIdempotencyKey(&params.Params, opts.Key)
	pi, err := api.PaymentIntents.Cancel(id, params)
	if err != nil {
		return nil, wrapAPIError("cancel", id, err)
	}
	return g.intentAnswer(ctx, "cancel", pi)
}

// Refund implements payments.Refunder (https://docs.stripe.com/api/refunds/create):
// all that is left of the PaymentIntent, or opts.Amount of it. The refund's
// metadata carries the account and payment id so that its events are
// attributed without a lookup. opts.Reason goes to Stripe when it is one of
// its reasons (duplicate, fraudulent, requested_by_customer) and to metadata
// (MetadataReason) otherwise. opts.Key is the Idempotency-Key, so a retried
// refund is the same refund; any opts.Extension is refused with
// payments.ErrInvalidInput. A refund Stripe answers as pending reports
// nothing: its refund.updated or charge.refund.updated event records it
// once it succeeds.
func (g *Gateway) Refund(ctx context.Context, p payments.Payment, opts payments.RefundOptions) (*payments.Changes, error) {
	id := p.GatewayID
	if err := checkExtension("refund", id, opts.Extension); err != nil {
		return nil, err
	}
	api, err := g.client("refund", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.RefundParams{PaymentIntent: stripego.String(id), Metadata: map[string]string{}}
	if opts.Amount != nil {
		amount, _, err := toStripe(*opts.Amount)
		if err != nil {
			return nil, err
		}
		params.Amount = stripego.Int64(amount)
	}
	setIf(params.Metadata, MetadataAccount, p.Account)
	setIf(params.Metadata, MetadataPaymentID, p.ID)
	switch stripego.RefundReason(opts.Reason) {
	case stripego.RefundReasonDuplicate, stripego.RefundReasonFraudulent, stripego.RefundReasonRequestedByCustomer:
		params.Reason = stripego.String(opts.Reason)
	default:
		setIf(params.Metadata, MetadataReason, opts.Reason)
	}
	params.Context = ctx
	setIdempotencyKey(&params.Params, opts.Key)
	r, err := api.Refunds.New(params)
	if err != nil {
		return nil, wrapAPIError("refund", id, err)
	}
	c := &payments.Changes{}
	if err := g.refundChanges(c, r, "", time.Time{}); err != nil {
		return nil, fmt.Errorf("stripe: refund %s: answer: %w", id, err)
	}
	return c, nil
}

// checkExtension refuses an operation extension. The driver defines none:
// everything a Stripe call takes is in the portable options, so an
// extension is another driver's and would be silently dropped.
func checkExtension(op, id string, ext any) error {
	if ext == nil {
		return nil
	}
	return fmt.Errorf("stripe: %s %s: extension of type %T is not the stripe driver's, which takes none: %w",
		op, id, ext, payments.ErrInvalidInput)
}

// setIdempotencyKey sends key as the Idempotency-Key header. An empty key
// (the driver called without a Service) sets none, and stripe-go then sends
// a random one of its own so that at least its retries are idempotent.
// Stripe takes keys of at most 255 characters
// (https://docs.stripe.com/api/idempotent_requests); a longer one, which a
// host's own key can make, is sent as its SHA-256, which keeps one key one
// request.
func setIdempotencyKey(params *stripego.Params, key string) {
	if key == "" {
		return
	}
	if len(key) > maxIdempotencyKey {
		sum := sha256.Sum256([]byte(key))
		key = "sha256:" + hex.EncodeToString(sum[:])
	}
	params.SetIdempotencyKey(key)
}

// maxIdempotencyKey is the longest Idempotency-Key Stripe takes.
const maxIdempotencyKey = 255

// CheckHealth implements payments.HealthChecker with the cheapest
// authenticated call, retrieving the balance
// (https://docs.stripe.com/api/balance/balance_retrieve); a restricted key
// needs the Balance read permission.
func (g *Gateway) CheckHealth(ctx context.Context) error {
	api, err := g.client("check", "balance")
	if err != nil {
		return err
	}
	if _, err := api.Balance.Get(&stripego.BalanceParams{Params: stripego.Params{Context: ctx}}); err != nil {
		return wrapAPIError("check", "balance", err)
	}
	return nil
}

// intentAnswer reports the PaymentIntent an API call answered with, in the
// status it is in.
func (g *Gateway) intentAnswer(ctx context.Context, op string, pi *stripego.PaymentIntent) (*payments.Changes, error) {
	c := &payments.Changes{}
	if err := g.intentChanges(ctx, c, pi, intentStatusOf(pi), time.Time{}); err != nil {
		return nil, fmt.Errorf("stripe: %s %s: answer: %w", op, pi.ID, err)
	}
	return c, nil
}

func (g *Gateway) client(op, id string) (*client.API, error) {
	if g.api == nil {
		return nil, fmt.Errorf("stripe: %s %s: the gateway has no SecretKey: %w", op, id, payments.ErrNotSupported)
	}
	return g.api, nil
}

func setIf(md map[string]string, key, value string) {
	if value != "" {
		md[key] = value
	}
}
