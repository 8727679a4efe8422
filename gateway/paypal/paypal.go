// Package paypal is the payments driver for PayPal Checkout: Orders v2 and
// Payments v2 (https://developer.paypal.com/docs/api/orders/v2/,
// https://developer.paypal.com/docs/api/payments/v2/), on
// github.com/plutov/paypal/v4, whose client gets the OAuth token, caches it
// and fetches a new one before it expires.
//
// A payment is an order, and its gateway id is the order id. CreateCheckout
// creates an order of intent CAPTURE (payments.CaptureAutomatic) or
// AUTHORIZE (payments.CaptureManual) with the library's payment id as
// custom_id and the host's reference as invoice_id, and returns the approve
// link as the redirect URL. When the buyer approves it, PayPal sends
// CHECKOUT.ORDER.APPROVED: the payment is authorized and, when it is an
// order of intent CAPTURE that the driver made, the driver captures it
// then. Capture authorizes an approved order of intent AUTHORIZE and
// captures all or part of it, releasing the rest; it captures an approved
// order of intent CAPTURE in full. Cancel voids the authorization, Refund
// refunds all or part of the payment's capture. Every POST carries the
// Service's idempotency key as PayPal-Request-Id, so a retried call gets
// PayPal's first answer (https://developer.paypal.com/reference/guidelines/idempotency).
// CheckHealth fetches an OAuth token, which proves the credentials.
//
// Webhooks are verified offline, on the raw bytes, never through PayPal's
// verify-webhook-signature endpoint (see Gateway.ParseWebhook).
// Notifications are matched to payments by custom_id, then by the order id
// the library stored: a capture names it in supplementary_data, and a refund,
// a reversal or a dispute names the capture, which the driver looks up
// (GET /v2/payments/captures/{id}) to find it.
//
// The ledger: a charge is keyed by its capture id, a refund by its refund
// id, a chargeback (PAYMENT.CAPTURE.REVERSED) by the reversal's id. A
// capture's answer and its PAYMENT.CAPTURE.COMPLETED are one entry; so are
// a refund's answer and its PAYMENT.CAPTURE.REFUNDED. PayPal reports no
// overpayment, so no entry is flagged as one: a charge above its payment's
// amount, or in another currency, is parked for review.
//
// Reconciliation (payments.Reconciler) lists the account's transactions
// through the Transaction Search and reads each capture and refund it
// points at (see Gateway.ListMoved); the records are translated by the
// webhook's own code, so a notification arriving later is a duplicate.
//
// The driver implements payments.Gateway, payments.HeaderNamer,
// payments.CheckoutCreator, payments.Capturer, payments.Canceler,
// payments.Refunder, payments.HealthChecker and payments.Reconciler. It is no
// payments.WebhookReplier: a verified notification the ledger rejects keeps
// the Service's 4xx, and PayPal retries it (up to 25 times over 3 days,
// https://developer.paypal.com/api/rest/webhooks/rest/).
package paypal

import (
	"crypto/x509"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	pp "github.com/plutov/paypal/v4"

	"github.com/payrail/payments"
)

// Defaults and the names the driver shares with PayPal.
const (
	// DefaultName is the gateway name used in ledger keys and webhook paths.
	DefaultName = "paypal"
	// DefaultTolerance is how far a live notification's transmission time
	// may be from now, either way. Each delivery attempt is a new
	// transmission with its own id and time, so PayPal's retries stay
	// within it; Service.Replay skips it.
	DefaultTolerance = 5 * time.Minute
	// AuthAlgo is the only signature algorithm the driver accepts in
	// PAYPAL-AUTH-ALGO.
	AuthAlgo = "SHA256withRSA"
)

// The headers PayPal signs webhooks with
// (https://developer.paypal.com/api/rest/webhooks/rest/).
const (
	HeaderTransmissionID   = "Paypal-Transmission-Id"
	HeaderTransmissionTime = "Paypal-Transmission-Time"
	HeaderTransmissionSig  = "Paypal-Transmission-Sig"
	HeaderCertURL          = "Paypal-Cert-Url"
	HeaderAuthAlgo         = "Paypal-Auth-Algo"
)

// CustomIDAccountPrefix starts the custom_id of an order made outside the
// driver (PayPal's JavaScript SDK, another service) whose money must be
// credited to an account: "payments_account:user-42" credits user-42. The
// driver's own orders carry the payment id instead, which names the
// account through the stored payment. An order with neither is parked until
// the host attributes it. Set it on the server, never from the browser:
// whoever sets it chooses whose balance the money tops up.
const CustomIDAccountPrefix = "payments_account:"

// Config configures a Gateway. ClientID, Secret and WebhookID are required.
type Config struct {
	// Name is the gateway name (default DefaultName). Give each Gateway in
	// a process its own, for example "paypal-sandbox" beside "paypal".
	Name string
	// ClientID and Secret are the REST app's credentials (Developer
	// Dashboard → Apps & Credentials). The Secret is never logged nor put
	// in an error.
	ClientID string
	Secret   string
	// WebhookID is the id PayPal gave the webhook (Apps & Credentials → the
	// app → Webhooks). It is part of what PayPal signs, so a notification
	// sent to another webhook, another app or the other environment does
	// not verify.
	WebhookID string
	// Sandbox selects https://api-m.sandbox.paypal.com instead of
	// https://api-m.paypal.com.
	Sandbox bool
	// Tolerance is how far a notification's transmission time may be from
	// now (default DefaultTolerance). Replays skip it, never the signature.
	Tolerance time.Duration
	// Roots are the certificate authorities that PayPal's webhook
	// certificates must chain to (default: the system's). The chain is
	// checked at the notification's transmission time.
	Roots *x509.CertPool
	// Intermediates are added to the ones served at the certificate URL,
	// for a certificate URL that serves only its leaf. Without them, a
	// missing intermediate is fetched where the leaf's Authority
	// Information Access says, from cacerts.digicert.com only.
	Intermediates *x509.CertPool
	// BaseURL replaces the API's base URL, for tests against a fake. It does
	// not change where certificates come from.
	BaseURL string
	// HTTPClient makes API calls and fetches webhook certificates (default:
	// one with a 60 s timeout). Certificate fetches never follow a redirect
	// off PayPal's hosts (or DigiCert's, for an intermediate), whatever its
	// CheckRedirect says.
	HTTPClient *http.Client
	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives the secret, a token or a signature.
	Logger *slog.Logger
}

// Gateway is the PayPal driver. It is safe for concurrent use.
type Gateway struct {
	name      string
	webhookID string
	tolerance time.Duration
	roots     *x509.CertPool
	extra     *x509.CertPool
	certs     *certStore
	seen      *transmissions
	log       *slog.Logger
	now       func() time.Time

	// tokenMu is held for reading by every API call and for writing only to
	// drop a token PayPal refused: plutov's client keeps its token in a field
	// that its own lock does not cover from outside.
	tokenMu sync.RWMutex
	api     *pp.Client
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
)

// webhookIDPattern is PayPal's pattern for webhook ids
// (https://developer.paypal.com/api/webhooks/v1/definitions/verify_webhook_signature).
var webhookIDPattern = regexp.MustCompile(`^[A-Za-z0-9]+$`)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput
// and never contain the secret.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("paypal: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	switch {
	case strings.TrimSpace(cfg.ClientID) == "" || strings.TrimSpace(cfg.Secret) == "":
		return invalid("ClientID and Secret are required: copy them from the REST app in PayPal's Developer Dashboard")
	case cfg.ClientID == cfg.Secret:
		return invalid("ClientID and Secret are the same value")
	case !webhookIDPattern.MatchString(cfg.WebhookID):
		return invalid("WebhookID must be the webhook's id (letters and digits), as the app's Webhooks list shows it")
	case cfg.Tolerance < 0:
		return invalid("negative Tolerance %s", cfg.Tolerance)
	}
	base := pp.APIBaseLive
	if cfg.Sandbox {
		base = pp.APIBaseSandBox
	}
	if cfg.BaseURL != "" {
		base = strings.TrimSuffix(cfg.BaseURL, "/")
	}
	api, err := pp.NewClient(cfg.ClientID, cfg.Secret, base)
	if err != nil {
		return invalid("client") // the message would not name the secret, but is no help either
	}
	httpClient := cfg.HTTPClient
	if httpClient == nil {
		httpClient = &http.Client{Timeout: 60 * time.Second}
	}
	api.SetHTTPClient(httpClient)
	// Every call wants the whole resource back (amounts, supplementary
	// data); set once, here, because plutov sets it without a lock.
	api.SetReturnRepresentation()
	roots := cfg.Roots
	if roots == nil {
		if roots, err = x509.SystemCertPool(); err != nil {
			return invalid("no Roots given and the system's certificate pool cannot be read (%v)", err)
		}
	}
	g := &Gateway{
		name:      cfg.Name,
		webhookID: cfg.WebhookID,
		tolerance: cfg.Tolerance,
		roots:     roots,
		extra:     cfg.Intermediates,
		certs:     newCertStore(httpClient),
		log:       cfg.Logger,
		now:       time.Now,
		api:       api,
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
	g.seen = newTransmissions(2 * g.tolerance)
	return g, nil
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.name }

// WebhookHeaders implements payments.HeaderNamer: the journal keeps the
// five headers a notification is verified with, so that Service.Replay can
// verify it again.
func (g *Gateway) WebhookHeaders() []string {
	return []string{HeaderTransmissionID, HeaderTransmissionTime, HeaderTransmissionSig, HeaderCertURL, HeaderAuthAlgo}
}
