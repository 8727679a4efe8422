package paypal

import (
	"context"
	"fmt"
	"net/http"
	"unicode/utf8"

	pp "github.com/plutov/paypal/v4"

	"github.com/payrail/payments"
)

// CreateCheckout implements payments.CheckoutCreator with an order
// (https://developer.paypal.com/docs/api/orders/v2/#orders_create): intent
// CAPTURE for payments.CaptureAutomatic, AUTHORIZE for
// payments.CaptureManual; the payment id as custom_id, which notifications
// echo; the reference as invoice_id, which PayPal shows the buyer and, by
// default, refuses to see twice; the description cut to PayPal's 127
// characters; ReturnURL and CancelURL as where the buyer comes back to. The
// payment id is the PayPal-Request-Id, so a retried checkout is the same
// order. Checkout.RedirectURL is the approve link to send the buyer to.
func (g *Gateway) CreateCheckout(ctx context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	amount, err := toPayPal(req.Amount)
	if err != nil {
		return nil, err
	}
	if len(req.Reference) > 127 {
		return nil, fmt.Errorf("paypal: checkout %s: reference longer than PayPal's 127-character invoice_id: %w",
			req.PaymentID, payments.ErrInvalidInput)
	}
	intent := "CAPTURE"
	if req.Capture == payments.CaptureManual {
		intent = "AUTHORIZE"
	}
	unit := pp.PurchaseUnitRequest{
		Amount:      &pp.PurchaseUnitAmount{Currency: amount.CurrencyCode, Value: amount.Value},
		CustomID:    req.PaymentID,
		InvoiceID:   req.Reference,
		Description: cut(req.Description, 127),
	}
	var appContext *pp.ApplicationContext
	if req.ReturnURL != "" || req.CancelURL != "" {
		appContext = &pp.ApplicationContext{ReturnURL: req.ReturnURL, CancelURL: req.CancelURL, UserAction: pp.UserActionPayNow}
	}
	var order *pp.Order
	err = g.call(func(c *pp.Client) error {
		var err error
		order, err = c.CreateOrderWithPaypalRequestID(ctx, intent, []pp.PurchaseUnitRequest{unit}, nil, appContext, requestID(req.PaymentID))
		return err
	})
	if err != nil {
		return nil, wrapAPIError("checkout", req.PaymentID, err)
	}
	if !validID(order.ID) {
		return nil, fmt.Errorf("paypal: checkout %s: the answer has no order id", req.PaymentID)
	}
	links := make([]wireLink, len(order.Links))
	for i, l := range order.Links {
		links[i] = wireLink{Href: l.Href, Rel: l.Rel}
	}
	return &payments.Checkout{GatewayID: order.ID, Status: payments.StatusPending, RedirectURL: approveLink(links)}, nil
}

// Capture implements payments.Capturer. An order of intent AUTHORIZE is
// authorized first if the buyer approved it and it is not yet, then its
// authorization is captured
// (https://developer.paypal.com/docs/api/payments/v2/#authorizations_capture):
// all of it, or opts.Amount as the final capture, so PayPal releases the
// rest. An approved order of intent CAPTURE is captured in full, which is
// all PayPal offers for it (a partial amount is refused with
// payments.ErrInvalidInput), and one already captured, as it is once its
// CHECKOUT.ORDER.APPROVED arrived, reports that capture again without
// asking PayPal. opts.Key is the PayPal-Request-Id, so a retried
// capture gets PayPal's first answer. A completed capture reports its
// charge, keyed by the capture id; a pending one leaves the payment
// authorized until PAYMENT.CAPTURE.COMPLETED. The driver defines no capture
// extension: any opts.Extension is refused with payments.ErrInvalidInput.
func (g *Gateway) Capture(ctx context.Context, p payments.Payment, opts payments.CaptureOptions) (*payments.Changes, error) {
	id := p.GatewayID
	if err := noExtension("capture", id, opts.Extension); err != nil {
		return nil, err
	}
	o, err := g.getOrder(ctx, "capture", id)
	if err != nil {
		return nil, err
	}
	switch o.Intent {
	case "CAPTURE":
		if opts.Amount != nil && len(o.PurchaseUnits) > 0 {
			if total, err := money(o.PurchaseUnits[0].Amount); err != nil || total != *opts.Amount {
				return nil, fmt.Errorf("paypal: capture %s: an order of intent CAPTURE is captured in full; "+
					"check out with manual capture to capture part of it: %w", id, payments.ErrInvalidInput)
			}
		}
		if o.Status == "COMPLETED" {
			// Captured already, most likely when CHECKOUT.ORDER.APPROVED
			// arrived: the same capture again.
			return g.capturedChanges(id, o.captures())
		}
		captured, err := g.captureOrder(ctx, id, opts.Key)
		if err != nil {
			return nil, err
		}
		return g.capturedChanges(id, captured.captures())
	case "AUTHORIZE":
		return g.captureAuthorization(ctx, o, opts)
	}
	return nil, fmt.Errorf("paypal: capture %s: order of intent %q: %w", id, o.Intent, payments.ErrConflict)
}

func (g *Gateway) captureAuthorization(ctx context.Context, o *wireOrder, opts payments.CaptureOptions) (*payments.Changes, error) {
	auth, err := g.authorization(ctx, "capture", o)
	if err != nil {
		return nil, err
	}
	body := &pp.PaymentCaptureRequest{FinalCapture: true}
	if opts.Amount != nil {
		m, err := toPayPal(*opts.Amount)
		if err != nil {
			return nil, err
		}
		body.Amount = &pp.Money{Currency: m.CurrencyCode, Value: m.Value}
	}
	var resp *pp.PaymentCaptureResponse
	err = g.call(func(c *pp.Client) error {
		var err error
		resp, err = c.CaptureAuthorizationWithPaypalRequestId(ctx, auth.ID, body, requestID(opts.Key))
		return err
	})
	if err != nil {
		return nil, wrapAPIError("capture authorization", auth.ID, err)
	}
	cp := wireCapture{ID: resp.ID, Status: resp.Status}
	if resp.Amount != nil {
		cp.Amount = &wireMoney{CurrencyCode: resp.Amount.Currency, Value: resp.Amount.Value}
	}
	return g.capturedChanges(o.ID, []wireCapture{cp})
}

// authorization returns the order's authorization, authorizing the order
// when the buyer has approved it and it has none yet. It prefers one that
// can still be captured or voided.
func (g *Gateway) authorization(ctx context.Context, op string, o *wireOrder) (*wireAuthorization, error) {
	pick := func(o *wireOrder) *wireAuthorization {
		var last *wireAuthorization
		for _, pu := range o.PurchaseUnits {
			for i := range pu.Payments.Authorizations {
				a := &pu.Payments.Authorizations[i]
				switch a.Status {
				case "CREATED", "PARTIALLY_CAPTURED", "PENDING":
					return a
				}
				last = a
			}
		}
		return last
	}
	if a := pick(o); a != nil {
		if !validID(a.ID) {
			return nil, fmt.Errorf("paypal: %s %s: authorization without a valid id: %w", op, o.ID, payments.ErrInvalidInput)
		}
		return a, nil
	}
	if o.Status != "APPROVED" {
		return nil, fmt.Errorf("paypal: %s %s: the order is %s, not approved by the buyer; PayPal lets an order "+
			"nobody approves expire: %w", op, o.ID, o.Status, payments.ErrConflict)
	}
	authorized, err := g.authorizeOrder(ctx, o.ID)
	if err != nil {
		return nil, err
	}
	if a := pick(authorized); a != nil && validID(a.ID) {
		return a, nil
	}
	return nil, fmt.Errorf("paypal: %s %s: the authorization answer names no authorization", op, o.ID)
}

// Cancel implements payments.Canceler by voiding the order's authorization
// (https://developer.paypal.com/docs/api/payments/v2/#authorizations_void),
// after authorizing an approved order that has none yet, so that nothing
// can be captured from it any more. opts.Key is the PayPal-Request-Id; an
// authorization already voided reports the payment canceled without asking
// again. PayPal voids authorizations only: an order of intent CAPTURE, one
// the buyer has not approved (PayPal lets it expire) and one already
// captured (refund it) are refused with payments.ErrConflict. opts.Reason
// is not sent, PayPal takes none; any opts.Extension is refused with
// payments.ErrInvalidInput.
func (g *Gateway) Cancel(ctx context.Context, p payments.Payment, opts payments.CancelOptions) (*payments.Changes, error) {
	id := p.GatewayID
	if err := noExtension("cancel", id, opts.Extension); err != nil {
		return nil, err
	}
	o, err := g.getOrder(ctx, "cancel", id)
	if err != nil {
		return nil, err
	}
	if o.Intent != "AUTHORIZE" {
		return nil, fmt.Errorf("paypal: cancel %s: PayPal voids authorizations only, and this order's intent is %q: %w",
			id, o.Intent, payments.ErrConflict)
	}
	auth, err := g.authorization(ctx, "cancel", o)
	if err != nil {
		return nil, err
	}
	canceled := &payments.Changes{Payments: []payments.PaymentUpdate{{GatewayID: id, Status: payments.StatusCanceled}}}
	switch auth.Status {
	case "VOIDED":
		return canceled, nil
	case "CAPTURED":
		return nil, fmt.Errorf("paypal: cancel %s: authorization %s is captured; refund it: %w", id, auth.ID, payments.ErrConflict)
	}
	// The answer is not read: with return=minimal PayPal answers 204.
	if err := g.send(ctx, http.MethodPost, "/v2/payments/authorizations/"+auth.ID+"/void", opts.Key, nil, nil); err != nil {
		return nil, wrapAPIError("void authorization", auth.ID, err)
	}
	return canceled, nil
}

// noExtension refuses an operation extension where the driver defines
// none: it would be another driver's, and silently dropped.
func noExtension(op, id string, ext any) error {
	if ext == nil {
		return nil
	}
	return fmt.Errorf("paypal: %s %s: extension of type %T is not the paypal driver's: %w", op, id, ext, payments.ErrInvalidInput)
}

// cut shortens s to at most n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}
