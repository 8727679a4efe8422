package paypal

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/payrail/payments"
)

// orderApproved reports CHECKOUT.ORDER.APPROVED: the buyer approved the
// order, so the payment is authorized. PayPal takes the money only when
// the merchant captures, so an order of intent CAPTURE that the driver made
// (its custom_id is a payment id) is captured now, under a
// PayPal-Request-Id made of the event id: a redelivery gets the first
// answer, and the capture's charge is recorded with the approval (and again,
// as a duplicate, by PAYMENT.CAPTURE.COMPLETED). An order made elsewhere is
// left to whoever made it. A capture PayPal refuses for good (already
// captured, declined, not found) leaves the payment authorized and is
// logged; one that fails otherwise fails the notification, which PayPal
// retries.
func (g *Gateway) orderApproved(ctx context.Context, ev *event) (*payments.Changes, error) {
	var o wireOrder
	if err := decodeResource(ev.Resource, "order", &o); err != nil {
		return nil, err
	}
	if !validID(o.ID) || len(o.PurchaseUnits) == 0 {
		return nil, fmt.Errorf("order without a valid id or a purchase unit: %w", payments.ErrInvalidInput)
	}
	pu := o.PurchaseUnits[0]
	amount, err := money(pu.Amount)
	if err != nil {
		return nil, err
	}
	paymentID, account := parseCustomID(pu.CustomID)
	c := &payments.Changes{Payments: []payments.PaymentUpdate{{GatewayID: o.ID, PaymentID: paymentID,
		Status: payments.StatusAuthorized, Account: account, Reference: pu.InvoiceID, Amount: amount}}}
	if o.Intent != "CAPTURE" || paymentID == "" {
		return c, nil
	}
	captured, err := g.captureOrder(ctx, o.ID, "capture-approved:"+ev.ID)
	if err != nil {
		if retryable(err) {
			return nil, err
		}
		g.log.WarnContext(ctx, "paypal: approved order not captured", "order", o.ID, "payment", paymentID, "error", err)
		return c, nil
	}
	cc, err := g.capturedChanges(o.ID, captured.captures())
	if err != nil {
		return nil, err
	}
	c.Payments = append(c.Payments, cc.Payments...)
	c.Entries = append(c.Entries, cc.Entries...)
	return c, nil
}

// retryable reports whether a failed call may succeed later: a network
// error, or PayPal's 401, 403, 409 (the same request in flight), 429 or 5xx.
func retryable(err error) bool {
	var e *apiError
	if !errors.As(err, &e) {
		return true
	}
	switch s := e.status(); {
	case s == http.StatusUnauthorized, s == http.StatusForbidden, s == http.StatusConflict,
		s == http.StatusTooManyRequests, s >= 500:
		return true
	}
	return false
}

// captures returns every capture of the order's purchase units.
func (o *wireOrder) captures() []wireCapture {
	var out []wireCapture
	for _, pu := range o.PurchaseUnits {
		out = append(out, pu.Payments.Captures...)
	}
	return out
}

// capturedChanges reports the captures an API call answered with, for the
// order orderID: a completed one is the charge keyed by its capture id, and
// the payment succeeded; a pending one leaves it authorized, its
// PAYMENT.CAPTURE.COMPLETED records the charge; a declined one failed.
func (g *Gateway) capturedChanges(orderID string, captures []wireCapture) (*payments.Changes, error) {
	c := &payments.Changes{}
	var status payments.Status
	for _, cp := range captures {
		if !validID(cp.ID) {
			return nil, fmt.Errorf("paypal: order %s: capture without a valid id: %w", orderID, payments.ErrInvalidInput)
		}
		switch {
		case captureMoved(cp.Status):
			amount, err := money(cp.Amount)
			if err != nil {
				return nil, fmt.Errorf("paypal: order %s: capture %s: %w", orderID, cp.ID, err)
			}
			c.Entries = append(c.Entries, payments.Entry{Gateway: g.name, Kind: payments.KindCharge,
				GatewayRef: cp.ID, GatewayPaymentID: orderID, Amount: amount, OccurredAt: parseTime(cp.CreateTime)})
			status = payments.StatusSucceeded
		case cp.Status == "PENDING":
			if status == "" {
				status = payments.StatusAuthorized
			}
		case cp.Status == "DECLINED" || cp.Status == "FAILED":
			if status == "" {
				status = payments.StatusFailed
			}
		}
	}
	if status != "" {
		c.Payments = []payments.PaymentUpdate{{GatewayID: orderID, Status: status}}
	}
	return c, nil
}

// getOrder reads an order (https://developer.paypal.com/docs/api/orders/v2/#orders_get).
func (g *Gateway) getOrder(ctx context.Context, op, id string) (*wireOrder, error) {
	if !validID(id) {
		return nil, fmt.Errorf("paypal: %s %q: not a PayPal order id: %w", op, id, payments.ErrInvalidInput)
	}
	var o wireOrder
	if err := g.send(ctx, http.MethodGet, "/v2/checkout/orders/"+id, "", nil, &o); err != nil {
		return nil, wrapAPIError(op, id, err)
	}
	return &o, nil
}

// captureOrder captures an approved order of intent CAPTURE in full
// (https://developer.paypal.com/docs/api/orders/v2/#orders_capture).
// plutov's CaptureOrderWithPaypalRequestId is not used: it sets the client's
// Prefer flag on every call, without a lock.
func (g *Gateway) captureOrder(ctx context.Context, id, key string) (*wireOrder, error) {
	var o wireOrder
	if err := g.send(ctx, http.MethodPost, "/v2/checkout/orders/"+id+"/capture", key, struct{}{}, &o); err != nil {
		return nil, wrapAPIError("capture", id, err)
	}
	return &o, nil
}

// authorizeOrder authorizes an approved order of intent AUTHORIZE
// (https://developer.paypal.com/docs/api/orders/v2/#orders_authorize). Its
// PayPal-Request-Id is made of the order id, so Capture and Cancel, and
// their retries, reach the one authorization.
func (g *Gateway) authorizeOrder(ctx context.Context, id string) (*wireOrder, error) {
	var o wireOrder
	if err := g.send(ctx, http.MethodPost, "/v2/checkout/orders/"+id+"/authorize", "authorize:"+id, struct{}{}, &o); err != nil {
		return nil, wrapAPIError("authorize", id, err)
	}
	return &o, nil
}

// lookupCapture reads a capture; nil when PayPal has none of that id.
func (g *Gateway) lookupCapture(ctx context.Context, id string) (*wireCapture, error) {
	var cp wireCapture
	if err := g.send(ctx, http.MethodGet, "/v2/payments/captures/"+id, "", nil, &cp); err != nil {
		if err = wrapAPIError("look up capture", id, err); isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &cp, nil
}

// lookupAuthorization reads an authorization; nil when PayPal has none of
// that id.
func (g *Gateway) lookupAuthorization(ctx context.Context, id string) (*wireAuthorization, error) {
	var a wireAuthorization
	if err := g.send(ctx, http.MethodGet, "/v2/payments/authorizations/"+id, "", nil, &a); err != nil {
		if err = wrapAPIError("look up authorization", id, err); isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return &a, nil
}

// orderOfCapture is the id of the order a capture belongs to: its
// supplementary_data, its "up" link, or, for a capture of an authorization
// that names neither, the authorization's, looked up. "" when none says.
func (g *Gateway) orderOfCapture(ctx context.Context, cp *wireCapture) (string, error) {
	if id := cp.SupplementaryData.RelatedIDs.OrderID; validID(id) {
		return id, nil
	}
	if id := linkedID(cp.Links, "/v2/checkout/orders/"); id != "" {
		return id, nil
	}
	authID := cp.SupplementaryData.RelatedIDs.AuthorizationID
	if !validID(authID) {
		authID = linkedID(cp.Links, "/v2/payments/authorizations/")
	}
	if authID == "" {
		return "", nil
	}
	a, err := g.lookupAuthorization(ctx, authID)
	if a == nil || err != nil {
		return "", err
	}
	if id := a.SupplementaryData.RelatedIDs.OrderID; validID(id) {
		return id, nil
	}
	return linkedID(a.Links, "/v2/checkout/orders/"), nil
}
