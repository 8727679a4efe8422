// Package googleplay is the payments driver for Google Play Billing
// (https://developer.android.com/google/play/billing), built on the Google
// Play Developer API's Go client, google.golang.org/api/androidpublisher/v3.
//
// Money reaches the ledger by three paths, keyed alike so that each order
// is one entry whichever path reports it first:
//
//   - Gateway.VerifyPurchase (payments.PurchaseVerifier): the app reports a
//     product id and a purchase token, and the driver asks Google
//     (purchases.products.get, or purchases.subscriptionsv2.get for the
//     products listed in Config.Subscriptions).
//   - Gateway.ParseWebhook: Real-time Developer Notifications
//     (https://developer.android.com/google/play/billing/rtdn-reference),
//     pushed by a Pub/Sub push subscription whose OpenID Connect token the
//     driver checks (see Gateway.ParseWebhook). A notification only says
//     that something changed: the driver records what the Developer API
//     answers, never what the body claims, as Google asks.
//   - Gateway.VoidedSince and Gateway.ParseRecord: the voided purchases
//     list (purchases.voidedpurchases.list), for refunds whose notification
//     never arrived, recorded through payments.Service.Record (see
//     VoidedPoller).
//
// Ledger keys. A charge is keyed by Google's order id: a one-time
// purchase has one order, and each renewal of a subscription has its own
// ("GPA.…", "GPA.…..0", "GPA.…..1"): "for auto-renewing subscriptions, a new
// order ID is generated for each renewal transaction" (RTDN reference,
// VoidedPurchaseNotification). Each order is also its own payment
// (PaymentUpdate.GatewayID and Entry.GatewayPaymentID are the order id), so
// a renewal at a changed price is its own payment of its own amount and
// never a charge above an earlier payment's (payments.ErrMismatch). A voided
// order is a refund under the same key, or one refund per unit voided for
// a purchase of several units (see Gateway.ParseRecord). A purchase Google
// gives no order id is keyed by a digest of its purchase token (see
// OrderKey), and a test purchase's keys carry TestPrefix.
//
// Prices. A ProductPurchase carries no price. The amount of an order comes
// from the catalogue in Config.Prices, which wins whenever it lists the
// product; for a product it does not list, from the order's total in the
// Orders API (orders.get) when Config.OrdersAPI is set. See Config.Prices
// for why the catalogue wins.
//
// After the ledger has recorded a purchase the driver acknowledges it, as
// payments.AfterCommitter, and consumes it when it is one of
// Config.Consumables: Google refunds a purchase that is not acknowledged
// within three days (https://developer.android.com/google/play/billing/integrate).
//
// Authentication. A push is authenticated by its OIDC token, which names
// the sender — the push subscription's service account, for its audience —
// and not the body: Pub/Sub reuses a token for many pushes, for up to an
// hour. Under a valid token the body is trusted for nothing
// but which purchase to look up, and what is recorded is what the Developer
// API answers; a voided purchase notification is Google's word for which
// order was voided. The token is never journaled (it is a bearer
// credential), so a replay of a journaled notification, which the Service
// allows only for one that verified when it arrived, is not asked for it
// and is looked up anew.
//
// The driver implements payments.Gateway, payments.PurchaseVerifier,
// payments.AfterCommitter, payments.WebhookReplier and
// payments.RecordParser. It creates no checkouts and makes no refunds: Play
// purchases start in the app, and refunds are made in the Play Console.
package googleplay

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"google.golang.org/api/androidpublisher/v3"
	"google.golang.org/api/option"

	"github.com/payrail/payments"
)

// DefaultName is the gateway name used in ledger keys and webhook paths
// (/googleplay-handleWebhookEvents).
const DefaultName = "googleplay"

// Config configures a Gateway. PackageName, PushAudience and
// PushServiceAccount are required, and so are credentials for the Developer
// API: ServiceAccountJSON, or ClientOptions that provide them.
type Config struct {
	// Name is the gateway name (default DefaultName).
	Name string
	// PackageName is the app's package name (com.example.app). Purchases
	// are looked up in it, and notifications for any other package are
	// ignored.
	PackageName string

	// ServiceAccountJSON is the JSON key of a service account that the Play
	// Console has invited with the permissions to view financial data and
	// manage orders (README, "Google Play"). Only a key of type
	// service_account is accepted; it is never logged.
	ServiceAccountJSON []byte
	// ClientOptions are added after the credentials when the Developer API
	// client is built: option.WithEndpoint and option.WithHTTPClient point
	// it at a fake in tests. Without ServiceAccountJSON the client falls
	// back to Application Default Credentials.
	ClientOptions []option.ClientOption

	// PushAudience is the audience of the push subscription's OIDC token:
	// the audience set on the subscription, or its push endpoint URL when
	// none is set (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
	PushAudience string
	// PushServiceAccount is the email of the service account the push
	// subscription signs its tokens as; a token for any other is refused.
	PushServiceAccount string
	// TokenValidator checks the push token's signature, expiry and
	// audience. Nil uses an idtoken.Validator that fetches Google's keys
	// with TokenKeysClient; tests inject their own to sign tokens with a
	// test key.
	TokenValidator TokenValidator
	// TokenKeysClient fetches Google's token signing keys for the default
	// TokenValidator (default: a client with a 10 s timeout).
	TokenKeysClient *http.Client

	// Prices is the catalogue: what one unit of a product is worth, by
	// product id. A subscription is looked up by "product/basePlan" first,
	// then "product"; during an introductory price by
	// "product/basePlan/offer" alone, and during a free trial not at all.
	// It wins over the Orders API
	// whenever it lists the product, for three reasons: its amount is the
	// host's unit of value, in the host's currency, where an order's total
	// is in the buyer's currency and includes tax; it never changes between
	// a client's report and a notification of the same order, which would
	// otherwise contradict each other in the ledger (payments.ErrConflict);
	// and it needs no access to financial data. A catalogue price applies
	// to what is recorded after it changes: keep it in step with the Play
	// Console.
	Prices map[string]payments.Money
	// OrdersAPI prices the orders of products the catalogue does not list
	// with their total in the Orders API (orders.get): what the buyer paid,
	// tax included, in the buyer's currency. Without it such an order fails
	// to record (a 500, so Pub/Sub retries once the catalogue lists it).
	OrdersAPI bool
	// Consumables are the one-time products consumed once recorded, so that
	// the user can buy them again (coins, credits).
	Consumables []string
	// Subscriptions are the subscription product ids: VerifyPurchase looks
	// these up with purchases.subscriptionsv2.get, every other product with
	// purchases.products.get.
	Subscriptions []string

	// RefuseTestPurchases refuses purchases made by license testers
	// (purchaseType 0, or a subscription's testPurchase): VerifyPurchase
	// fails with payments.ErrInvalidInput and notifications are ignored.
	// Otherwise they are recorded with keys that carry TestPrefix (see
	// IsTestPurchase): set it in production.
	RefuseTestPurchases bool
	// Account maps a purchase's obfuscatedExternalAccountId, which the app
	// sets at purchase (BillingFlowParams.setObfuscatedAccountId), to the
	// host's account id. Nil takes it as the account id itself. An empty
	// result leaves the money to the Service, which parks what it cannot
	// attribute.
	Account func(ctx context.Context, obfuscatedAccountID string) (string, error)

	// Clock is the time source (default time.Now).
	Clock func() time.Time
	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives keys, tokens or purchase tokens.
	Logger *slog.Logger
}

// Gateway is the Google Play driver. It is safe for concurrent use.
type Gateway struct {
	name          string
	pkg           string
	api           *androidpublisher.Service
	push          pushAuth
	prices        map[string]payments.Money
	ordersAPI     bool
	consumables   map[string]bool
	subscriptions map[string]bool
	refuseTest    bool
	account       func(ctx context.Context, obfuscated string) (string, error)
	now           func() time.Time
	log           *slog.Logger
}

// Compile-time proof of the powers the driver has.
var (
	_ payments.Gateway          = (*Gateway)(nil)
	_ payments.PurchaseVerifier = (*Gateway)(nil)
	_ payments.AfterCommitter   = (*Gateway)(nil)
	_ payments.WebhookReplier   = (*Gateway)(nil)
	_ payments.RecordParser     = (*Gateway)(nil)
)

// packageNamePattern is an Android application id: dot-separated segments
// of letters, digits and underscores, each starting with a letter.
var packageNamePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$`)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput
// and never contain the service account key.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("googleplay: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	switch {
	case !packageNamePattern.MatchString(cfg.PackageName):
		return invalid("PackageName %q is not an Android package name", cfg.PackageName)
	case strings.TrimSpace(cfg.PushAudience) == "":
		return invalid("PushAudience is empty: set it to the push subscription's audience (its endpoint URL when it sets none)")
	case !strings.Contains(cfg.PushServiceAccount, "@"):
		return invalid("PushServiceAccount %q is not a service account email", cfg.PushServiceAccount)
	}
	if err := checkPrices(cfg.Prices); err != nil {
		return invalid("%v", err)
	}
	opts := []option.ClientOption{option.WithScopes(androidpublisher.AndroidpublisherScope)}
	if len(cfg.ServiceAccountJSON) > 0 {
		if err := checkServiceAccount(cfg.ServiceAccountJSON); err != nil {
			return invalid("ServiceAccountJSON: %v", err)
		}
		opts = append(opts, option.WithAuthCredentialsJSON(option.ServiceAccount, cfg.ServiceAccountJSON))
	}
	opts = append(opts, cfg.ClientOptions...)
	// The client lives as long as the Gateway: its token source must not
	// end with some request's context.
	api, err := androidpublisher.NewService(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("googleplay: Developer API client: %w", err)
	}
	g := &Gateway{
		name: cfg.Name, pkg: cfg.PackageName, api: api, prices: cfg.Prices, ordersAPI: cfg.OrdersAPI,
		consumables: setOf(cfg.Consumables), subscriptions: setOf(cfg.Subscriptions),
		refuseTest: cfg.RefuseTestPurchases, account: cfg.Account, now: cfg.Clock, log: cfg.Logger,
	}
	if g.name == "" {
		g.name = DefaultName
	}
	if g.now == nil {
		g.now = time.Now
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.push, err = newPushAuth(cfg, g.now)
	if err != nil {
		return nil, err
	}
	return g, nil
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.name }

// checkPrices refuses a catalogue price that could not be recorded.
func checkPrices(prices map[string]payments.Money) error {
	for _, id := range slices.Sorted(maps.Keys(prices)) {
		p := prices[id]
		if _, ok := p.Currency.Exponent(); !ok || p.Amount <= 0 {
			return fmt.Errorf("Prices[%q] %s must be positive in a known currency", id, p)
		}
	}
	return nil
}

// checkServiceAccount reads just enough of a key to say what is wrong with
// it, and never echoes its content.
func checkServiceAccount(key []byte) error {
	var sa struct {
		Type        string `json:"type"`
		ClientEmail string `json:"client_email"`
		PrivateKey  string `json:"private_key"`
	}
	if err := json.Unmarshal(key, &sa); err != nil {
		return fmt.Errorf("not a JSON key file (the variable holds the file's contents, not its path)")
	}
	switch {
	case sa.Type != "service_account":
		return fmt.Errorf("type is %q, not service_account", sa.Type)
	case sa.ClientEmail == "" || sa.PrivateKey == "":
		return fmt.Errorf("client_email or private_key is missing")
	}
	return nil
}

func setOf(ids []string) map[string]bool {
	m := make(map[string]bool, len(ids))
	for _, id := range ids {
		m[id] = true
	}
	return m
}

// resolveAccount maps an obfuscatedExternalAccountId to the host's account.
func (g *Gateway) resolveAccount(ctx context.Context, obfuscated string) (string, error) {
	if obfuscated == "" || g.account == nil {
		return obfuscated, nil
	}
	account, err := g.account(ctx, obfuscated)
	if err != nil {
		return "", fmt.Errorf("googleplay: map obfuscated account id: %w", err)
	}
	return account, nil
}
