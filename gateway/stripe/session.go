package stripe

import (
	"context"
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"

	"github.com/payrail/payments"
)

// Checkout Sessions (https://docs.stripe.com/payments/checkout), created by
// CreateCheckout under Config.HostedCheckout or by Payment Links
// (https://docs.stripe.com/payment-links), take the money through a
// PaymentIntent of their own. At API version 2023-10-16 that intent is
// created only when the customer pays, so a session's payment has no
// gateway id at first: it is linked by the library's payment id, which the
// session and its intent carry in their metadata, and takes the intent's id
// as its gateway id from the first event that names it. The charge is keyed
// by that intent's id, so whichever of checkout.session.completed (or
// .async_payment_succeeded) and payment_intent.succeeded arrives second is
// a duplicate, and Capture, Cancel and Refund act on the intent as for any
// other payment.

// maxClientReferenceID is the longest client_reference_id Stripe keeps
// (https://docs.stripe.com/payment-links/url-parameters); a longer account
// is still in the metadata.
const maxClientReferenceID = 200

// createSession creates a hosted Checkout Session in payment mode
// (https://docs.stripe.com/api/checkout/sessions/create) for req: one line
// item of the amount, named by the description (else the reference),
// success_url and cancel_url from the request, the account as
// client_reference_id, and md — the account, reference and payment id —
// on the session and, through payment_intent_data, on the PaymentIntent it
// will create, with the capture method asked for. req.PaymentID is the
// idempotency key, so a retried checkout returns the same session.
func (g *Gateway) createSession(ctx context.Context, api *client.API, req payments.CheckoutRequest, amount int64, currency string,
	captureMethod stripego.PaymentIntentCaptureMethod, md map[string]string) (*payments.Checkout, error) {
	name := req.Description
	if name == "" {
		name = req.Reference
	}
	if name == "" {
		name = "Payment"
	}
	params := &stripego.CheckoutSessionParams{
		Mode:       stripego.String(string(stripego.CheckoutSessionModePayment)),
		SuccessURL: stripego.String(req.ReturnURL),
		LineItems: []*stripego.CheckoutSessionLineItemParams{{
			PriceData: &stripego.CheckoutSessionLineItemPriceDataParams{
				Currency:    stripego.String(currency),
				UnitAmount:  stripego.Int64(amount),
				ProductData: &stripego.CheckoutSessionLineItemPriceDataProductDataParams{Name: stripego.String(name)},
			},
			Quantity: stripego.Int64(1),
		}},
		Metadata: md,
		PaymentIntentData: &stripego.CheckoutSessionPaymentIntentDataParams{
			CaptureMethod: stripego.String(string(captureMethod)),
			Metadata:      md,
		},
	}
	if req.CancelURL != "" {
		params.CancelURL = stripego.String(req.CancelURL)
	}
	if len(req.Account) <= maxClientReferenceID {
		params.ClientReferenceID = stripego.String(req.Account)
	}
	if req.Description != "" {
		params.PaymentIntentData.Description = stripego.String(req.Description)
	}
	params.Context = ctx
	setIdempotencyKey(&params.Params, req.PaymentID)
	s, err := api.CheckoutSessions.New(params)
	if err != nil {
		return nil, wrapAPIError("checkout", req.PaymentID, err)
	}
	co := &payments.Checkout{Status: payments.StatusPending, RedirectURL: s.URL}
	if s.PaymentIntent != nil {
		co.GatewayID = s.PaymentIntent.ID // an API version that creates the intent with the session
	}
	return co, nil
}

// sessionChanges reports a Checkout Session event of a session in payment
// mode; sessions in setup or subscription mode move no money here.
//
//   - checkout.session.completed and .async_payment_succeeded report the
//     session's PaymentIntent as the API reads it — succeeded with its
//     charge, or authorized (and, under CaptureAfterReview, captured unless
//     a review holds it), or still processing — or, for a Gateway without a
//     key, the session's own amount_total once its payment_status is paid;
//   - .async_payment_failed reports the payment failed, .expired expired.
//
// The account is the metadata's MetadataAccount, else the session's
// client_reference_id (a Payment Link's ?client_reference_id=…): a session
// that names neither, of a payment the Service does not know, is parked.
func (g *Gateway) sessionChanges(ctx context.Context, c *payments.Changes, typ stripego.EventType, s *stripego.CheckoutSession, at time.Time) error {
	if s.ID == "" {
		return fmt.Errorf("checkout session without id: %w", payments.ErrInvalidInput)
	}
	if s.Mode != stripego.CheckoutSessionModePayment {
		c.Note = fmt.Sprintf("checkout session %s is in %s mode; only payment mode is acted on", s.ID, s.Mode)
		return nil
	}
	md := s.Metadata
	upd := payments.PaymentUpdate{PaymentID: md[MetadataPaymentID], Account: md[MetadataAccount], Reference: md[MetadataReference]}
	if upd.Account == "" {
		upd.Account = s.ClientReferenceID
	}
	if s.PaymentIntent != nil {
		upd.GatewayID = s.PaymentIntent.ID
	}
	if s.Currency != "" && s.AmountTotal > 0 {
		amount, err := fromStripe(s.AmountTotal, s.Currency)
		if err != nil {
			return err
		}
		upd.Amount = amount
	}
	switch {
	case upd.GatewayID == "" && upd.PaymentID == "":
		c.Note = fmt.Sprintf("checkout session %s has no PaymentIntent and names no payment; nothing to record", s.ID)
		return nil
	case typ == stripego.EventTypeCheckoutSessionExpired:
		upd.Status = payments.StatusExpired
	case typ == stripego.EventTypeCheckoutSessionAsyncPaymentFailed:
		upd.Status = payments.StatusFailed
	case upd.GatewayID == "":
		c.Note = fmt.Sprintf("checkout session %s completed without a PaymentIntent (%s); no money moved", s.ID, s.PaymentStatus)
		return nil
	default:
		return g.sessionPaid(ctx, c, s, upd, at)
	}
	c.Payments = append(c.Payments, upd)
	return nil
}

// sessionPaid reports a completed session's PaymentIntent.
func (g *Gateway) sessionPaid(ctx context.Context, c *payments.Changes, s *stripego.CheckoutSession, upd payments.PaymentUpdate, at time.Time) error {
	if g.api == nil {
		// Only the session's own figures: the charge once it is paid.
		if s.PaymentStatus != stripego.CheckoutSessionPaymentStatusPaid || upd.Amount.Amount == 0 {
			c.Payments = append(c.Payments, upd)
			c.Note = fmt.Sprintf("checkout session %s is %s; its payment is recorded once paid", s.ID, s.PaymentStatus)
			return nil
		}
		upd.Status = payments.StatusSucceeded
		c.Payments = append(c.Payments, upd)
		c.Entries = append(c.Entries, payments.Entry{
			Gateway: g.name, Kind: payments.KindCharge, GatewayRef: upd.GatewayID, GatewayPaymentID: upd.GatewayID,
			Account: upd.Account, Reference: upd.Reference, Amount: upd.Amount, OccurredAt: at,
		})
		return nil
	}
	pi, err := g.readIntent(ctx, upd.GatewayID)
	if err != nil {
		return err
	}
	if g.capture {
		if pi, c.Note, err = g.captureUnlessReviewed(ctx, pi); err != nil {
			return err
		}
	}
	upd.Status, upd.CaptureBefore = intentStatusOf(pi), captureBefore(pi)
	c.Payments = append(c.Payments, upd)
	charge, err := g.intentCharge(ctx, pi, upd.Status, upd.Account, upd.Reference, at)
	if err != nil || charge == nil {
		return err
	}
	c.Entries = append(c.Entries, *charge)
	return nil
}
