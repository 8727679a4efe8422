package stripe

import (
	"context"
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// refundChanges reports one refund, as refund.created, refund.updated and
// charge.refund.updated events and Refund's answer carry it
// (https://docs.stripe.com/refunds).
//
// A refund is money only once it succeeded: it then records a negative
// entry keyed by the refund id. A refund can still fail after succeeding
// (the card network returns it); the event then reports previous_attributes.status "succeeded", and the
// refund records both its negative entry and a refund_reversal of the same
// amount under the same id. Recording the refund again is a duplicate when it
// was already recorded and, when this event arrived first, keeps the
// reversal from ever standing in the ledger without its refund. A refund
// that fails without having succeeded records nothing.
func (g *Gateway) refundChanges(c *payments.Changes, r *stripego.Refund, previous string, at time.Time) error {
	if r.ID == "" {
		return fmt.Errorf("refund without id: %w", payments.ErrInvalidInput)
	}
	switch {
	case r.Amount == 0:
		c.Note = fmt.Sprintf("refund %s is for nothing", r.ID)
		return nil
	case r.Status == stripego.RefundStatusSucceeded:
		return g.appendRefund(c, r, "", nil, at)
	case (r.Status == stripego.RefundStatusFailed || r.Status == stripego.RefundStatusCanceled) &&
		previous == string(stripego.RefundStatusSucceeded):
		if err := g.appendRefund(c, r, "", nil, at); err != nil {
			return err
		}
		reversal := c.Entries[len(c.Entries)-1]
		reversal.Kind = payments.KindRefundReversal
		reversal.Amount.Amount = -reversal.Amount.Amount
		c.Entries = append(c.Entries, reversal)
		return nil
	}
	c.Note = fmt.Sprintf("refund %s is %s; nothing has moved yet", r.ID, r.Status)
	return nil
}

// appendRefund appends the negative entry of a refund. paymentID and md
// stand in for the refund's payment and metadata when it has none of its
// own (refunds listed inside a charge).
func (g *Gateway) appendRefund(c *payments.Changes, r *stripego.Refund, paymentID string, md map[string]string, at time.Time) error {
	amount, err := fromStripe(r.Amount, r.Currency)
	if err != nil {
		return err
	}
	if id := refundedPayment(r); id != "" {
		paymentID = id
	}
	account := r.Metadata[MetadataAccount]
	if account == "" {
		account = md[MetadataAccount]
	}
	amount.Amount = -amount.Amount
	c.Entries = append(c.Entries, payments.Entry{
		Gateway: g.name, Kind: payments.KindRefund, GatewayRef: r.ID, GatewayPaymentID: paymentID,
		Account: account, Amount: amount, OccurredAt: at,
	})
	return nil
}

// chargeRefundedChanges reports a charge.refunded event: the payment is
// refunded when amount_refunded reaches amount_captured, partially refunded
// before that. amount_refunded is cumulative, so it is never recorded
// itself: each succeeded refund of the charge is recorded under its own id,
// with its own amount, which makes a refund seen here and in refund events
// or Refund's answer one entry.
//
// From API version 2022-11-15 the charge in this event no longer includes
// its refunds (https://docs.stripe.com/changelog/2022-11-15/deprecates-charges-auto-expand),
// so they are listed through the API (see Config.DisableRefundListing).
func (g *Gateway) chargeRefundedChanges(ctx context.Context, c *payments.Changes, ch *stripego.Charge, at time.Time) error {
	paymentID := chargedPayment(ch)
	if paymentID == "" {
		return fmt.Errorf("charge without id: %w", payments.ErrInvalidInput)
	}
	if ch.AmountRefunded < 0 || ch.AmountCaptured < 0 {
		return fmt.Errorf("charge %s: negative amounts: %w", ch.ID, payments.ErrInvalidInput)
	}
	status := payments.StatusPartiallyRefunded
	if ch.AmountRefunded >= ch.AmountCaptured {
		status = payments.StatusRefunded
	}
	md := ch.Metadata
	c.Payments = append(c.Payments, payments.PaymentUpdate{
		GatewayID: paymentID, PaymentID: md[MetadataPaymentID], Status: status,
		Account: md[MetadataAccount], Reference: md[MetadataReference],
	})
	refunds, listed, err := g.chargeRefunds(ctx, ch)
	if err != nil {
		return err
	}
	if !listed {
		c.Note = "charge " + ch.ID + " lists no refunds, and refund listing is off (DisableRefundListing): only the status moves"
		return nil
	}
	for _, r := range refunds {
		if r == nil || r.Status != stripego.RefundStatusSucceeded || r.Amount == 0 {
			continue
		}
		if r.ID == "" {
			return fmt.Errorf("charge %s lists a refund without id: %w", ch.ID, payments.ErrInvalidInput)
		}
		if err := g.appendRefund(c, r, paymentID, md, at); err != nil {
			return err
		}
	}
	return nil
}

// chargeRefunds returns the refunds the charge lists or, when it lists none
// or only the first page, every refund of the charge from the API. listed
// is false when refund listing is off and the charge has none.
//
// A Gateway without a key cannot list them, and refuses the event: a
// refund it cannot itemize has no id to be recorded under, and recording
// only the status would look like success while the money stays where it
// was. The refusal is journaled as a rejected, verified notification with
// this error as its detail, so it can be replayed once the key is set.
func (g *Gateway) chargeRefunds(ctx context.Context, ch *stripego.Charge) (refunds []*stripego.Refund, listed bool, err error) {
	if ch.Refunds != nil && !ch.Refunds.HasMore {
		return ch.Refunds.Data, true, nil // an event rendered for an API version before 2022-11-15
	}
	switch {
	case g.noListing:
		if ch.Refunds == nil {
			return nil, false, nil
		}
		return ch.Refunds.Data, true, nil
	case ch.ID == "":
		return nil, false, fmt.Errorf("charge without id: its refunds cannot be listed: %w", payments.ErrInvalidInput)
	case g.api == nil:
		refunded := fmt.Sprintf("%d %s", ch.AmountRefunded, ch.Currency)
		if m, err := fromStripe(ch.AmountRefunded, ch.Currency); err == nil {
			refunded = m.String()
		}
		return nil, false, fmt.Errorf("charge %s was refunded (%s in all), but the refund could not be itemized: "+
			"the gateway has no API key to list the charge's refunds with; set STRIPE_SECRET_KEY (Config.SecretKey) "+
			"and replay this notification, or set DisableRefundListing if refunds reach the ledger otherwise: %w",
			ch.ID, refunded, payments.ErrInvalidInput)
	}
	params := &stripego.RefundListParams{Charge: stripego.String(ch.ID)}
	params.Context = ctx
	params.Limit = stripego.Int64(100)
	it := g.api.Refunds.List(params)
	for it.Next() {
		refunds = append(refunds, it.Refund())
	}
	if err := it.Err(); err != nil {
		return nil, false, wrapAPIError("list refunds of", ch.ID, err)
	}
	return refunds, true, nil
}

// refundedPayment is the id of the PaymentIntent a refund belongs to, or of
// its charge for charges made without one.
func refundedPayment(r *stripego.Refund) string {
	if r.PaymentIntent != nil && r.PaymentIntent.ID != "" {
		return r.PaymentIntent.ID
	}
	if r.Charge != nil {
		return r.Charge.ID
	}
	return ""
}

// chargedPayment is the id of the PaymentIntent a charge belongs to, or the
// charge's own for charges made without one.
func chargedPayment(ch *stripego.Charge) string {
	if ch.PaymentIntent != nil && ch.PaymentIntent.ID != "" {
		return ch.PaymentIntent.ID
	}
	return ch.ID
}
