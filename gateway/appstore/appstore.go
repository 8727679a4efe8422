// Package appstore is the payments driver for Apple's App Store: App Store
// Server Notifications V2
// (https://developer.apple.com/documentation/appstoreservernotifications)
// and the confirmation of purchases a client app reports, through the App
// Store Server API
// (https://developer.apple.com/documentation/appstoreserverapi).
//
// Purchases happen in the app, so the driver creates no checkouts and
// captures, cancels and refunds nothing: it implements payments.Gateway
// (ParseWebhook) and payments.PurchaseVerifier (VerifyPurchase). Apple
// refunds at the customer's request and reports it in a notification.
//
// # Verification
//
// Apple signs notifications and transactions as JWS (ES256) with the
// signing certificate chain in the header. The driver verifies them as
// Apple's own App Store Server Libraries do (see verifier), on the standard
// crypto packages: the chain must lead to a configured root (Apple Root CA
// - G3 unless Config.RootCertificates says otherwise), never to the root the
// message carries, through certificates bearing Apple's OIDs, valid at the
// payload's signedDate. Then every payload, and the transaction and renewal
// info nested in a notification, must name the configured bundle id and
// environment, and a Production notification the configured app Apple id.
// Anything that fails — no x5c, a chain of another length, garbage base64,
// a key on the wrong curve, another app, another environment — is an error
// wrapping payments.ErrUnauthenticated, never a panic. Errors for another
// app or environment also wrap ErrWrongApp or ErrWrongEnvironment.
//
// A notification carries no time window: Apple retries one for days
// (https://developer.apple.com/documentation/appstoreservernotifications/responding-to-app-store-server-notifications),
// a replay from the journal verifies again because validity is checked at
// its signedDate, and what makes a redelivery harmless is the ledger's
// keys, not its age.
//
// # Payments and the ledger
//
// A payment is one App Store transaction: GatewayID and every entry's
// GatewayPaymentID are its transactionId. A subscription's renewals are
// transactions of their own, each a payment with its own amount, so a
// renewal at a changed price or in another storefront's currency is a
// payment of its own and is never parked as money that does not match an
// earlier one. Entries are keyed by the transactionId too: the charge of a
// transaction reported by a notification and by VerifyPurchase is one
// entry, whichever comes first; its refund and a refund's reversal are
// entries of other kinds under the same transactionId. See
// Gateway.ParseWebhook for what each notification type records. One refund
// per transaction is what the keys hold: a transaction refunded again
// after a reversal, with a different share, contradicts the refund
// recorded under its key and is rejected as payments.ErrConflict
// (journaled, for the operator); with the same share it reads as a
// duplicate.
//
// Amounts come from the transaction's price, in milliunits of its
// currency, converted exactly to minor units by the currency's exponent
// (a price that does not convert exactly is refused); Config.Prices is the
// fallback for transactions signed without a price.
//
// The account is the transaction's appAccountToken, the UUID the app set at
// purchase (Config.AccountForToken maps it to the host's account). Money
// without one has no account and is parked by the Service until the host
// attributes it, unless VerifyPurchase supplies the account.
package appstore

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/awa/go-iap/appstore/api"

	"github.com/payrail/payments"
)

// Defaults.
const (
	// DefaultName is the gateway name used in ledger keys and webhook paths.
	DefaultName = "appstore"
	// ProductionURL and SandboxURL are the App Store Server API's hosts
	// (https://developer.apple.com/documentation/appstoreserverapi).
	ProductionURL = api.HostProduction
	SandboxURL    = api.HostSandBox
)

// Environment is the App Store environment signed data comes from
// (https://developer.apple.com/documentation/appstoreserverapi/environment).
type Environment = api.Environment

// Environments a Gateway takes.
const (
	Production Environment = api.Production
	Sandbox    Environment = api.Sandbox
)

// Errors that tell why signed data verified but is not for this Gateway.
// Each is returned wrapped together with payments.ErrUnauthenticated.
var (
	// ErrWrongApp: the payload names another bundle id or, in Production,
	// another app Apple id (Apple's INVALID_APP_IDENTIFIER).
	ErrWrongApp = errors.New("appstore: signed for another app")
	// ErrWrongEnvironment: the payload is from the other environment
	// (Apple's INVALID_ENVIRONMENT). A host whose production app may
	// report sandbox purchases — App Review buys in the sandbox with the
	// production build (https://developer.apple.com/forums/thread/763025)
	// — runs a second, Sandbox Gateway under another name and sends such a
	// purchase there, so that sandbox money is never booked as real.
	ErrWrongEnvironment = errors.New("appstore: signed in another environment")
)

// Config configures a Gateway. BundleID and Environment are required, and
// AppAppleID in Production. IssuerID, KeyID and PrivateKey enable
// VerifyPurchase's App Store Server API look-ups; without them it takes
// only signed transactions.
type Config struct {
	// Name is the gateway name (default DefaultName). A host that takes
	// both environments runs two Gateways, for example "appstore" and
	// "appstore-sandbox".
	Name string
	// BundleID is the app's bundle identifier; every payload must name it.
	BundleID string
	// AppAppleID is the app's Apple id in App Store Connect (App
	// Information); a Production notification must name it.
	AppAppleID int64
	// Environment is Production or Sandbox: every payload must be from it.
	Environment Environment

	// RootCertificates are the DER roots a signing chain must lead to
	// (default: AppleRootCAG3). Tests pass a root of their own.
	RootCertificates [][]byte
	// CheckAtCurrentTime checks certificate validity at the current time
	// instead of at each payload's signedDate (Apple's libraries do so
	// when their online checks are on). It makes a notification older
	// than its signing certificate unverifiable, replays from the journal
	// included.
	CheckAtCurrentTime bool

	// Prices are the products' prices per unit, by product id: the
	// fallback for transactions signed without a price (Apple added price
	// and currency in 2023). A transaction with neither is refused.
	Prices map[string]payments.Money
	// AccountForToken maps an appAccountToken (a lower-case UUID) to the
	// host's account; "" leaves the money without an account. Nil uses the
	// token itself as the account. An error fails the notification, which
	// Apple retries.
	AccountForToken func(ctx context.Context, appAccountToken string) (string, error)
	// RefundedAmount returns what a refund of the transaction took, for a
	// REFUND_REVERSED notification: Apple drops revocationPercentage from a
	// transaction whose refund was reversed, so the driver cannot tell a
	// prorated refund's amount from the reversal. Nil reverses the full
	// price; hosts that receive prorated refunds read the refund entry of
	// the transaction from their ledger here.
	RefundedAmount func(ctx context.Context, transactionID string) (payments.Money, error)

	// IssuerID, KeyID and PrivateKey are the App Store Server API
	// credentials from App Store Connect (Users and Access, Integrations,
	// In-App Purchase): the issuer id, the key id and the .p8 file's PEM
	// content. The key is never logged.
	IssuerID   string
	KeyID      string
	PrivateKey []byte
	// ProductionURL and SandboxURL replace the API's hosts, for tests
	// (defaults ProductionURL and SandboxURL).
	ProductionURL string
	SandboxURL    string
	// HTTPClient makes API calls (default: a client with a 30s timeout).
	HTTPClient *http.Client

	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives the private key or a bearer token.
	Logger *slog.Logger
	// Now is the clock for CheckAtCurrentTime and payloads without a
	// signedDate (default time.Now).
	Now func() time.Time
}

// Gateway is the App Store driver. It is safe for concurrent use.
type Gateway struct {
	cfg      Config
	verifier verifier
	api      *apiClient // nil without API credentials
	log      *slog.Logger
}

// Compile-time proof of the powers the driver has.
var (
	_ payments.Gateway          = (*Gateway)(nil)
	_ payments.PurchaseVerifier = (*Gateway)(nil)
)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("appstore: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	if cfg.BundleID == "" {
		return invalid("BundleID is required")
	}
	switch cfg.Environment {
	case Production:
		if cfg.AppAppleID <= 0 {
			return invalid("AppAppleID is required in Production")
		}
	case Sandbox:
	default:
		return invalid("Environment %q is neither %s nor %s", cfg.Environment, Production, Sandbox)
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	roots := cfg.RootCertificates
	if len(roots) == 0 {
		roots = [][]byte{appleRootCAG3}
	}
	pool, err := parseRoots(roots)
	if err != nil {
		return invalid("RootCertificates: %v", err)
	}
	for product, price := range cfg.Prices {
		if _, ok := price.Currency.Exponent(); !ok || price.Amount <= 0 {
			return invalid("Prices[%q] %s is not a positive amount in a known currency", product, price)
		}
	}
	g := &Gateway{cfg: cfg, log: cfg.Logger,
		verifier: verifier{roots: pool, atNow: cfg.CheckAtCurrentTime, now: cfg.Now}}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	if g.api, err = newAPIClient(&cfg); err != nil {
		return invalid("%v", err)
	}
	return g, nil
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.cfg.Name }

// newAPIClient checks the API credentials; it returns nil when none are
// configured.
func newAPIClient(cfg *Config) (*apiClient, error) {
	if cfg.IssuerID == "" && cfg.KeyID == "" && len(cfg.PrivateKey) == 0 {
		return nil, nil
	}
	if cfg.IssuerID == "" || cfg.KeyID == "" || len(cfg.PrivateKey) == 0 {
		return nil, errors.New("IssuerID, KeyID and PrivateKey go together")
	}
	// Parsed here so that a wrong key fails at start, not at the first
	// purchase; the message never quotes the key.
	block, _ := pem.Decode(cfg.PrivateKey)
	if block == nil {
		return nil, errors.New("PrivateKey is not the PEM of a .p8 file")
	}
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if ec, ok := key.(*ecdsa.PrivateKey); err != nil || !ok || ec.Curve != elliptic.P256() {
		return nil, errors.New("PrivateKey is not a PKCS #8 P-256 key, as App Store Connect issues")
	}
	c := &apiClient{
		store: api.StoreConfig{KeyContent: cfg.PrivateKey, KeyID: cfg.KeyID, BundleID: cfg.BundleID, Issuer: cfg.IssuerID},
		hosts: map[Environment]string{Production: cfg.ProductionURL, Sandbox: cfg.SandboxURL},
		http:  cfg.HTTPClient,
	}
	for env, def := range map[Environment]string{Production: ProductionURL, Sandbox: SandboxURL} {
		host := strings.TrimRight(c.hosts[env], "/")
		if host == "" {
			host = def
		}
		if u, err := url.Parse(host); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, fmt.Errorf("%s URL %q is not an http(s) URL", env, host)
		}
		c.hosts[env] = host
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: 30 * time.Second}
	}
	return c, nil
}
