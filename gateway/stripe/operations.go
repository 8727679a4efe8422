package stripe

import (
	"context"
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
	if req.PaymentID != "" {
		params.SetIdempotencyKey(req.PaymentID)
	}
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
// or req.Amount of it (amount_to_capture; Stripe releases the rest,
// https://docs.stripe.com/payments/place-a-hold-on-a-payment-method).
// A succeeded answer reports the charge entry the payment_intent.succeeded
// event will repeat.
func (g *Gateway) Capture(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	id := req.Payment.GatewayID
	api, err := g.client("capture", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.PaymentIntentCaptureParams{}
	if req.Amount != nil {
		amount, _, err := toStripe(*req.Amount)
		if err != nil {
			return nil, err
		}
		params.AmountToCapture = stripego.Int64(amount)
	}
	params.Context = ctx
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := api.PaymentIntents.Capture(id, params)
	if err != nil {
		return nil, wrapAPIError("capture", id, err)
	}
	return g.intentAnswer("capture", pi)
}

// Cancel implements payments.Canceler
// (https://docs.stripe.com/api/payment_intents/cancel). req.Reason is sent
// when it is one of Stripe's cancellation reasons.
func (g *Gateway) Cancel(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	id := req.Payment.GatewayID
	api, err := g.client("cancel", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.PaymentIntentCancelParams{}
	switch stripego.PaymentIntentCancellationReason(req.Reason) {
	case stripego.PaymentIntentCancellationReasonAbandoned, stripego.PaymentIntentCancellationReasonDuplicate,
		stripego.PaymentIntentCancellationReasonFraudulent, stripego.PaymentIntentCancellationReasonRequestedByCustomer:
		params.CancellationReason = stripego.String(req.Reason)
	}
	params.Context = ctx
	params.SetIdempotencyKey(req.IdempotencyKey)
	pi, err := api.PaymentIntents.Cancel(id, params)
	if err != nil {
		return nil, wrapAPIError("cancel", id, err)
	}
	return g.intentAnswer("cancel", pi)
}

// Refund implements payments.Refunder (https://docs.stripe.com/api/refunds/create):
// all that is left of the PaymentIntent, or req.Amount of it. The refund's
// metadata carries the account and payment id so that its events are
// attributed without a lookup. req.Reason goes to Stripe when it is one of
// its reasons (duplicate, fraudulent, requested_by_customer) and to metadata
// otherwise. A refund Stripe answers as pending reports nothing: its
// refund.updated or charge.refund.updated event records it once it succeeds.
func (g *Gateway) Refund(ctx context.Context, req payments.OperationRequest) (*payments.Changes, error) {
	id := req.Payment.GatewayID
	api, err := g.client("refund", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.RefundParams{PaymentIntent: stripego.String(id), Metadata: map[string]string{}}
	if req.Amount != nil {
		amount, _, err := toStripe(*req.Amount)
		if err != nil {
			return nil, err
		}
		params.Amount = stripego.Int64(amount)
	}
	setIf(params.Metadata, MetadataAccount, req.Payment.Account)
	setIf(params.Metadata, MetadataPaymentID, req.Payment.ID)
	switch stripego.RefundReason(req.Reason) {
	case stripego.RefundReasonDuplicate, stripego.RefundReasonFraudulent, stripego.RefundReasonRequestedByCustomer:
		params.Reason = stripego.String(req.Reason)
	default:
		setIf(params.Metadata, MetadataReason, req.Reason)
	}
	params.Context = ctx
	params.SetIdempotencyKey(req.IdempotencyKey)
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
func (g *Gateway) intentAnswer(op string, pi *stripego.PaymentIntent) (*payments.Changes, error) {
	c := &payments.Changes{}
	if err := g.intentChanges(c, pi, intentStatusOf(pi), time.Time{}); err != nil {
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
