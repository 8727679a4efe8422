package paypal

import (
	"context"
	"fmt"
	"net/http"

	"github.com/payrail/payments"
)

// RefundExtension is what only a PayPal refund takes, passed as
// payments.RefundOptions.Extension (a value or a pointer).
type RefundExtension struct {
	// CaptureID picks the capture to refund. Only a payment that PayPal
	// captured in several parts needs it; otherwise the payment's one
	// capture is refunded.
	CaptureID string
	// NoteToPayer is shown to the buyer in their PayPal history and in the
	// refund email (PayPal's note_to_payer, at most 255 characters).
	NoteToPayer string
}

// refundRequest is a refund's body
// (https://developer.paypal.com/api/payments/v2/definitions/refund_request).
type refundRequest struct {
	Amount      *wireMoney `json:"amount,omitempty"`
	CustomID    string     `json:"custom_id,omitempty"`
	NoteToPayer string     `json:"note_to_payer,omitempty"`
}

// Refund implements payments.Refunder
// (https://developer.paypal.com/docs/api/payments/v2/#captures_refund):
// all that is left of the payment's capture, or opts.Amount of it. The
// refund carries the payment id as custom_id, which its
// PAYMENT.CAPTURE.REFUNDED echoes. opts.Key is the PayPal-Request-Id, so a
// retried refund is the same refund. A completed refund reports its
// negative entry, keyed by the refund id, and the payment refunded (a full
// refund) or partially refunded; a pending one reports nothing, and its
// PAYMENT.CAPTURE.REFUNDED records it once it completes. PayPal takes no
// reason code, so opts.Reason is not sent; RefundExtension carries a note to
// the buyer and the capture to refund. Any other extension is refused with
// payments.ErrInvalidInput.
func (g *Gateway) Refund(ctx context.Context, p payments.Payment, opts payments.RefundOptions) (*payments.Changes, error) {
	id := p.GatewayID
	var ext RefundExtension
	switch x := opts.Extension.(type) {
	case nil:
	case RefundExtension:
		ext = x
	case *RefundExtension:
		if x != nil {
			ext = *x
		}
	default:
		return nil, noExtension("refund", id, opts.Extension)
	}
	if len([]rune(ext.NoteToPayer)) > 255 {
		return nil, fmt.Errorf("paypal: refund %s: NoteToPayer is longer than PayPal's 255 characters: %w", id, payments.ErrInvalidInput)
	}
	o, err := g.getOrder(ctx, "refund", id)
	if err != nil {
		return nil, err
	}
	captureID, err := refundableCapture(o, ext.CaptureID)
	if err != nil {
		return nil, err
	}
	body := refundRequest{NoteToPayer: ext.NoteToPayer}
	if payments.IsPaymentID(p.ID) {
		body.CustomID = p.ID
	}
	if opts.Amount != nil {
		if body.Amount, err = toPayPal(*opts.Amount); err != nil {
			return nil, err
		}
	}
	var r wireRefund
	if err := g.send(ctx, http.MethodPost, "/v2/payments/captures/"+captureID+"/refund", opts.Key, body, &r); err != nil {
		return nil, wrapAPIError("refund capture", captureID, err)
	}
	switch r.Status {
	case "COMPLETED":
	case "PENDING":
		return &payments.Changes{Note: fmt.Sprintf("refund %s is pending", r.ID)}, nil
	default:
		return nil, fmt.Errorf("paypal: refund capture %s: refund %s is %s: %w", captureID, r.ID, r.Status, payments.ErrConflict)
	}
	amount, err := money(r.Amount)
	if err != nil || !validID(r.ID) {
		// Completed, but the answer does not say how much: its
		// PAYMENT.CAPTURE.REFUNDED will.
		return &payments.Changes{Note: fmt.Sprintf("refund %s completed; its amount comes by webhook", r.ID)}, nil
	}
	status := payments.StatusPartiallyRefunded
	if opts.Amount == nil {
		status = payments.StatusRefunded
	}
	amount.Amount = -amount.Amount
	return &payments.Changes{
		Payments: []payments.PaymentUpdate{{GatewayID: id, Status: status}},
		Entries: []payments.Entry{{Gateway: g.name, Kind: payments.KindRefund, GatewayRef: r.ID,
			GatewayPaymentID: id, Amount: amount, OccurredAt: parseTime(r.CreateTime)}},
	}, nil
}

// refundableCapture picks the capture to refund: the one named, which must
// be the order's, else the order's only capture that can still be refunded,
// else its only capture. A capture refunded in full is still asked for, so
// that a retried refund gets PayPal's first answer rather than a refusal.
func refundableCapture(o *wireOrder, named string) (string, error) {
	var all, refundable []string
	for _, cp := range o.captures() {
		if named != "" && cp.ID == named {
			return named, nil
		}
		all = append(all, cp.ID)
		if cp.Status == "COMPLETED" || cp.Status == "PARTIALLY_REFUNDED" {
			refundable = append(refundable, cp.ID)
		}
	}
	if len(refundable) == 0 && len(all) == 1 {
		refundable = all
	}
	switch {
	case named != "":
		return "", fmt.Errorf("paypal: refund %s: capture %q is not this order's: %w", o.ID, named, payments.ErrInvalidInput)
	case len(refundable) == 0:
		return "", fmt.Errorf("paypal: refund %s: the order has no capture left to refund: %w", o.ID, payments.ErrConflict)
	case len(refundable) > 1:
		return "", fmt.Errorf("paypal: refund %s: the order has %d captures; name one in RefundExtension.CaptureID: %w",
			o.ID, len(refundable), payments.ErrInvalidInput)
	case !validID(refundable[0]):
		return "", fmt.Errorf("paypal: refund %s: capture without a valid id: %w", o.ID, payments.ErrInvalidInput)
	}
	return refundable[0], nil
}
