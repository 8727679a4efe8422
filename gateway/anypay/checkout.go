package anypay

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/payrail/payments"
)

// maxDescription is how long a desc Anypay takes, in characters.
const maxDescription = 150

// CreateCheckout implements payments.CheckoutCreator. It builds Anypay's
// payment link: MerchantURL with merchant_id, pay_id (the library's
// payment id, which the notification echoes), amount in the currency's
// precision, currency, desc (the description or "Payment <id>", cut to
// Anypay's 150 characters), success_url and fail_url (the checkout's
// ReturnURL and CancelURL, else the Config's, omitted when neither), lang,
// and sign (FormSign, or FormSignMD5 under Config.SignMD5) over exactly
// what the link carries. The link is RedirectURL; a host that prefers a
// form can POST the same fields (they are its query) to MerchantURL.
// Nothing is sent to Anypay until the customer opens the page, so this
// never fails for a reason of Anypay's, and ctx is unused.
//
// Checkout.GatewayID is pay_id: Anypay numbers the payment (its
// transaction_id) only when it is made, and the notification names it by
// pay_id, which is how it finds this payment.
func (g *Gateway) CreateCheckout(_ context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	if req.PaymentID == "" || !safePayID(req.PaymentID) {
		return nil, fmt.Errorf("anypay: checkout needs the library's payment id as pay_id, got %q: %w", req.PaymentID, payments.ErrInvalidInput)
	}
	if req.Capture == payments.CaptureManual {
		return nil, fmt.Errorf("anypay: Anypay takes payments at once, not for a later capture: %w", payments.ErrNotSupported)
	}
	if _, ok := req.Amount.Currency.Exponent(); !ok || req.Amount.Amount <= 0 {
		return nil, fmt.Errorf("anypay: amount %s must be positive in a known currency: %w", req.Amount, payments.ErrInvalidInput)
	}
	amount, currency := req.Amount.Decimal(), string(req.Amount.Currency)
	desc := req.Description
	if desc == "" {
		desc = "Payment " + req.PaymentID
	}
	desc = cut(desc, maxDescription)
	success, fail := or(req.ReturnURL, g.cfg.SuccessURL), or(req.CancelURL, g.cfg.FailURL)
	for _, u := range []string{success, fail} {
		if u != "" && !isHTTPURL(u) {
			return nil, fmt.Errorf("anypay: return URL %q is not an http(s) URL: %w", u, payments.ErrInvalidInput)
		}
	}
	q := url.Values{
		"merchant_id": {g.cfg.MerchantID}, "pay_id": {req.PaymentID},
		"amount": {amount}, "currency": {currency}, "desc": {desc},
	}
	if success != "" {
		q.Set("success_url", success)
	}
	if fail != "" {
		q.Set("fail_url", fail)
	}
	if g.cfg.SignMD5 {
		q.Set("sign", FormSignMD5(currency, amount, g.cfg.SecretKey, g.cfg.MerchantID, req.PaymentID))
	} else {
		q.Set("sign", FormSign(g.cfg.MerchantID, req.PaymentID, amount, currency, desc, success, fail, g.cfg.SecretKey))
	}
	if g.cfg.Language != "" {
		q.Set("lang", g.cfg.Language)
	}
	u := *g.merchantURL
	u.RawQuery = q.Encode()
	return &payments.Checkout{GatewayID: req.PaymentID, Status: payments.StatusPending, RedirectURL: u.String()}, nil
}

// cut shortens s to at most n characters.
func cut(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	return string([]rune(s)[:n])
}

// safePayID reports whether an id may serve as pay_id: up to 64 letters,
// digits, '_', '-' and '.', nothing the ':'-joined signature or a URL
// would read otherwise.
func safePayID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	return strings.IndexFunc(s, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.')
	}) < 0
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
