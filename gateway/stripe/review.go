package stripe

import (
	"context"
	"errors"
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// Capture after review (Config.CaptureAfterReview) is the policy Stripe
// describes for manual capture with Radar
// (https://docs.stripe.com/radar/reviews/auth-and-capture): capture an
// authorization at once unless the PaymentIntent has an open review, and
// capture it when its review closes approved. The driver runs it inside
// ParseWebhook, so what it captured is recorded in the same commit as the
// notification that asked for it:
//
//   - Once: every capture and cancel it makes carries the idempotency key
//     the Service would send for that operation on that payment with no key
//     of the host's (the library's payment id and ":capture" or ":cancel"),
//     so concurrent deliveries, a redelivery, a replay and the host's own
//     svc.Capture(ctx, id, CaptureOptions{}) are one request at Stripe.
//     Stripe answers a request that meets another with the same key still
//     executing with a 409 and saves no answer for it, and answers every
//     later one with the first one's answer, for at least 24 hours
//     (https://docs.stripe.com/api/idempotent_requests). Past that, the
//     intent is read first, and one that is no longer awaiting capture is
//     reported as it is, never captured again.
//   - Retried: when Stripe cannot be reached, or answers 409, ParseWebhook
//     fails unclassified, so the webhook is answered 500 and Stripe
//     delivers the event again (in live mode for up to three days,
//     https://docs.stripe.com/webhooks#retries); the journal keeps it as
//     failed, and svc.Replay runs it again later.

// capturableChanges reports payment_intent.amount_capturable_updated: the
// payment is authorized, or, under CaptureAfterReview, captured (see
// captureUnlessReviewed). The event's intent may be stale by the time it
// is handled — captured by the host, canceled, placed in review — so the
// policy acts on the intent as the API reads it now.
func (g *Gateway) capturableChanges(ctx context.Context, c *payments.Changes, pi *stripego.PaymentIntent, at time.Time) error {
	if !g.capture || pi.CaptureMethod != stripego.PaymentIntentCaptureMethodManual {
		return g.intentChanges(ctx, c, pi, payments.StatusAuthorized, at)
	}
	if pi.ID == "" {
		return fmt.Errorf("payment intent without id: %w", payments.ErrInvalidInput)
	}
	now, err := g.readIntent(ctx, pi.ID)
	if err != nil {
		return err
	}
	if now, c.Note, err = g.captureUnlessReviewed(ctx, now); err != nil {
		return err
	}
	return g.intentChanges(ctx, c, now, intentStatusOf(now), at)
}

// captureUnlessReviewed captures a manual-capture intent that awaits
// capture and has no open review, and returns the intent as it then is.
// Any other intent is returned as it is, with a note when a review holds
// it.
func (g *Gateway) captureUnlessReviewed(ctx context.Context, pi *stripego.PaymentIntent) (*stripego.PaymentIntent, string, error) {
	if pi.Status != stripego.PaymentIntentStatusRequiresCapture || pi.CaptureMethod != stripego.PaymentIntentCaptureMethodManual {
		return pi, "", nil
	}
	review, err := g.reviewOf(ctx, pi)
	if err != nil {
		return nil, "", err
	}
	if review != nil && review.Open {
		return pi, fmt.Sprintf("review %s of %s is open: the payment is captured when it closes approved", review.ID, pi.ID), nil
	}
	captured, err := g.policyCapture(ctx, pi)
	return captured, "", err
}

// reviewClosedChanges reports review.closed. Without CaptureAfterReview no
// money moves. With it, an intent that still awaits capture is captured
// when the review was approved, and its authorization canceled when the
// review closed as refunded, refunded_as_fraud or disputed (nothing is
// booked: the status becomes canceled); either way the intent is reported
// as it then is, so a review closed after the payment was captured
// elsewhere books that capture's charge, once.
func (g *Gateway) reviewClosedChanges(ctx context.Context, c *payments.Changes, r *stripego.Review, at time.Time) error {
	reason := r.ClosedReason
	if reason == "" {
		reason = stripego.ReviewClosedReason(r.Reason) // reason repeats closed_reason once closed
	}
	intentID := ""
	if r.PaymentIntent != nil {
		intentID = r.PaymentIntent.ID
	}
	switch {
	case !g.capture:
		c.Note = fmt.Sprintf("review %s of %s closed (%s); no money moves", r.ID, reviewedPayment(r), reason)
		return nil
	case intentID == "":
		c.Note = fmt.Sprintf("review %s of %s closed (%s); the charge has no PaymentIntent to capture", r.ID, reviewedPayment(r), reason)
		return nil
	}
	pi, err := g.readIntent(ctx, intentID)
	if err != nil {
		return err
	}
	if pi.Status == stripego.PaymentIntentStatusRequiresCapture && pi.CaptureMethod == stripego.PaymentIntentCaptureMethodManual {
		switch reason {
		case stripego.ReviewClosedReasonApproved:
			pi, err = g.policyCapture(ctx, pi)
		case stripego.ReviewClosedReasonRefunded, stripego.ReviewClosedReasonRefundedAsFraud, stripego.ReviewClosedReasonDisputed:
			pi, err = g.policyCancel(ctx, pi)
		default: // redacted, or a reason newer than this driver
			c.Note = fmt.Sprintf("review %s of %s closed (%s): the authorization is left for the host", r.ID, intentID, reason)
		}
		if err != nil {
			return err
		}
	}
	return g.intentChanges(ctx, c, pi, intentStatusOf(pi), at)
}

// policyCapture captures all that is authorized, with exactly the request
// Service.Capture makes with no amount and no key: no parameters but the
// same expansion (see captureParams), and the same idempotency key (see
// policyKey).
func (g *Gateway) policyCapture(ctx context.Context, pi *stripego.PaymentIntent) (*stripego.PaymentIntent, error) {
	params := captureParams(ctx, nil)
	setIdempotencyKey(&params.Params, policyKey(pi, "capture"))
	captured, err := g.api.PaymentIntents.Capture(pi.ID, params)
	if err != nil {
		return g.afterRefusal(ctx, "capture", pi.ID, err)
	}
	return captured, nil
}

// policyCancel releases the authorization, with the request Service.Cancel
// makes with no reason and no key. No cancellation_reason is sent: the
// review's closed_reason already says why, and a reason would make the
// request differ from the host's own svc.Cancel under the same key.
func (g *Gateway) policyCancel(ctx context.Context, pi *stripego.PaymentIntent) (*stripego.PaymentIntent, error) {
	params := &stripego.PaymentIntentCancelParams{}
	params.Context = ctx
	setIdempotencyKey(&params.Params, policyKey(pi, "cancel"))
	canceled, err := g.api.PaymentIntents.Cancel(pi.ID, params)
	if err != nil {
		return g.afterRefusal(ctx, "cancel", pi.ID, err)
	}
	return canceled, nil
}

// afterRefusal handles a capture or cancel of the policy's that failed.
// When Stripe refused it (an invalid request: the host, the Dashboard or an
// expired authorization got there first), the intent is read again and
// reported as it now is, unless it still awaits capture: then the refusal
// stands, and the notification is rejected with it. Any other failure —
// Stripe unreachable, a 409 for a concurrent request with the same key, a
// revoked key — fails the notification, so Stripe delivers it again.
func (g *Gateway) afterRefusal(ctx context.Context, op, id string, err error) (*stripego.PaymentIntent, error) {
	refused := wrapAPIError(op, id, err)
	if !errors.Is(refused, payments.ErrInvalidInput) {
		return nil, refused
	}
	now, err := g.readIntent(ctx, id)
	if err != nil {
		return nil, err
	}
	if now.Status == stripego.PaymentIntentStatusRequiresCapture {
		return nil, refused
	}
	return now, nil
}

// policyKey is the idempotency key of a capture or cancel the policy
// makes: the one the Service sends for the same operation on the same
// payment when the host gives no key (payment id + ":" + op), so that the
// host's own call and the driver's are one request at Stripe. An intent
// the library did not create has no library payment id in its metadata
// and is keyed by its own id.
func policyKey(pi *stripego.PaymentIntent, op string) string {
	if id := pi.Metadata[MetadataPaymentID]; payments.IsPaymentID(id) {
		return id + ":" + op
	}
	return pi.ID + ":" + op
}

// readIntent reads a PaymentIntent with its review and latest charge
// expanded: the review says whether Radar holds the payment, the charge
// when its authorization expires (CaptureBefore) and, with its balance
// transaction, what it settled as (see chargeSettlement).
func (g *Gateway) readIntent(ctx context.Context, id string) (*stripego.PaymentIntent, error) {
	api, err := g.client("read", id)
	if err != nil {
		return nil, err
	}
	params := &stripego.PaymentIntentParams{}
	params.Context = ctx
	params.AddExpand("review")
	params.AddExpand("latest_charge.balance_transaction") // expands latest_charge too
	pi, err := api.PaymentIntents.Get(id, params)
	if err != nil {
		return nil, wrapAPIError("read", id, err)
	}
	return pi, nil
}

// reviewOf returns the intent's review, reading it when the intent carries
// only its id; nil when it has none.
func (g *Gateway) reviewOf(ctx context.Context, pi *stripego.PaymentIntent) (*stripego.Review, error) {
	r := pi.Review
	switch {
	case r == nil || r.ID == "":
		return nil, nil
	case r.Object == "review":
		return r, nil // expanded
	}
	params := &stripego.ReviewParams{}
	params.Context = ctx
	got, err := g.api.Reviews.Get(r.ID, params)
	if err != nil {
		return nil, wrapAPIError("read review", r.ID, err)
	}
	return got, nil
}

func reviewedPayment(r *stripego.Review) string {
	if r.PaymentIntent != nil && r.PaymentIntent.ID != "" {
		return r.PaymentIntent.ID
	}
	if r.Charge != nil && r.Charge.ID != "" {
		return r.Charge.ID
	}
	return "a payment"
}
