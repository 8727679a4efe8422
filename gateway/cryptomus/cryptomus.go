// Package cryptomus is the payments driver for Cryptomus
// (https://doc.cryptomus.com), a crypto payment gateway: the customer pays
// an invoice on Cryptomus's hosted page and Cryptomus reports its progress
// to a webhook.
//
// It talks to the API over net/http with no SDK. Every request is a POST of
// a JSON body signed with md5(base64(body) + API key) in the "sign" header
// (https://doc.cryptomus.com/business/general/request-format); the driver
// marshals a body once and signs and sends those same bytes.
//
// Webhooks carry their signature inside the JSON body. Cryptomus computes
// it over PHP's re-encoding of the body without "sign"
// (json_encode($data, JSON_UNESCAPED_UNICODE): slashes escaped as \/,
// non-ASCII raw, keys in their original order), so ParseWebhook rebuilds
// exactly those bytes from the raw body instead of decoding into a Go map.
// Cryptomus signs no time: a captured notification verifies forever, which
// is why ledger entries are keyed by the invoice and a redelivery records
// nothing twice.
//
// The driver is no payments.WebhookReplier, so a notification that
// verified but that the ledger rejected for good keeps the Service's 400 or
// 409: Cryptomus sends a webhook when an invoice's status changes and
// documents no automatic retries
// (https://doc.cryptomus.com/business/payments/webhook); it resends only
// when asked, at most 10 times an invoice
// (https://doc.cryptomus.com/business/payments/resend-webhook), so a
// refusal brings no storm of retries to spare the endpoint from.
//
// The driver implements payments.Gateway, payments.CheckoutCreator,
// payments.Refunder, payments.HealthChecker, payments.HeaderNamer and
// payments.Reconciler (over the payment history; see ListMoved), plus
// Cryptomus calls with no portable equivalent: PaymentInfo, RefundInvoice,
// ResendWebhook and TestWebhook. It is no payments.Capturer or
// payments.Canceler: an invoice is paid at once or expires. Refunds are of
// whole invoices, asynchronous, and sent to a wallet address the host
// supplies (RefundExtension, MetadataRefundAddress or
// Config.RefundAddress; see Gateway.Refund).
package cryptomus

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/remoteip"
)

// Defaults.
const (
	// DefaultBaseURL is the Cryptomus API.
	DefaultBaseURL = "https://api.cryptomus.com"
	// DefaultName is the gateway name used in ledger keys and webhook paths.
	DefaultName = "cryptomus"
	// DefaultWebhookIP is the address integrations widely cite as
	// Cryptomus's webhook sender; the documentation pages available when
	// this driver was written did not state it. It is used when
	// Config.CheckWebhookIP is set and Config.WebhookIPs is empty.
	DefaultWebhookIP = "91.227.144.54"
	// DefaultHistoryPageInterval is the pause between pages of the payment
	// history. Cryptomus documents no rate limit for it, but refuses pages
	// asked for too fast: pyCryptomusAPI added a one-second delay between
	// pages for that reason (release 0.0.3,
	// https://github.com/Badiboy/pyCryptomusAPI/releases).
	DefaultHistoryPageInterval = time.Second
)

// APIKey names one of a merchant's two Cryptomus API keys. Cryptomus issues
// separate keys for accepting payments and for payouts
// (https://doc.cryptomus.com/business/general/request-format).
type APIKey int

// API keys.
const (
	PaymentAPIKey APIKey = iota
	PayoutAPIKey
)

// String names the key, for messages.
func (k APIKey) String() string {
	if k == PayoutAPIKey {
		return "payout key"
	}
	return "payment key"
}

// OverpaymentPolicy says what a paid_over invoice (the customer sent more
// than asked) records in the ledger.
type OverpaymentPolicy int

// Overpayment policies.
const (
	// ChargeInvoiceAmount records the invoice amount: the customer gets what
	// they ordered, and the excess stays in the merchant's Cryptomus balance
	// for the host to settle. This is the default.
	ChargeInvoiceAmount OverpaymentPolicy = iota
	// ChargePaidAmount records payment_amount, what the customer actually
	// sent, when it is in the invoice currency (payer_currency equals
	// currency) and exceeds the invoice amount; otherwise it falls back to
	// the invoice amount, since converting between currencies is not exact.
	// The charge is flagged as an overpayment (payments.Entry.Overpayment),
	// which the ledger books above the payment's amount, only on paid_over:
	// a paid webhook carrying more than the invoice contradicts its status
	// and is parked for review (payments.ErrMismatch).
	ChargePaidAmount
)

// Config configures a Gateway. MerchantID and PaymentKey are required.
type Config struct {
	// MerchantID is the merchant uuid from the Cryptomus merchant settings,
	// sent in the "merchant" header.
	MerchantID string
	// PaymentKey is the payment API key. It signs invoice calls and verifies
	// payment webhooks.
	PaymentKey string
	// PayoutKey is the payout API key. It is optional: it is needed only
	// when RefundKey is PayoutAPIKey. When set, webhooks signed with it
	// (Cryptomus signs payout notifications with it) also verify.
	PayoutKey string
	// RefundKey selects the key that signs refund calls. Cryptomus's refund
	// page does not say which key it expects
	// (https://doc.cryptomus.com/business/payments/refund); client libraries
	// use the payment key, the default, while a clone of the same API
	// documents the payout key. Switch if refunds fail with "Invalid Sign".
	RefundKey APIKey
	// RefundCommissionFromBalance is sent as is_subtract on refunds: true
	// takes Cryptomus's commission from the merchant balance so the customer
	// gets the full amount; false (the default) takes it from the refund.
	RefundCommissionFromBalance bool
	// RefundAddress tells Refund where to send a payment's refund, since
	// Cryptomus refunds to a wallet address the customer supplies. It is
	// consulted last: when the call carries no RefundExtension address and
	// the payment's metadata has no MetadataRefundAddress.
	RefundAddress func(ctx context.Context, p payments.Payment) (string, error)

	// BaseURL is the API's root (default DefaultBaseURL); tests point it at
	// a fake.
	BaseURL string
	// HTTPClient makes API calls (default: a client with a 30s timeout).
	HTTPClient *http.Client
	// Name is the gateway name (default DefaultName).
	Name string
	// Overpayment is what a paid_over invoice records (default
	// ChargeInvoiceAmount).
	Overpayment OverpaymentPolicy
	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives keys or signatures.
	Logger *slog.Logger

	// CheckWebhookIP rejects webhooks whose sender is not in WebhookIPs.
	// Off by default: the signature is what authenticates a webhook, and
	// the sending address (DefaultWebhookIP) could not be confirmed on
	// Cryptomus's own pages, so a change there would drop payments.
	CheckWebhookIP bool
	// WebhookIPs are the allowed senders when CheckWebhookIP is set
	// (default: DefaultWebhookIP alone).
	WebhookIPs []netip.Prefix
	// TrustedProxies are the reverse proxies in front of the host. The
	// X-Forwarded-For header is believed only when the request came from
	// one of them, and only up to the first address that is not one of
	// them. Empty means the header is ignored.
	TrustedProxies []netip.Prefix

	// Lifetime is how long an invoice can be paid (lifetime; Cryptomus
	// accepts 5 minutes to 12 hours and defaults to 1 hour when zero).
	Lifetime time.Duration
	// CallbackURL is where Cryptomus sends webhooks for invoices this driver
	// creates (url_callback). Without it no webhooks are sent.
	CallbackURL string
	// ReturnURL is the "back to the shop" link on the payment page
	// (url_return), used when a checkout gives no CancelURL.
	ReturnURL string
	// SuccessURL is the link shown after a successful payment
	// (url_success), used when a checkout gives no ReturnURL.
	SuccessURL string

	// HistoryPageInterval is the pause between two pages of the payment
	// history that ListMoved reads (default DefaultHistoryPageInterval;
	// negative for none).
	HistoryPageInterval time.Duration
}

// Gateway is the Cryptomus driver. It is safe for concurrent use.
type Gateway struct {
	cfg     Config
	baseURL string
	client  *http.Client
	log     *slog.Logger
	senders remoteip.Allowlist
}

// Compile-time proof of the powers the driver has.
var (
	_ payments.Gateway         = (*Gateway)(nil)
	_ payments.CheckoutCreator = (*Gateway)(nil)
	_ payments.Refunder        = (*Gateway)(nil)
	_ payments.HealthChecker   = (*Gateway)(nil)
	_ payments.HeaderNamer     = (*Gateway)(nil)
	_ payments.Reconciler      = (*Gateway)(nil)
)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("cryptomus: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	if cfg.MerchantID == "" || cfg.PaymentKey == "" {
		return invalid("MerchantID and PaymentKey are required")
	}
	if cfg.RefundKey != PaymentAPIKey && cfg.RefundKey != PayoutAPIKey {
		return invalid("unknown RefundKey %d", cfg.RefundKey)
	}
	if cfg.RefundKey == PayoutAPIKey && cfg.PayoutKey == "" {
		return invalid("RefundKey is the payout key but PayoutKey is empty")
	}
	if cfg.Overpayment != ChargeInvoiceAmount && cfg.Overpayment != ChargePaidAmount {
		return invalid("unknown Overpayment policy %d", cfg.Overpayment)
	}
	if cfg.Lifetime != 0 && (cfg.Lifetime < 5*time.Minute || cfg.Lifetime > 12*time.Hour) {
		return invalid("Lifetime %s is outside 5m..12h", cfg.Lifetime)
	}
	g := &Gateway{cfg: cfg, baseURL: strings.TrimRight(cfg.BaseURL, "/"), client: cfg.HTTPClient, log: cfg.Logger}
	if g.cfg.Name == "" {
		g.cfg.Name = DefaultName
	}
	if g.cfg.HistoryPageInterval == 0 {
		g.cfg.HistoryPageInterval = DefaultHistoryPageInterval
	}
	if g.baseURL == "" {
		g.baseURL = DefaultBaseURL
	}
	if u, err := url.Parse(g.baseURL); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return invalid("BaseURL %q is not an http(s) URL", cfg.BaseURL)
	}
	if g.client == nil {
		g.client = &http.Client{Timeout: 30 * time.Second}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.senders = remoteip.Allowlist{Allowed: cfg.WebhookIPs, TrustedProxies: cfg.TrustedProxies}
	if cfg.CheckWebhookIP && len(g.senders.Allowed) == 0 {
		g.senders.Allowed = remoteip.MustPrefixes(DefaultWebhookIP)
	}
	return g, nil
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.cfg.Name }

// WebhookHeaders implements payments.HeaderNamer: X-Forwarded-For is kept
// in the journal when the sender's address is checked behind trusted
// proxies, so that a replay checks the same address.
func (g *Gateway) WebhookHeaders() []string {
	if g.cfg.CheckWebhookIP && len(g.cfg.TrustedProxies) > 0 {
		return []string{"X-Forwarded-For"}
	}
	return nil
}

func (g *Gateway) key(k APIKey) string {
	if k == PayoutAPIKey {
		return g.cfg.PayoutKey
	}
	return g.cfg.PaymentKey
}
