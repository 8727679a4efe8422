package payeer

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	"github.com/payrail/payments"
)

// CreateCheckout implements payments.CheckoutCreator. It builds Payeer's
// payment form and returns it as a redirect: RedirectURL is MerchantURL
// with the signed fields in its query, which Payeer accepts as it accepts
// the form posted (its Bitrix module submits the same form with GET). A
// host that prefers to POST can send the same fields as hidden inputs:
// they are RedirectURL's query.
//
// The fields are m_shop; m_orderid, the library's payment id, which Payeer
// echoes in the callback; m_amount with exactly two decimals (an amount
// that has more, 0.001 BTC say, is refused rather than rounded); m_curr;
// m_desc, the description (or "Payment <id>") in base64; and, with
// Config.ParamsKey, m_params and m_cipher_method (see EncryptParams) with
// the success, fail and status URLs and a reference of the account and the
// host's reference, which Payeer returns with the callback; then m_sign
// over them all (see Sign).
// Nothing is sent to Payeer until the customer opens the page, so this
// never fails for a reason of Payeer's, and ctx is unused.
//
// Checkout.GatewayID is m_orderid: Payeer gives the payment its own
// number (m_operation_id) only in the callback, and the callback names the
// order by m_orderid, which is how it finds this payment.
func (g *Gateway) CreateCheckout(_ context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	if req.PaymentID == "" || !safeOrderID(req.PaymentID) {
		return nil, fmt.Errorf("payeer: checkout needs the library's payment id as m_orderid, got %q: %w", req.PaymentID, payments.ErrInvalidInput)
	}
	if req.Capture == payments.CaptureManual {
		return nil, fmt.Errorf("payeer: Payeer takes payments at once, not for a later capture: %w", payments.ErrNotSupported)
	}
	amount, err := twoDecimals(req.Amount)
	if err != nil {
		return nil, err
	}
	desc := req.Description
	if desc == "" {
		desc = "Payment " + req.PaymentID
	}
	values := []string{
		g.cfg.ShopID, req.PaymentID, amount, string(req.Amount.Currency),
		base64.StdEncoding.EncodeToString([]byte(desc)),
	}
	q := url.Values{}
	for i, name := range formFields {
		q.Set(name, values[i])
	}
	if params, ok, err := g.params(req); err != nil {
		return nil, err
	} else if ok {
		q.Set("m_params", params)
		q.Set("m_cipher_method", CipherMethod)
		values = append(values, params)
	}
	q.Set("m_sign", Sign(g.cfg.SecretKey, values...))
	if g.cfg.Language != "" {
		q.Set("lang", g.cfg.Language)
	}
	u := *g.merchantURL
	u.RawQuery = q.Encode()
	return &payments.Checkout{GatewayID: req.PaymentID, Status: payments.StatusPending, RedirectURL: u.String()}, nil
}

// checkoutParams are the additional parameters m_params carries, with the
// keys Payeer's documentation gives them (rest-api/en.md, "Array of data
// of additional parameters"): the URLs, and reference, "an array of
// additional fields that must be returned to the payment processor" —
// the account and the host's reference, which the callback brings back.
type checkoutParams struct {
	SuccessURL string            `json:"success_url,omitempty"`
	FailURL    string            `json:"fail_url,omitempty"`
	StatusURL  string            `json:"status_url,omitempty"`
	Reference  map[string]string `json:"reference,omitempty"`
}

// params returns the encrypted m_params, and whether there is one: there
// is whenever Config.ParamsKey is set.
func (g *Gateway) params(req payments.CheckoutRequest) (string, bool, error) {
	if g.cfg.ParamsKey == "" {
		return "", false, nil
	}
	p := checkoutParams{SuccessURL: or(req.ReturnURL, g.cfg.SuccessURL), FailURL: or(req.CancelURL, g.cfg.FailURL), StatusURL: g.cfg.StatusURL}
	for _, u := range []string{p.SuccessURL, p.FailURL} {
		if u != "" && !isHTTPURL(u) {
			return "", false, fmt.Errorf("payeer: return URL %q is not an http(s) URL: %w", u, payments.ErrInvalidInput)
		}
	}
	p.Reference = map[string]string{referenceAccount: req.Account}
	if req.Reference != "" {
		p.Reference[referenceReference] = req.Reference
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Payeer decodes JSON; HTML escapes would only lengthen it
	if err := enc.Encode(p); err != nil {
		return "", false, fmt.Errorf("payeer: encode m_params: %w", err)
	}
	return EncryptParams(g.cfg.ParamsKey, req.PaymentID, bytes.TrimRight(buf.Bytes(), "\n")), true, nil
}

// The keys of m_params' reference the driver writes and reads back.
const (
	referenceAccount   = "account"
	referenceReference = "reference"
)

// twoDecimals writes m with exactly two decimals, as m_amount must be
// (PHP's number_format with two decimals in Payeer's modules): JPY 100 is
// "100.00", KWD 1.500 is "1.50", and KWD 1.505 is refused, never rounded.
func twoDecimals(m payments.Money) (string, error) {
	exp, ok := m.Currency.Exponent()
	if !ok || m.Amount <= 0 {
		return "", fmt.Errorf("payeer: amount %s must be positive in a known currency: %w", m, payments.ErrInvalidInput)
	}
	d := m.Decimal()
	switch {
	case exp == 0:
		return d + ".00", nil
	case exp == 1:
		return d + "0", nil
	case exp == 2:
		return d, nil
	}
	whole, frac, _ := strings.Cut(d, ".")
	if strings.Trim(frac[2:], "0") != "" {
		return "", fmt.Errorf("payeer: amount %s has more than the two decimals m_amount carries: %w", m, payments.ErrInvalidInput)
	}
	return whole + "." + frac[:2], nil
}

func or(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
