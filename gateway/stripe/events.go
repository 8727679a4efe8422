package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// intentStatus is the payment status each PaymentIntent event reports. The
// event type, not the intent's status field, decides: a
// payment_intent.payment_failed intent is back in requires_payment_method.
var intentStatus = map[stripego.EventType]payments.Status{
	stripego.EventTypePaymentIntentSucceeded:               payments.StatusSucceeded,
	stripego.EventTypePaymentIntentAmountCapturableUpdated: payments.StatusAuthorized,
	stripego.EventTypePaymentIntentPaymentFailed:           payments.StatusFailed,
	stripego.EventTypePaymentIntentCanceled:                payments.StatusCanceled,
}

// translate turns a verified event into changes; see the package doc for
// the mapping.
func (g *Gateway) translate(ctx context.Context, ev *stripego.Event) (*payments.Changes, error) {
	c := &payments.Changes{EventID: ev.ID, EventType: string(ev.Type)}
	at := unixTime(ev.Created)
	var err error
	switch ev.Type {
	case stripego.EventTypePaymentIntentSucceeded, stripego.EventTypePaymentIntentPaymentFailed,
		stripego.EventTypePaymentIntentCanceled:
		var pi stripego.PaymentIntent
		if err = decodeObject(ev, "payment_intent", &pi); err == nil {
			err = g.intentChanges(ctx, c, &pi, intentStatus[ev.Type], at)
		}
	case stripego.EventTypePaymentIntentAmountCapturableUpdated:
		var pi stripego.PaymentIntent
		if err = decodeObject(ev, "payment_intent", &pi); err == nil {
			err = g.capturableChanges(ctx, c, &pi, at)
		}
	case stripego.EventTypeRefundCreated, stripego.EventTypeRefundUpdated, stripego.EventTypeChargeRefundUpdated:
		var r stripego.Refund
		if err = decodeObject(ev, "refund", &r); err == nil {
			err = g.refundChanges(c, &r, previousStatus(ev), at)
		}
	case stripego.EventTypeChargeRefunded:
		var ch stripego.Charge
		if err = decodeObject(ev, "charge", &ch); err == nil {
			err = g.chargeRefundedChanges(ctx, c, &ch, at)
		}
	case stripego.EventTypeChargeDisputeCreated, stripego.EventTypeChargeDisputeFundsWithdrawn,
		stripego.EventTypeChargeDisputeFundsReinstated, stripego.EventTypeChargeDisputeClosed:
		var d stripego.Dispute
		if err = decodeObject(ev, "dispute", &d); err == nil {
			err = g.disputeChanges(c, ev.Type, &d, at)
		}
	case stripego.EventTypeReviewClosed:
		var r stripego.Review
		if err = decodeObject(ev, "review", &r); err == nil {
			err = g.reviewClosedChanges(ctx, c, &r, at)
		}
	case stripego.EventTypeCheckoutSessionCompleted, stripego.EventTypeCheckoutSessionAsyncPaymentSucceeded,
		stripego.EventTypeCheckoutSessionAsyncPaymentFailed, stripego.EventTypeCheckoutSessionExpired:
		var cs stripego.CheckoutSession
		if err = decodeObject(ev, "checkout.session", &cs); err == nil {
			err = g.sessionChanges(ctx, c, ev.Type, &cs, at)
		}
	default:
		c.Note = "event type " + string(ev.Type) + " is not acted on"
	}
	var api *apiError
	switch {
	case errors.As(err, &api):
		return nil, err // already "stripe: list refunds of ch_…: …", "stripe: capture pi_…: …"
	case err != nil:
		return nil, fmt.Errorf("stripe: event %s (%s): %w", ev.ID, ev.Type, err)
	}
	return c, nil
}

// decodeObject decodes data.object into v after checking its "object" field,
// so a body of the wrong shape is refused rather than half-read.
func decodeObject(ev *stripego.Event, object string, v any) error {
	var head struct {
		Object string `json:"object"`
	}
	if err := json.Unmarshal(ev.Data.Raw, &head); err != nil || head.Object != object {
		return fmt.Errorf("data.object is not a %s: %w", object, payments.ErrInvalidInput)
	}
	if err := json.Unmarshal(ev.Data.Raw, v); err != nil {
		return fmt.Errorf("decode %s: %v: %w", object, err, payments.ErrInvalidInput)
	}
	return nil
}

// intentChanges reports a PaymentIntent in the given status. A succeeded
// intent also records its charge (see intentCharge).
func (g *Gateway) intentChanges(ctx context.Context, c *payments.Changes, pi *stripego.PaymentIntent, status payments.Status, at time.Time) error {
	upd, err := intentUpdate(pi, status)
	if err != nil {
		return err
	}
	c.Payments = append(c.Payments, upd)
	charge, err := g.intentCharge(ctx, pi, status, upd.Account, upd.Reference, at)
	if err != nil || charge == nil {
		return err
	}
	c.Entries = append(c.Entries, *charge)
	return nil
}

// intentUpdate is what a PaymentIntent says of its payment: the library's
// ids, account and reference from its metadata, and its amount.
func intentUpdate(pi *stripego.PaymentIntent, status payments.Status) (payments.PaymentUpdate, error) {
	if pi.ID == "" {
		return payments.PaymentUpdate{}, fmt.Errorf("payment intent without id: %w", payments.ErrInvalidInput)
	}
	amount, err := fromStripe(pi.Amount, pi.Currency)
	if err != nil {
		return payments.PaymentUpdate{}, err
	}
	md := pi.Metadata
	return payments.PaymentUpdate{
		GatewayID:     pi.ID,
		PaymentID:     md[MetadataPaymentID],
		Status:        status,
		Account:       md[MetadataAccount],
		Reference:     md[MetadataReference],
		Amount:        amount,
		CaptureBefore: captureBefore(pi),
	}, nil
}

// intentCharge is the charge of a succeeded intent, or nil: amount_received
// — what was captured, which is less than amount after a partial capture —
// keyed by the intent's id. An intent captures at most once, and Capture's
// answer, a capture for CaptureAfterReview, a Checkout Session's
// completion and the payment_intent.succeeded event all carry that id, so
// whichever arrives second is a duplicate. With a key, the charge carries
// Stripe's settlement figures when it has them (see chargeSettlement).
func (g *Gateway) intentCharge(ctx context.Context, pi *stripego.PaymentIntent, status payments.Status, account, reference string, at time.Time) (*payments.Entry, error) {
	if status != payments.StatusSucceeded || pi.AmountReceived == 0 {
		return nil, nil
	}
	received, err := fromStripe(pi.AmountReceived, pi.Currency)
	if err != nil {
		return nil, err
	}
	return &payments.Entry{
		Gateway: g.name, Kind: payments.KindCharge, GatewayRef: pi.ID, GatewayPaymentID: pi.ID,
		Account: account, Reference: reference, Amount: received, OccurredAt: at,
		Settlement: g.chargeSettlement(ctx, pi, received),
	}, nil
}

// captureBefore is the deadline for capturing an authorized card payment,
// from the latest charge's payment_method_details.card.capture_before. It is
// there only when latest_charge is expanded, which webhook events never do
// (https://docs.stripe.com/payments/place-a-hold-on-a-payment-method).
func captureBefore(pi *stripego.PaymentIntent) time.Time {
	ch := pi.LatestCharge
	if ch == nil || ch.PaymentMethodDetails == nil || ch.PaymentMethodDetails.Card == nil {
		return time.Time{}
	}
	return unixTime(ch.PaymentMethodDetails.Card.CaptureBefore)
}

// intentStatusOf maps a PaymentIntent's own status, as API calls return it
// (https://docs.stripe.com/payments/paymentintents/lifecycle).
func intentStatusOf(pi *stripego.PaymentIntent) payments.Status {
	switch pi.Status {
	case stripego.PaymentIntentStatusRequiresCapture:
		return payments.StatusAuthorized
	case stripego.PaymentIntentStatusSucceeded:
		return payments.StatusSucceeded
	case stripego.PaymentIntentStatusCanceled:
		return payments.StatusCanceled
	}
	return payments.StatusPending // requires_payment_method, _confirmation, _action, processing
}

// previousStatus is data.previous_attributes.status: what a refund's status
// was before the change an *.updated event reports.
func previousStatus(ev *stripego.Event) string {
	s, _ := ev.Data.PreviousAttributes["status"].(string)
	return s
}

func unixTime(sec int64) time.Time {
	if sec <= 0 {
		return time.Time{}
	}
	return time.Unix(sec, 0).UTC()
}
