// Package anypay is the payments driver for Anypay (https://anypay.io), a
// Russian payment aggregator: the customer pays on Anypay's page, opened
// with a signed link, and Anypay notifies the project's notification URL
// with a signed form POST, which the shop answers "OK".
//
// There is no Go SDK worth depending on; the driver speaks net/http and the
// standard crypto packages. Anypay's documentation (anypay.io/doc/sci,
// anypay.io/doc/api) could not be fetched when this driver was written;
// every formula below is the one Anypay's merchant modules and several
// independent client libraries agree on, and each is cited where it is
// implemented (sign.go):
//
//   - the payment link's sign is the lower-case hex SHA-256 of
//     merchant_id:pay_id:amount:currency:desc:success_url:fail_url:secret
//     key, or, under the legacy MD5 setting of a project, the MD5 of
//     currency:amount:secret key:merchant_id:pay_id;
//   - the notification's sign is the SHA-256 of
//     currency:amount:pay_id:merchant_id:status:secret key, or, under MD5,
//     the MD5 of merchant_id:amount:pay_id:secret key;
//   - an API call's sign is the SHA-256 of the method's name, the API id,
//     the method's signed parameters and the API key, concatenated.
//
// What the notification signs decides what the driver believes. Under
// SHA-256 that is the project, the payment (pay_id), its amount, currency
// and status; not transaction_id, profit, email, method, the dates or any
// parameter the shop added, which anyone who saw one notification could
// rewrite in a replay. So the charge is keyed by pay_id — one charge per
// payment — not by Anypay's unsigned transaction_id, which a replay could
// change to book the same payment twice. MD5 signs still less (no status
// and no currency; see SignMD5).
//
// The driver implements payments.Gateway, payments.CheckoutCreator,
// payments.WebhookReplier (Anypay wants "OK"), payments.HeaderNamer and
// payments.HealthChecker, and offers Payments, Anypay's lookup of a
// payment. It is no payments.Refunder: Anypay's API has no refund, only
// payouts to a wallet or card, which are new payments rather than refunds.
// Nor is it a Capturer or Canceler: an Anypay payment is taken at once.
package anypay

import (
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
	// DefaultName is the gateway name used in ledger keys and webhook paths.
	DefaultName = "anypay"
	// DefaultMerchantURL is Anypay's payment page (the form's action).
	DefaultMerchantURL = "https://anypay.io/merchant"
	// DefaultAPIURL is the root of Anypay's API: a call to method m is a
	// POST to DefaultAPIURL/m/<API id>.
	DefaultAPIURL = "https://anypay.io/api"
)

// DefaultSenderIPs are the addresses Anypay's notifications come from, as
// Anypay's merchant modules and client libraries list them (the
// NamelessMC store gateway AMGewka/NamelessMC-Store-Gateway-ANYPAY, and
// handlers built on Anypay's examples). Anypay's API also lists them
// (method ip-notification). They are the allowlist when
// Config.CheckSenderIP is set and Config.SenderIPs is empty.
var DefaultSenderIPs = []string{"185.162.128.38", "185.162.128.39", "185.162.128.88"}

// Config configures a Gateway. MerchantID and SecretKey are required.
type Config struct {
	// MerchantID is the project's id (merchant_id), from the project's
	// settings.
	MerchantID string
	// SecretKey is the project's secret key: it signs payment links and
	// verifies notifications.
	SecretKey string
	// SignMD5 selects Anypay's legacy MD5 signatures, for a project whose
	// settings still use them: payment links are signed with MD5, and
	// notifications verify with MD5 as well as SHA-256. MD5 signs neither
	// a notification's status nor its currency: anyone who saw one of a
	// payment's notifications can replay it with another status or
	// currency, so under MD5 both are taken from Anypay's API (its
	// payments lookup) for the pay_id and signed amount, never from the
	// notification: SignMD5 needs APIID and APIKey. Switch the project to
	// SHA-256 instead where you can.
	SignMD5 bool

	// SuccessURL and FailURL are where Anypay sends the customer back when
	// a checkout gives no ReturnURL or CancelURL; empty leaves the
	// project's settings in charge.
	SuccessURL, FailURL string
	// Language is Anypay's page language, "ru" or "en"; empty lets Anypay
	// choose. It is not signed.
	Language string
	// MerchantURL is where checkouts send the customer (default
	// DefaultMerchantURL); tests point it at a fake.
	MerchantURL string

	// CheckSenderIP rejects notifications whose sender is not in
	// SenderIPs. The signature is what authenticates a notification; this
	// is defence in depth, off by default because a change of Anypay's
	// addresses would then refuse payments until the configuration
	// follows.
	CheckSenderIP bool
	// SenderIPs are the allowed senders (default DefaultSenderIPs).
	SenderIPs []netip.Prefix
	// TrustedProxies are the host's reverse proxies: X-Forwarded-For is
	// believed only when the request came from one of them (see
	// remoteip.Allowlist). Empty means the header is ignored.
	TrustedProxies []netip.Prefix

	// APIID and APIKey are the account's API credentials (profile
	// settings). Optional: they enable Payments and make CheckHealth ask
	// Anypay.
	APIID, APIKey string
	// APIURL is the root of Anypay's API (default DefaultAPIURL); tests
	// point it at a fake.
	APIURL string
	// HTTPClient makes API calls (default: a client with a 30s timeout).
	HTTPClient *http.Client

	// Name is the gateway name (default DefaultName).
	Name string
	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives keys or signatures.
	Logger *slog.Logger
}

// Gateway is the Anypay driver. It is safe for concurrent use.
type Gateway struct {
	cfg         Config
	merchantURL *url.URL
	apiURL      string
	client      *http.Client
	log         *slog.Logger
	senders     remoteip.Allowlist
}

// Compile-time proof of the powers the driver has.
var (
	_ payments.Gateway         = (*Gateway)(nil)
	_ payments.CheckoutCreator = (*Gateway)(nil)
	_ payments.WebhookReplier  = (*Gateway)(nil)
	_ payments.HeaderNamer     = (*Gateway)(nil)
	_ payments.HealthChecker   = (*Gateway)(nil)
)

// New checks cfg and returns a Gateway. Errors wrap payments.ErrInvalidInput.
func New(cfg Config) (*Gateway, error) {
	invalid := func(format string, args ...any) (*Gateway, error) {
		return nil, fmt.Errorf("anypay: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	if cfg.MerchantID == "" || cfg.SecretKey == "" {
		return invalid("MerchantID and SecretKey are required")
	}
	if strings.Contains(cfg.MerchantID, ":") {
		return invalid("MerchantID %q contains ':', which the signature uses as its separator", cfg.MerchantID)
	}
	for name, u := range map[string]string{"SuccessURL": cfg.SuccessURL, "FailURL": cfg.FailURL} {
		if u != "" && !isHTTPURL(u) {
			return invalid("%s %q is not an http(s) URL", name, u)
		}
	}
	if cfg.Language != "" && cfg.Language != "ru" && cfg.Language != "en" {
		return invalid("Language %q is neither ru nor en", cfg.Language)
	}
	if (cfg.APIID == "") != (cfg.APIKey == "") {
		return invalid("APIID and APIKey go together")
	}
	if cfg.SignMD5 && cfg.APIID == "" {
		return invalid("SignMD5 needs APIID and APIKey: what the MD5 sign leaves unsigned is confirmed with Anypay's API")
	}
	g := &Gateway{cfg: cfg, apiURL: strings.TrimRight(cfg.APIURL, "/"), client: cfg.HTTPClient, log: cfg.Logger}
	if g.cfg.Name == "" {
		g.cfg.Name = DefaultName
	}
	merchant := cfg.MerchantURL
	if merchant == "" {
		merchant = DefaultMerchantURL
	}
	u, err := url.Parse(merchant)
	if err != nil || !isHTTPURL(merchant) || u.RawQuery != "" {
		return invalid("MerchantURL %q is not an http(s) URL without a query", cfg.MerchantURL)
	}
	g.merchantURL = u
	if g.apiURL == "" {
		g.apiURL = DefaultAPIURL
	}
	if !isHTTPURL(g.apiURL) {
		return invalid("APIURL %q is not an http(s) URL", cfg.APIURL)
	}
	if g.client == nil {
		g.client = &http.Client{Timeout: 30 * time.Second}
	}
	if g.log == nil {
		g.log = slog.New(slog.DiscardHandler)
	}
	g.senders = remoteip.Allowlist{Allowed: cfg.SenderIPs, TrustedProxies: cfg.TrustedProxies}
	if len(g.senders.Allowed) == 0 {
		g.senders.Allowed = remoteip.MustPrefixes(DefaultSenderIPs...)
	}
	return g, nil
}

// Name implements payments.Gateway.
func (g *Gateway) Name() string { return g.cfg.Name }

// WebhookHeaders implements payments.HeaderNamer: X-Forwarded-For is kept
// in the journal when the sender is checked behind trusted proxies, so
// that a replay checks the same sender. Nothing else of the headers is
// read.
func (g *Gateway) WebhookHeaders() []string {
	if g.cfg.CheckSenderIP && len(g.cfg.TrustedProxies) > 0 {
		return []string{remoteip.ForwardedFor}
	}
	return nil
}

func isHTTPURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "https" || u.Scheme == "http") && u.Host != ""
}
