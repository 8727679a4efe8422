package paypal

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// The shapes the driver reads, from API answers and from webhook
// resources alike: Orders v2 and Payments v2 objects
// (https://developer.paypal.com/docs/api/orders/v2/,
// https://developer.paypal.com/docs/api/payments/v2/). plutov's types lack
// supplementary_data, seller_payable_breakdown and disputes, so the driver
// keeps these few of its own.

type wireMoney struct {
	CurrencyCode string `json:"currency_code"`
	Value        string `json:"value"`
	// Currency and Total are the Payments v1 (REST "payments") names: a
	// resource that has them is of the older API, which the driver does
	// not act on.
	Currency string `json:"currency,omitempty"`
	Total    string `json:"total,omitempty"`
}

type wireLink struct {
	Href string `json:"href"`
	Rel  string `json:"rel"`
}

type wireRelatedIDs struct {
	OrderID         string `json:"order_id"`
	AuthorizationID string `json:"authorization_id"`
	CaptureID       string `json:"capture_id"`
}

type wireSupplementary struct {
	RelatedIDs wireRelatedIDs `json:"related_ids"`
}

type wireOrder struct {
	ID            string             `json:"id"`
	Intent        string             `json:"intent"`
	Status        string             `json:"status"`
	PurchaseUnits []wirePurchaseUnit `json:"purchase_units"`
	Links         []wireLink         `json:"links"`
}

type wirePurchaseUnit struct {
	Amount    *wireMoney `json:"amount"`
	CustomID  string     `json:"custom_id"`
	InvoiceID string     `json:"invoice_id"`
	Payments  struct {
		Authorizations []wireAuthorization `json:"authorizations"`
		Captures       []wireCapture       `json:"captures"`
	} `json:"payments"`
}

type wireAuthorization struct {
	ID                string            `json:"id"`
	Status            string            `json:"status"`
	Amount            *wireMoney        `json:"amount"`
	CustomID          string            `json:"custom_id"`
	InvoiceID         string            `json:"invoice_id"`
	ExpirationTime    string            `json:"expiration_time"`
	SupplementaryData wireSupplementary `json:"supplementary_data"`
	Links             []wireLink        `json:"links"`
}

type wireCapture struct {
	ID                string            `json:"id"`
	Status            string            `json:"status"`
	Amount            *wireMoney        `json:"amount"`
	CustomID          string            `json:"custom_id"`
	InvoiceID         string            `json:"invoice_id"`
	CreateTime        string            `json:"create_time"`
	SupplementaryData wireSupplementary `json:"supplementary_data"`
	Links             []wireLink        `json:"links"`
}

// wireRefund is a refund, and a reversal (PAYMENT.CAPTURE.REVERSED), which
// PayPal reports in the refund's shape.
type wireRefund struct {
	ID         string     `json:"id"`
	Status     string     `json:"status"`
	Amount     *wireMoney `json:"amount"`
	CustomID   string     `json:"custom_id"`
	InvoiceID  string     `json:"invoice_id"`
	CreateTime string     `json:"create_time"`
	Links      []wireLink `json:"links"`
}

type wireDispute struct {
	DisputeID            string `json:"dispute_id"`
	Status               string `json:"status"`
	DisputedTransactions []struct {
		SellerTransactionID string `json:"seller_transaction_id"`
		Custom              string `json:"custom"`
	} `json:"disputed_transactions"`
	DisputeOutcome struct {
		OutcomeCode string `json:"outcome_code"`
	} `json:"dispute_outcome"`
}

// errV1 marks a resource of PayPal's older Payments v1 API.
var errV1 = errors.New("a Payments v1 resource")

// money parses a PayPal amount exactly, by its currency's exponent:
// "10.50" USD is 1050, "1000" JPY is 1000, "1000" HUF is 100000 (PayPal
// sends HUF and TWD whole). PayPal's pattern allows ".5", read as "0.5"; a
// sign is dropped, since the event, not the sign, says which way money
// moved. More digits than the currency has is an error, never a rounding.
func money(m *wireMoney) (payments.Money, error) {
	if m == nil || m.Value == "" {
		if m != nil && m.Total != "" {
			return payments.Money{}, errV1
		}
		return payments.Money{}, fmt.Errorf("no amount: %w", payments.ErrInvalidInput)
	}
	v := strings.TrimPrefix(m.Value, "-")
	if strings.HasPrefix(v, ".") {
		v = "0" + v
	}
	out, err := payments.ParseMoney(v, m.CurrencyCode)
	if err != nil {
		return payments.Money{}, err
	}
	if out.Amount == 0 {
		return payments.Money{}, fmt.Errorf("amount %s is zero: %w", out, payments.ErrInvalidInput)
	}
	return out, nil
}

// wholeCurrencies are those PayPal takes without decimals although ISO 4217
// gives them two (https://developer.paypal.com/api/rest/reference/currency-codes/).
var wholeCurrencies = map[payments.Currency]bool{"HUF": true, "TWD": true}

// toPayPal formats an amount as PayPal takes it.
func toPayPal(m payments.Money) (*wireMoney, error) {
	if _, ok := m.Currency.Exponent(); !ok || m.Amount <= 0 {
		return nil, fmt.Errorf("paypal: amount %s must be positive in a known currency: %w", m, payments.ErrInvalidInput)
	}
	value := m.Decimal()
	if wholeCurrencies[m.Currency] {
		if m.Amount%100 != 0 {
			return nil, fmt.Errorf("paypal: PayPal takes %s in whole units only, not %s: %w", m.Currency, m, payments.ErrInvalidInput)
		}
		value = strings.TrimSuffix(value, ".00")
	}
	return &wireMoney{CurrencyCode: string(m.Currency), Value: value}, nil
}

// linkedID returns the id that the "up" link names under prefix
// ("/v2/checkout/orders/"), or "".
func linkedID(links []wireLink, prefix string) string {
	for _, l := range links {
		if l.Rel != "up" {
			continue
		}
		u, err := url.Parse(l.Href)
		if err != nil {
			continue
		}
		if id, ok := strings.CutPrefix(u.Path, prefix); ok && validID(id) {
			return id
		}
	}
	return ""
}

// approveLink is where the buyer approves an order: rel "approve", or
// "payer-action" for orders made with payment_source.paypal.
func approveLink(links []wireLink) string {
	for _, rel := range []string{"approve", "payer-action"} {
		for _, l := range links {
			if l.Rel == rel {
				return l.Href
			}
		}
	}
	return ""
}

// parseTime reads PayPal's Internet date-time; the zero time when it is
// absent or malformed (only a timestamp of the entry depends on it).
func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}
	}
	return t.UTC()
}

// parseCustomID reads a custom_id: the library's payment id ("pay_" and 32
// hex digits, set by CreateCheckout and Refund) or an account for an order
// made elsewhere (CustomIDAccountPrefix). Anything else names neither.
func parseCustomID(s string) (paymentID, account string) {
	if rest, ok := strings.CutPrefix(s, CustomIDAccountPrefix); ok {
		return "", strings.TrimSpace(rest)
	}
	if payments.IsPaymentID(s) {
		return s, ""
	}
	return "", ""
}

// decodeResource decodes an event's resource into v, refusing a body that
// is not an object of that shape.
func decodeResource(raw json.RawMessage, what string, v any) error {
	if len(raw) == 0 || raw[0] != '{' {
		return fmt.Errorf("resource is not a %s object: %w", what, payments.ErrInvalidInput)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("decode %s: %v: %w", what, err, payments.ErrInvalidInput)
	}
	return nil
}
