package cryptomus

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// checkoutData is what CreateCheckout puts in an invoice's additional_data,
// which Cryptomus echoes in every webhook of the invoice: the account and
// reference, so that a notification can be attributed even before (or
// without) the stored payment.
type checkoutData struct {
	Account   string `json:"account,omitempty"`
	Reference string `json:"reference,omitempty"`
}

type createInvoiceRequest struct {
	Amount         string `json:"amount"`
	Currency       string `json:"currency"`
	OrderID        string `json:"order_id"`
	URLReturn      string `json:"url_return,omitempty"`
	URLSuccess     string `json:"url_success,omitempty"`
	URLCallback    string `json:"url_callback,omitempty"`
	Lifetime       int    `json:"lifetime,omitempty"`
	AdditionalData string `json:"additional_data,omitempty"`
}

// CreateCheckout implements payments.CheckoutCreator: it creates an invoice
// (https://doc.cryptomus.com/business/payments/creating-invoice) and
// returns its payment page as RedirectURL and its uuid as GatewayID.
//
// The invoice's order_id is the library's payment id (req.PaymentID), or,
// when the driver is called without a Service, the reference with every
// character outside [A-Za-z0-9_-] replaced by '_'. Cryptomus keeps order_id
// unique per merchant and answers a repeated one with the existing invoice,
// so a retried checkout never creates a second invoice (and an order_id
// reused for another amount is ErrConflict). The account and
// reference travel in additional_data; Description and Metadata are not
// sent, as an invoice has no field for them. Cryptomus captures
// immediately: CaptureManual is ErrNotSupported.
func (g *Gateway) CreateCheckout(ctx context.Context, req payments.CheckoutRequest) (*payments.Checkout, error) {
	if req.Capture == payments.CaptureManual {
		return nil, fmt.Errorf("cryptomus: invoices cannot be captured later: %w", payments.ErrNotSupported)
	}
	if _, ok := req.Amount.Currency.Exponent(); !ok || req.Amount.Amount <= 0 {
		return nil, fmt.Errorf("cryptomus: checkout amount %s must be positive in a known currency: %w", req.Amount, payments.ErrInvalidInput)
	}
	orderID := orderIDFor(req)
	if orderID == "" {
		return nil, fmt.Errorf("cryptomus: checkout needs a payment id or a reference for order_id: %w", payments.ErrInvalidInput)
	}
	body := createInvoiceRequest{
		Amount:      req.Amount.Decimal(),
		Currency:    string(req.Amount.Currency),
		OrderID:     orderID,
		URLReturn:   firstNonEmpty(req.CancelURL, g.cfg.ReturnURL),
		URLSuccess:  firstNonEmpty(req.ReturnURL, g.cfg.SuccessURL),
		URLCallback: g.cfg.CallbackURL,
		Lifetime:    int(g.cfg.Lifetime / time.Second),
	}
	if req.Account != "" || req.Reference != "" {
		data, err := json.Marshal(checkoutData{Account: req.Account, Reference: req.Reference})
		if err != nil {
			return nil, fmt.Errorf("cryptomus: encode additional_data: %w", err)
		}
		body.AdditionalData = string(data)
	}
	var inv invoiceWire
	if err := g.call(ctx, "create invoice "+orderID, "/v1/payment", PaymentAPIKey, body, &inv); err != nil {
		return nil, err
	}
	if inv.UUID == "" || deref(inv.URL) == "" {
		return nil, fmt.Errorf("cryptomus: create invoice %s: answer without uuid or url", orderID)
	}
	// A reused order_id returns the invoice created first, whatever it asks.
	if got, err := inv.invoice().Money(); err == nil && got != req.Amount {
		return nil, fmt.Errorf("cryptomus: order_id %s already names invoice %s for %s, not %s: %w",
			orderID, inv.UUID, got, req.Amount, payments.ErrConflict)
	}
	return &payments.Checkout{GatewayID: inv.UUID, Status: payments.StatusPending, RedirectURL: deref(inv.URL)}, nil
}

// orderIDFor picks the invoice's order_id (1 to 128 of [A-Za-z0-9_-]).
func orderIDFor(req payments.CheckoutRequest) string {
	id := req.PaymentID
	if id == "" {
		id = strings.Map(func(r rune) rune {
			if r == '_' || r == '-' || (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
				return r
			}
			return '_'
		}, req.Reference)
	}
	if len(id) > 128 {
		return ""
	}
	return id
}

func firstNonEmpty(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

// InvoiceRef names an invoice by its uuid or by its order_id; set one.
// When both are set Cryptomus picks one by rules that differ per call.
type InvoiceRef struct {
	UUID    string `json:"uuid,omitempty"`
	OrderID string `json:"order_id,omitempty"`
}

func (r InvoiceRef) String() string { return firstNonEmpty(r.UUID, r.OrderID) }

func (r InvoiceRef) check(op string) error {
	if r.UUID == "" && r.OrderID == "" {
		return fmt.Errorf("cryptomus: %s: an invoice uuid or order_id is required: %w", op, payments.ErrInvalidInput)
	}
	return nil
}

// Invoice is a Cryptomus invoice as PaymentInfo reports it. Amounts are
// the decimal strings Cryptomus sent; null fields are empty.
type Invoice struct {
	UUID    string
	OrderID string
	// Amount is the invoice amount in Currency (see Money).
	Amount   string
	Currency string
	// PaymentAmount is what the customer has paid, in PayerCurrency;
	// PayerAmount what they were asked to pay in it.
	PaymentAmount  string
	PayerAmount    string
	PayerCurrency  string
	MerchantAmount string
	Network        string
	Address        string
	From           string
	TxID           string
	// Status is Cryptomus's status (paid, check, cancel, …); see
	// MappedStatus for the library's. PaymentStatus is payment_status,
	// which Cryptomus also sends and which can lag Status.
	Status         string
	PaymentStatus  string
	IsFinal        bool
	URL            string
	ExpiresAt      time.Time
	AdditionalData string
	CreatedAt      time.Time
	UpdatedAt      time.Time
}

// Money parses Amount exactly in Currency.
func (inv *Invoice) Money() (payments.Money, error) {
	m, err := payments.ParseMoney(inv.Amount, inv.Currency)
	if err != nil {
		return payments.Money{}, fmt.Errorf("cryptomus: invoice %s: %w", inv.UUID, err)
	}
	return m, nil
}

// MappedStatus maps Status to the library's status as ParseWebhook does;
// "" means the status moves nothing (a refund in progress, funds locked,
// an unknown status).
func (inv *Invoice) MappedStatus() payments.Status {
	rule, _ := ruleFor(inv.Status)
	return rule.status
}

// invoiceWire is an invoice as the API sends it
// (https://doc.cryptomus.com/business/payments/payment-information).
type invoiceWire struct {
	UUID           string  `json:"uuid"`
	OrderID        *string `json:"order_id"`
	Amount         decimal `json:"amount"`
	Currency       *string `json:"currency"`
	PaymentAmount  decimal `json:"payment_amount"`
	PayerAmount    decimal `json:"payer_amount"`
	PayerCurrency  *string `json:"payer_currency"`
	MerchantAmount decimal `json:"merchant_amount"`
	Network        *string `json:"network"`
	Address        *string `json:"address"`
	From           *string `json:"from"`
	TxID           *string `json:"txid"`
	Status         *string `json:"status"`
	PaymentStatus  *string `json:"payment_status"`
	IsFinal        bool    `json:"is_final"`
	URL            *string `json:"url"`
	ExpiredAt      decimal `json:"expired_at"`
	AdditionalData *string `json:"additional_data"`
	CreatedAt      *string `json:"created_at"`
	UpdatedAt      *string `json:"updated_at"`
}

func (w *invoiceWire) invoice() *Invoice {
	inv := &Invoice{
		UUID: w.UUID, OrderID: deref(w.OrderID), Amount: string(w.Amount), Currency: deref(w.Currency),
		PaymentAmount: string(w.PaymentAmount), PayerAmount: string(w.PayerAmount),
		PayerCurrency: deref(w.PayerCurrency), MerchantAmount: string(w.MerchantAmount),
		Network: deref(w.Network), Address: deref(w.Address), From: deref(w.From), TxID: deref(w.TxID),
		Status: deref(w.Status), PaymentStatus: deref(w.PaymentStatus), IsFinal: w.IsFinal, URL: deref(w.URL), AdditionalData: deref(w.AdditionalData),
	}
	if sec, err := strconv.ParseInt(string(w.ExpiredAt), 10, 64); err == nil {
		inv.ExpiresAt = time.Unix(sec, 0)
	}
	inv.CreatedAt, _ = time.Parse(time.RFC3339, deref(w.CreatedAt))
	inv.UpdatedAt, _ = time.Parse(time.RFC3339, deref(w.UpdatedAt))
	return inv
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// PaymentInfo fetches an invoice
// (https://doc.cryptomus.com/business/payments/payment-information). A host
// that wants a second source before acting on a webhook can compare it
// with this. An unknown invoice is an *APIError wrapping
// payments.ErrInvalidInput, as Cryptomus answers it with HTTP 422.
func (g *Gateway) PaymentInfo(ctx context.Context, ref InvoiceRef) (*Invoice, error) {
	op := "payment info " + ref.String()
	if err := ref.check(op); err != nil {
		return nil, err
	}
	var w invoiceWire
	if err := g.call(ctx, op, "/v1/payment/info", PaymentAPIKey, ref, &w); err != nil {
		return nil, err
	}
	return w.invoice(), nil
}

// ResendWebhook asks Cryptomus to send an invoice's last webhook again
// (https://doc.cryptomus.com/business/payments/resend-webhook). Cryptomus
// resends only for finalized invoices (paid, paid_over, wrong_amount) that
// were created with a callback URL, at most 10 times.
func (g *Gateway) ResendWebhook(ctx context.Context, ref InvoiceRef) error {
	op := "resend webhook " + ref.String()
	if err := ref.check(op); err != nil {
		return err
	}
	return g.call(ctx, op, "/v1/payment/resend", PaymentAPIKey, ref, nil)
}

// TestWebhookRequest asks for a test payment webhook.
type TestWebhookRequest struct {
	// CallbackURL receives the webhook (default Config.CallbackURL).
	CallbackURL string `json:"url_callback"`
	// Currency and Network are the invoice's currency and network codes
	// ("USDT", "tron"); both are required by Cryptomus.
	Currency string `json:"currency"`
	Network  string `json:"network"`
	// UUID or OrderID name an existing invoice; without them Cryptomus
	// makes one up.
	UUID    string `json:"uuid,omitempty"`
	OrderID string `json:"order_id,omitempty"`
	// Status is the status to report (default "paid").
	Status string `json:"status"`
}

// TestWebhook asks Cryptomus to send a test webhook, signed with the
// payment key like a real one
// (https://doc.cryptomus.com/business/payments/testing-webhook). Nothing is
// saved at Cryptomus, but the webhook itself is authentic: a host's handler
// records what it says, so point it at a test ledger.
func (g *Gateway) TestWebhook(ctx context.Context, req TestWebhookRequest) error {
	req.CallbackURL = firstNonEmpty(req.CallbackURL, g.cfg.CallbackURL)
	req.Status = firstNonEmpty(req.Status, "paid")
	if req.CallbackURL == "" || req.Currency == "" || req.Network == "" {
		return fmt.Errorf("cryptomus: test webhook needs a callback URL, currency and network: %w", payments.ErrInvalidInput)
	}
	return g.call(ctx, "test webhook", "/v1/test-webhook/payment", PaymentAPIKey, req, nil)
}

// CheckHealth implements payments.HealthChecker with the list of payment
// services (POST /v1/payment/services), a read-only call that needs a
// valid merchant id and payment key. The payout key is not checked.
func (g *Gateway) CheckHealth(ctx context.Context) error {
	return g.call(ctx, "health check", "/v1/payment/services", PaymentAPIKey, struct{}{}, nil)
}
