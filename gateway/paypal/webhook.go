package paypal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

// Event types the driver acts on
// (https://developer.paypal.com/api/rest/webhooks/event-names/).
const (
	EventOrderApproved        = "CHECKOUT.ORDER.APPROVED"
	EventCaptureCompleted     = "PAYMENT.CAPTURE.COMPLETED"
	EventCapturePending       = "PAYMENT.CAPTURE.PENDING"
	EventCaptureDenied        = "PAYMENT.CAPTURE.DENIED"
	EventCaptureDeclined      = "PAYMENT.CAPTURE.DECLINED"
	EventCaptureRefunded      = "PAYMENT.CAPTURE.REFUNDED"
	EventCaptureReversed      = "PAYMENT.CAPTURE.REVERSED"
	EventAuthorizationCreated = "PAYMENT.AUTHORIZATION.CREATED"
	EventAuthorizationVoided  = "PAYMENT.AUTHORIZATION.VOIDED"
	EventDisputeCreated       = "CUSTOMER.DISPUTE.CREATED"
	EventDisputeResolved      = "CUSTOMER.DISPUTE.RESOLVED"
)

// event is a webhook notification's envelope.
type event struct {
	ID         string          `json:"id"`
	EventType  string          `json:"event_type"`
	CreateTime string          `json:"create_time"`
	Resource   json.RawMessage `json:"resource"`
}

// ParseWebhook implements payments.Gateway. It verifies the notification
// offline on its raw bytes (see the package doc and verify's steps; every
// failure wraps payments.ErrUnauthenticated), then decodes it and says what
// it means:
//
//	CHECKOUT.ORDER.APPROVED            authorized; an order of intent CAPTURE
//	                                   that the driver made is captured now
//	PAYMENT.CAPTURE.COMPLETED          succeeded, + charge (capture id)
//	PAYMENT.CAPTURE.PENDING            pending
//	PAYMENT.CAPTURE.DENIED, .DECLINED  failed
//	PAYMENT.CAPTURE.REFUNDED           partially_refunded or refunded,
//	                                   − refund (refund id), never from
//	                                   total_refunded_amount, which is cumulative
//	PAYMENT.CAPTURE.REVERSED           disputed, − chargeback (reversal id)
//	PAYMENT.AUTHORIZATION.CREATED      authorized, with the capture deadline
//	PAYMENT.AUTHORIZATION.VOIDED       canceled
//	CUSTOMER.DISPUTE.CREATED, .RESOLVED disputed
//
// A notification is matched to its payment by custom_id (the payment id
// the driver set, or CustomIDAccountPrefix and an account) and by the
// order id; see the package doc.
//
// Any other type, and a resource of PayPal's older Payments v1 API, is
// journaled as ignored. A notification that verified but cannot be
// understood wraps payments.ErrInvalidInput. The API is called only to
// capture an approved order and to find the order of a capture that the
// notification does not name; a failed call fails the notification, which
// PayPal retries.
func (g *Gateway) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if err := g.verify(ctx, req); err != nil {
		return nil, err
	}
	return g.parseVerified(ctx, req.Body)
}

// parseVerified decodes and translates a body whose signature verified.
func (g *Gateway) parseVerified(ctx context.Context, body []byte) (*payments.Changes, error) {
	var ev event
	if err := json.Unmarshal(body, &ev); err != nil {
		return nil, fmt.Errorf("paypal: decode event: %v: %w", err, payments.ErrInvalidInput)
	}
	if ev.ID == "" || ev.EventType == "" {
		return nil, fmt.Errorf("paypal: event without id or event_type: %w", payments.ErrInvalidInput)
	}
	return g.changesOf(ctx, &ev)
}

// changesOf translates a decoded event: a verified notification, or a
// record ListMoved read from the API, which ParseRecord dresses as the
// notification of its movement so that both run the same code.
func (g *Gateway) changesOf(ctx context.Context, ev *event) (*payments.Changes, error) {
	c, err := g.translate(ctx, ev)
	var api *apiError
	switch {
	case errors.Is(err, errV1):
		return &payments.Changes{EventID: ev.ID, EventType: ev.EventType,
			Note: "a Payments v1 resource; the driver acts on Orders v2 payments only"}, nil
	case errors.As(err, &api):
		return nil, err // "paypal: look up capture …: …", not the notification's fault
	case err != nil:
		return nil, fmt.Errorf("paypal: event %s (%s): %w", ev.ID, ev.EventType, err)
	}
	c.EventID, c.EventType = ev.ID, ev.EventType
	return c, nil
}

// translate turns a verified event into changes.
func (g *Gateway) translate(ctx context.Context, ev *event) (*payments.Changes, error) {
	at := parseTime(ev.CreateTime)
	switch ev.EventType {
	case EventOrderApproved:
		return g.orderApproved(ctx, ev)
	case EventCaptureCompleted, EventCapturePending, EventCaptureDenied, EventCaptureDeclined:
		return g.captureEvent(ctx, ev, at)
	case EventCaptureRefunded, EventCaptureReversed:
		return g.refundEvent(ctx, ev, at)
	case EventAuthorizationCreated, EventAuthorizationVoided:
		return g.authorizationEvent(ev)
	case EventDisputeCreated, EventDisputeResolved:
		return g.disputeEvent(ctx, ev)
	}
	return &payments.Changes{Note: "event type " + ev.EventType + " is not acted on"}, nil
}

// captureStatus is the payment status each capture event reports.
var captureStatus = map[string]payments.Status{
	EventCaptureCompleted: payments.StatusSucceeded,
	EventCapturePending:   payments.StatusPending,
	EventCaptureDenied:    payments.StatusFailed,
	EventCaptureDeclined:  payments.StatusFailed,
}

// captureEvent reports a capture event
// (https://developer.paypal.com/docs/api/payments/v2/#captures_get). A
// completed capture is a charge keyed by the capture id, linked to the
// order, which Capture's answer reports under the same key.
func (g *Gateway) captureEvent(ctx context.Context, ev *event, at time.Time) (*payments.Changes, error) {
	var cp wireCapture
	if err := decodeResource(ev.Resource, "capture", &cp); err != nil {
		return nil, err
	}
	if !validID(cp.ID) {
		return nil, fmt.Errorf("capture without a valid id: %w", payments.ErrInvalidInput)
	}
	amount, err := money(cp.Amount)
	if err != nil {
		return nil, err
	}
	orderID, err := g.orderOfCapture(ctx, &cp)
	if err != nil {
		return nil, err
	}
	status := captureStatus[ev.EventType]
	c := &payments.Changes{}
	paymentID, account := parseCustomID(cp.CustomID)
	if orderID != "" || paymentID != "" {
		c.Payments = append(c.Payments, payments.PaymentUpdate{GatewayID: orderID, PaymentID: paymentID,
			Status: status, Account: account, Reference: cp.InvoiceID, Amount: amount})
	}
	if status == payments.StatusSucceeded {
		if t := parseTime(cp.CreateTime); !t.IsZero() {
			at = t
		}
		c.Entries = append(c.Entries, payments.Entry{Gateway: g.name, Kind: payments.KindCharge,
			GatewayRef: cp.ID, GatewayPaymentID: orderID, Account: account, Amount: amount, OccurredAt: at})
	}
	if len(c.Payments) == 0 && len(c.Entries) == 0 {
		c.Note = fmt.Sprintf("capture %s names no order, payment or account", cp.ID)
	}
	return c, nil
}

// refundStatus maps the refunded capture's status, looked up, to the
// payment's.
var refundStatus = map[string]payments.Status{
	"REFUNDED":           payments.StatusRefunded,
	"PARTIALLY_REFUNDED": payments.StatusPartiallyRefunded,
}

// refundEvent reports PAYMENT.CAPTURE.REFUNDED, a negative refund keyed by
// the refund id, and PAYMENT.CAPTURE.REVERSED, a negative chargeback keyed
// by the reversal's id (https://developer.paypal.com/docs/api/payments/v2/#refunds_get).
// The amount is the refund's own; seller_payable_breakdown's
// total_refunded_amount adds up every refund of the capture, so it is never
// booked. A refund names its capture only in its "up" link; the capture,
// looked up, names the order and says whether it is refunded in full.
func (g *Gateway) refundEvent(ctx context.Context, ev *event, at time.Time) (*payments.Changes, error) {
	var r wireRefund
	if err := decodeResource(ev.Resource, "refund", &r); err != nil {
		return nil, err
	}
	if !validID(r.ID) {
		return nil, fmt.Errorf("refund without a valid id: %w", payments.ErrInvalidInput)
	}
	amount, err := money(r.Amount)
	if err != nil {
		return nil, err
	}
	kind, status := payments.KindRefund, payments.StatusPartiallyRefunded
	if ev.EventType == EventCaptureReversed {
		kind, status = payments.KindChargeback, payments.StatusDisputed
	}
	c := &payments.Changes{}
	if kind == payments.KindRefund && r.Status != "" && r.Status != "COMPLETED" {
		c.Note = fmt.Sprintf("refund %s is %s; nothing has moved yet", r.ID, r.Status)
		return c, nil
	}
	var orderID string
	if captureID := linkedID(r.Links, "/v2/payments/captures/"); captureID != "" {
		cp, err := g.lookupCapture(ctx, captureID)
		if err != nil {
			return nil, err
		}
		if cp != nil {
			if orderID, err = g.orderOfCapture(ctx, cp); err != nil {
				return nil, err
			}
			if s, ok := refundStatus[cp.Status]; ok && kind == payments.KindRefund {
				status = s
			}
		}
	}
	paymentID, account := parseCustomID(r.CustomID)
	if orderID != "" || paymentID != "" {
		c.Payments = append(c.Payments, payments.PaymentUpdate{GatewayID: orderID, PaymentID: paymentID,
			Status: status, Account: account})
	}
	if t := parseTime(r.CreateTime); !t.IsZero() {
		at = t
	}
	amount.Amount = -amount.Amount
	c.Entries = append(c.Entries, payments.Entry{Gateway: g.name, Kind: kind, GatewayRef: r.ID,
		GatewayPaymentID: orderID, Account: account, Amount: amount, OccurredAt: at})
	return c, nil
}

// authorizationEvent reports PAYMENT.AUTHORIZATION.CREATED (authorized, to
// be captured before expiration_time) and .VOIDED (canceled)
// (https://developer.paypal.com/docs/api/payments/v2/#authorizations_get).
func (g *Gateway) authorizationEvent(ev *event) (*payments.Changes, error) {
	var a wireAuthorization
	if err := decodeResource(ev.Resource, "authorization", &a); err != nil {
		return nil, err
	}
	if !validID(a.ID) {
		return nil, fmt.Errorf("authorization without a valid id: %w", payments.ErrInvalidInput)
	}
	amount, err := money(a.Amount)
	if err != nil {
		return nil, err
	}
	orderID := a.SupplementaryData.RelatedIDs.OrderID
	if !validID(orderID) {
		orderID = linkedID(a.Links, "/v2/checkout/orders/")
	}
	paymentID, account := parseCustomID(a.CustomID)
	c := &payments.Changes{}
	if orderID == "" && paymentID == "" {
		c.Note = fmt.Sprintf("authorization %s names no order or payment", a.ID)
		return c, nil
	}
	upd := payments.PaymentUpdate{GatewayID: orderID, PaymentID: paymentID, Status: payments.StatusCanceled,
		Account: account, Reference: a.InvoiceID, Amount: amount}
	if ev.EventType == EventAuthorizationCreated {
		upd.Status, upd.CaptureBefore = payments.StatusAuthorized, parseTime(a.ExpirationTime)
	}
	c.Payments = append(c.Payments, upd)
	return c, nil
}

// disputeEvent reports CUSTOMER.DISPUTE.CREATED and .RESOLVED: the payment
// is disputed (https://developer.paypal.com/docs/api/customer-disputes/v1/).
// No money moves here: what PayPal takes back arrives as
// PAYMENT.CAPTURE.REVERSED or PAYMENT.CAPTURE.REFUNDED.
func (g *Gateway) disputeEvent(ctx context.Context, ev *event) (*payments.Changes, error) {
	var d wireDispute
	if err := decodeResource(ev.Resource, "dispute", &d); err != nil {
		return nil, err
	}
	if d.DisputeID == "" {
		return nil, fmt.Errorf("dispute without dispute_id: %w", payments.ErrInvalidInput)
	}
	c := &payments.Changes{}
	for _, tx := range d.DisputedTransactions {
		var orderID string
		if validID(tx.SellerTransactionID) {
			cp, err := g.lookupCapture(ctx, tx.SellerTransactionID)
			if err != nil {
				return nil, err
			}
			if cp != nil {
				if orderID, err = g.orderOfCapture(ctx, cp); err != nil {
					return nil, err
				}
			}
		}
		paymentID, _ := parseCustomID(tx.Custom)
		if orderID != "" || paymentID != "" {
			c.Payments = append(c.Payments, payments.PaymentUpdate{GatewayID: orderID, PaymentID: paymentID,
				Status: payments.StatusDisputed})
		}
	}
	if len(c.Payments) == 0 {
		c.Note = fmt.Sprintf("dispute %s names no capture this account knows", d.DisputeID)
	} else if d.DisputeOutcome.OutcomeCode != "" {
		c.Note = fmt.Sprintf("dispute %s %s: %s", d.DisputeID, d.Status, d.DisputeOutcome.OutcomeCode)
	}
	return c, nil
}
