// Package stripe is the payments driver for Stripe (https://docs.stripe.com),
// built on stripe-go v76, which speaks Stripe API version 2023-10-16.
//
// Payments are PaymentIntents. CreateCheckout creates one with the library's
// account, reference and payment id in its metadata (MetadataAccount,
// MetadataReference, MetadataPaymentID), which is how notifications are
// matched back to payments and accounts — or, with Config.HostedCheckout and
// a return URL, a hosted Checkout Session whose PaymentIntent carries the
// same metadata (see CreateCheckout). Capture, Cancel and Refund act on the
// PaymentIntent, each sending the Service's idempotency key as Stripe's
// Idempotency-Key so that a retried call is Stripe's first answer, and
// refusing any operation extension (the driver defines none); CheckHealth
// reads the balance. Every call goes through a client that belongs to this
// Gateway — never stripe-go's global key or backend — so two Gateways with
// different keys (two Stripe accounts, or test and live mode) work side by
// side in one process.
//
// Webhooks are verified with stripe-go's webhook package against every
// configured signing secret (several during a rotation), within a time
// tolerance. Events must be rendered for API version 2023-10-16: Stripe
// renders each event for the API version of the webhook endpoint it is sent
// to, and the structs that decode them are generated for that version (see
// Config.IgnoreAPIVersionMismatch). ParseWebhook calls Stripe's API for
// four things only: to itemize a charge.refunded event's refunds (by
// default whenever the Gateway has a key), to read a Checkout Session's
// PaymentIntent, to read the charge of a payment_intent.succeeded event
// for its settlement figures (by default whenever the Gateway has a key;
// see Config.DisableSettlementLookup), and, with Config.CaptureAfterReview,
// to capture or cancel authorizations as Radar reviews allow (see
// Config.CaptureAfterReview).
//
// With a key, a charge entry carries Stripe's own settlement figures
// (payments.Entry.Settlement, Source SettlementSource): the gross amount of
// the charge's balance transaction, in the account's settlement currency,
// and the rate derived exactly from it, which a Service settling in that
// currency keeps instead of asking its RateSource. Capture's answer and
// the driver's own reads carry them at no extra call; a
// payment_intent.succeeded event costs one read of its charge. Refunds,
// chargebacks and reversals carry none: the Service converts them at their
// charge's rate. See SettlementSource for when the figures are left out.
//
// The ledger is keyed so that every path that reports the same money yields
// the same entry: a charge is keyed by its PaymentIntent id, a refund by its
// refund id, a chargeback and its reversal by the dispute id. A Capture's
// answer, a capture made for CaptureAfterReview, a Checkout Session's
// completion and the payment_intent.succeeded event that follows any of
// them are one entry; a refund seen through Refund, refund.updated and
// charge.refunded is one entry.
//
// The driver implements payments.Gateway, payments.HeaderNamer,
// payments.CheckoutCreator, payments.Capturer, payments.Canceler,
// payments.Refunder, payments.HealthChecker, payments.Reconciler (listing
// the intents, refunds and disputes created since a cursor; see
// Gateway.ListMoved) and payments.WebhookReplier, which acknowledges events
// the ledger rejected for good, so that Stripe does not retry them for days
// (see Gateway.WebhookReply).
//
// Stripe reports no overpayment, so the driver never sets
// payments.Entry.Overpayment: a charge above its payment's amount (an
// overcapture made outside the driver) is parked for review, as is one in
// another currency.
package stripe

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
)

// Defaults and the names the driver shares with Stripe.
const (
	// DefaultName is the gateway name used in ledger keys and webhook paths.
	DefaultName = "stripe"
	// DefaultTolerance is how far a webhook signature's time may be from
	// now, stripe-go's own default (https://docs.stripe.com/webhooks).
	DefaultTolerance = webhook.DefaultTolerance
	// APIVersion is the Stripe API version the driver speaks and expects
	// webhook events to be rendered for: stripe-go v76's.
	APIVersion = stripego.APIVersion
	// SignatureHeader carries Stripe's webhook signature
	// (https://docs.stripe.com/webhooks).
	SignatureHeader = "Stripe-Signature"
)

// PaymentIntent metadata keys the driver writes at checkout and reads from
// notifications. A host that creates PaymentIntents itself (Stripe Checkout,
// Payment Links, its own code) sets MetadataAccount so that their
// notifications are credited to the right account; without it a payment the
// Service does not know is parked for the host to attribute.
const (
	MetadataAccount   = "payments_account"
	MetadataReference = "payments_reference"
	MetadataPaymentID = "payments_payment_id"
	// MetadataReason keeps a refund reason that is not one of Stripe's
	// enumerated ones (duplicate, fraudulent, requested_by_customer).
	MetadataReason = "payments_reason"
)

// Config configures a Gateway. WebhookSecrets is required; SecretKey is
// required for everything but webhooks.
//
// The API calls a Gateway with a SecretKey makes: the one each of
// CreateCheckout, Capture, Cancel, Refund and CheckHealth stands for; and,
// from ParseWebhook, GET /v1/refunds?charge=… for charge.refunded (unless
// DisableRefundListing), GET /v1/charges/{id} for payment_intent.succeeded
// (unless DisableSettlementLookup), GET /v1/payment_intents/{id} for a
// completed Checkout Session, and, under CaptureAfterReview, the reads,
// captures and cancels of that policy.
type Config struct {
	// Name is the gateway name (default DefaultName). Give each Gateway in
	// a process its own, for example "stripe-eu" for a second account.
	Name string
	// SecretKey is the account's secret (sk_…) or restricted (rk_…) API
	// key. Empty makes a webhook-only Gateway whose API calls fail with
	// payments.ErrNotSupported. Its mode also guards webhooks: a live key's
	// Gateway rejects test-mode events and a test key's live ones, so that
	// test payments never reach a live ledger.
	SecretKey string
	// WebhookSecrets are the webhook endpoints' signing secrets (whsec_…).
	// A notification verifies when it is signed with any of them, so
	// during a rotation list the new and the old secret until the old one
	// expires (https://docs.stripe.com/webhooks).
	WebhookSecrets []string
	// Tolerance is how far a signature's time may be from now, in either
	// direction (default DefaultTolerance). Replays of journaled
	// notifications skip it but are still verified.
	Tolerance time.Duration
	// IgnoreAPIVersionMismatch accepts events rendered for an API version
	// other than APIVersion. They are decoded with 2023-10-16's structs, so
	// fields that changed between the versions may read as empty: set the
	// webhook endpoint's version instead where you can
	// (https://docs.stripe.com/webhooks/versioning).
	IgnoreAPIVersionMismatch bool
	// DisableRefundListing stops ParseWebhook from itemizing a
	// charge.refunded event through the API. From API version 2022-11-15
	// the charge in that event no longer includes its refunds, so by
	// default the driver lists them (one call, GET /v1/refunds?charge=…)
	// and records each succeeded one under its own id. That is the only
	// way a refund made outside Refund — in the Dashboard, by another
	// system — reaches the ledger: at 2023-10-16 Stripe sends refund.created
	// and refund.updated only for refunds without a charge
	// (https://docs.stripe.com/changelog/acacia/2024-10-28/refund-webhook-update),
	// and charge.refund.updated only when a refund changes later. A failed
	// call fails the notification, which Stripe retries. A Gateway without
	// a SecretKey cannot list: it refuses such an event (journaled as
	// rejected, with why and how to fix it) rather than record a refund
	// without its money. Set DisableRefundListing only when refunds reach
	// the ledger otherwise; charge.refunded then moves only the payment's
	// status.
	DisableRefundListing bool
	// CaptureAfterReview turns on the policy of a backend that takes card
	// payments with manual capture and lets Radar decide
	// (https://docs.stripe.com/radar/reviews/auth-and-capture): on
	// payment_intent.amount_capturable_updated for a manual-capture
	// PaymentIntent, ParseWebhook reads the intent (with its review) and
	// captures it unless a review is open; on review.closed it captures an
	// intent whose review was approved and cancels one whose review closed
	// as refunded, refunded_as_fraud or disputed. The capture is booked
	// from Stripe's answer, keyed as payment_intent.succeeded's charge is,
	// so that event is a duplicate. It needs SecretKey. See
	// Gateway.ParseWebhook for how a capture is made once, and retried.
	CaptureAfterReview bool
	// DisableSettlementLookup stops ParseWebhook from reading the charge of
	// a payment_intent.succeeded event (one GET /v1/charges/{id} per
	// event) for Stripe's settlement figures, which events never carry:
	// set it when the host's Service does not settle (payments.Settlement)
	// and the call is only cost. The charge is then recorded without them,
	// and a settling Service prices it with its RateSource. Answers that
	// carry the figures at no extra call (Capture, CaptureAfterReview,
	// Checkout Sessions) still report them. See SettlementSource.
	DisableSettlementLookup bool
	// HostedCheckout makes CreateCheckout create a hosted Checkout Session
	// (https://docs.stripe.com/payments/checkout) for every request with a
	// ReturnURL, and return its URL as the payment's RedirectURL. Requests
	// without a ReturnURL still get a bare PaymentIntent, confirmed by the
	// client with its client secret.
	HostedCheckout bool
	// BaseURL replaces https://api.stripe.com, for tests against stripe-mock
	// or a recorded fake.
	BaseURL string
	// HTTPClient makes API calls (default: stripe-go's, 80s timeout).
	HTTPClient *http.Client
	// Logger receives the driver's and stripe-go's diagnostics; nil
	// discards them. It never receives keys or signatures.
	Logger *slog.Logger
}

// Gateway is the Stripe driver. It is safe for concurrent use.
type Gateway struct {
	name               string
	secrets            []string
	tolerance          time.Duration
	ignoreVer          bool
	noListing          bool        // DisableRefundListing
	noSettlementLookup bool        // DisableSettlementLookup
	capture            bool        // CaptureAfterReview
	hosted             bool        // HostedCheckout
	livemode           *bool       // from the key's prefix; nil when unknown
	api                *client.API // nil without a SecretKey
	log                *slog.Logger
}

// Compile-time proof of the powers the driver has.
var (
	_ payments.Gateway         = (*Gateway)(nil)
	_ payments.HeaderNamer     = (*Gateway)(nil)
	_ payments.CheckoutCreator = (*Gateway)(nil)
	_ payments.Capturer        = (*Gateway)(nil)
	_ payments.Canceler        = (*Gateway)(nil)
	_ payments.Refunder        = (*Gateway)(nil)
	_ payments.HealthChecker   = (*Gateway)(nil)
	_ payments.WebhookReplier  = (*Gateway)(nil)
)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput
// and never contain a key.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("stripe: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	if len(cfg.WebhookSecrets) == 0 {
		return invalid("WebhookSecrets is empty: copy the endpoint's signing secret (whsec_…) from the Dashboard")
	}
	for i, s := range cfg.WebhookSecrets {
		switch {
		case strings.TrimSpace(s) == "":
			return invalid("WebhookSecrets[%d] is empty", i)
		case hasAnyPrefix(s, "sk_", "rk_", "pk_"):
			return invalid("WebhookSecrets[%d] is an API key, not a webhook signing secret (whsec_…)", i)
		}
	}
	if strings.HasPrefix(cfg.SecretKey, "pk_") {
		return invalid("SecretKey is a publishable key (pk_…): use a secret (sk_…) or restricted (rk_…) key")
	}
	if cfg.CaptureAfterReview && cfg.SecretKey == "" {
		return invalid("CaptureAfterReview needs a SecretKey to capture and cancel with")
	}
	if cfg.Tolerance < 0 {
		return invalid("negative Tolerance %s", cfg.Tolerance)
	}
	g := &Gateway{
		name:               cfg.Name,
		secrets:            append([]string(nil), cfg.WebhookSecrets...),
		tolerance:          cfg.Tolerance,
		ignoreVer:          cfg.IgnoreAPIVersionMismatch,
		noListing:          cfg.DisableRefundListing,
		noSettlementLookup: cfg.DisableSettlementLookup,
		capture:            cfg.CaptureAfterReview,
		hosted:             cfg.HostedCheckout,
		log:                cfg.Logger,
	}
	if g.name == "" {
		g.name = DefaultName
	}
	if g.tolerance == 0 {
		g.tolerance = DefaultTolerance
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if cfg.SecretKey != "" {
		g.api = client.New(cfg.SecretKey, newBackends(cfg, g.log))
	}
	switch {
	case hasAnyPrefix(cfg.SecretKey, "sk_live_", "rk_live_"):
		g.livemode = new(true)
	case hasAnyPrefix(cfg.SecretKey, "sk_test_", "rk_test_"):
		g.livemode = new(false)
	}
	return g, nil
}

// newBackends builds this Gateway's own stripe-go backends. Each backend
// gets its own BackendConfig because stripe-go fills defaults into the one
// it is given.
func newBackends(cfg Config, log *slog.Logger) *stripego.Backends {
	backend := func(t stripego.SupportedBackend) stripego.Backend {
		bc := &stripego.BackendConfig{HTTPClient: cfg.HTTPClient, LeveledLogger: leveledLogger{log}}
		if cfg.BaseURL != "" {
			bc.URL = stripego.String(cfg.BaseURL)
		}
		return stripego.GetBackendWithConfig(t, bc)
	}
	return &stripego.Backends{
		API:     backend(stripego.APIBackend),
		Connect: backend(stripego.ConnectBackend),
		Uploads: backend(stripego.UploadsBackend),
	}
}

func hasAnyPrefix(s string, prefixes ...string) bool {
	for _, p := range prefixes {
		if strings.HasPrefix(s, p) {
			return true
		}
	}
	return false
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.name }

// WebhookHeaders implements payments.HeaderNamer: the journal keeps the
// Stripe-Signature header so that Service.Replay can verify a notification
// again.
func (g *Gateway) WebhookHeaders() []string { return []string{SignatureHeader} }

// leveledLogger routes stripe-go's logging to a *slog.Logger. stripe-go logs
// request paths and API error bodies, never the key. It logs every request
// at info and every failed one at error; here they are debug and warn, since
// the failure also comes back to the caller as an error.
type leveledLogger struct{ l *slog.Logger }

func (l leveledLogger) logf(level slog.Level, format string, v []any) {
	if l.l.Enabled(context.Background(), level) {
		l.l.Log(context.Background(), level, "stripe-go: "+fmt.Sprintf(format, v...))
	}
}

func (l leveledLogger) Debugf(format string, v ...any) { l.logf(slog.LevelDebug, format, v) }
func (l leveledLogger) Infof(format string, v ...any)  { l.logf(slog.LevelDebug, format, v) }
func (l leveledLogger) Warnf(format string, v ...any)  { l.logf(slog.LevelWarn, format, v) }
func (l leveledLogger) Errorf(format string, v ...any) { l.logf(slog.LevelWarn, format, v) }
