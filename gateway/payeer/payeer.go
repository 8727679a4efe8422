// Package payeer is the payments driver for Payeer's merchant
// (https://payeer.com/merchant/): the customer pays on Payeer's page,
// opened with a signed form, and Payeer reports the result to the shop's
// status URL with a signed form POST.
//
// There is no Go SDK worth depending on; the driver speaks net/http and the
// standard crypto packages. Every formula comes from Payeer's own modules
// (github.com/payeer) and, where they are silent, its merchant
// documentation's examples, and is pinned in the tests to vectors that
// client libraries publish (see sign_test.go):
//
//   - the payment form's m_sign is the upper-case hex SHA-256 of
//     m_shop:m_orderid:m_amount:m_curr:m_desc[:m_params]:secret key
//     (payeer/opencart catalog/controller/payment/payeer.php);
//   - the status callback's m_sign is the same hash of m_operation_id:
//     m_operation_ps:m_operation_date:m_operation_pay_date:m_shop:
//     m_orderid:m_amount:m_curr:m_desc:m_status[:m_params]:secret key
//     (payeer/prestashop payeer/controllers/front/status.php; m_params is
//     added when present by the handler example of Payeer's merchant
//     documentation, PayeerMerchant.pdf, which integrations reproduce
//     verbatim, and by Purt09/payeer-php-sdk src/Payeer.php);
//   - m_params is urlencode(base64(AES-256-CBC(json, md5(params key .
//     m_orderid)))), sent with m_cipher_method=AES-256-CBC (the same
//     documentation's form example, as integrations reproduce it; Payeer's
//     older modules used mcrypt's Rijndael-256 ECB instead).
//
// Payeer signs no time and its callbacks carry no nonce: a captured
// callback verifies for ever. That is why the charge is keyed by Payeer's
// m_operation_id, which the signature covers, so that a redelivery or a
// replay records nothing twice.
//
// The driver implements payments.Gateway, payments.CheckoutCreator,
// payments.WebhookReplier (Payeer wants "<m_orderid>|success"),
// payments.HeaderNamer and payments.HealthChecker, and offers
// PaymentDetails, Payeer's lookup of a merchant payment. It is no
// payments.Refunder: Payeer's API (https://github.com/payeer/docs,
// rest-api/en.md) has no refund of a merchant payment, only transfers and
// payouts, which are new payments rather than refunds. Nor is it a
// Capturer or Canceler: a Payeer payment is taken at once.
package payeer

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
	DefaultName = "payeer"
	// DefaultMerchantURL is Payeer's payment page, where the signed form
	// goes (Payeer's modules post or redirect there).
	DefaultMerchantURL = "https://payeer.com/merchant/"
	// DefaultAPIURL is Payeer's API (https://github.com/payeer/docs,
	// rest-api/en.md: "API URL").
	DefaultAPIURL = "https://payeer.com/ajax/api/api.php"
)

// DefaultSenderIPs are the addresses Payeer's status callbacks come from:
// the handler example of Payeer's merchant documentation starts by
// refusing any request whose REMOTE_ADDR is not one of them (as
// integrations reproduce it verbatim; the Clojure library payeer on
// cljdoc checks the same three). They are the allowlist when
// Config.CheckSenderIP is set and Config.SenderIPs is empty.
var DefaultSenderIPs = []string{"185.71.65.92", "185.71.65.189", "149.202.17.210"}

// Config configures a Gateway. ShopID and SecretKey are required.
type Config struct {
	// ShopID is the merchant's id (m_shop), shown in Payeer's merchant
	// settings.
	ShopID string
	// SecretKey is the merchant's secret key: it signs payment forms and
	// verifies status callbacks.
	SecretKey string

	// ParamsKey is the merchant's "key for encrypting additional
	// parameters". With it, checkouts send m_params, which carries
	// per-payment success, fail and status URLs (the checkout's ReturnURL
	// and CancelURL, else SuccessURL, FailURL, and StatusURL). Without it
	// those URLs are the ones set in the merchant settings.
	ParamsKey string
	// StatusURL, SuccessURL and FailURL are sent in m_params; each needs
	// ParamsKey. StatusURL is where Payeer posts callbacks: this host's
	// /payeer-handleWebhookEvents.
	StatusURL, SuccessURL, FailURL string
	// Language is Payeer's page language, "ru" or "en"; empty lets Payeer
	// choose. It is not signed.
	Language string
	// MerchantURL is where checkouts send the customer (default
	// DefaultMerchantURL); tests point it at a fake.
	MerchantURL string

	// CheckSenderIP rejects callbacks whose sender is not in SenderIPs.
	// The signature is what authenticates a callback; this is defence in
	// depth, off by default because a change of Payeer's addresses would
	// then refuse payments until the configuration follows.
	CheckSenderIP bool
	// SenderIPs are the allowed senders (default DefaultSenderIPs).
	SenderIPs []netip.Prefix
	// TrustedProxies are the host's reverse proxies: X-Forwarded-For is
	// believed only when the request came from one of them (see
	// remoteip.Allowlist). Empty means the header is ignored.
	TrustedProxies []netip.Prefix

	// APIAccount, APIID and APIKey are an API user of Payeer's account
	// (account number P…, the API user's id and secret key). Optional:
	// they enable PaymentDetails and make CheckHealth ask Payeer.
	APIAccount, APIID, APIKey string
	// APIURL is Payeer's API (default DefaultAPIURL); tests point it at a
	// fake.
	APIURL string
	// HTTPClient makes API calls (default: a client with a 30s timeout).
	HTTPClient *http.Client

	// Name is the gateway name (default DefaultName).
	Name string
	// Logger receives the driver's diagnostics; nil discards them. It never
	// receives keys or signatures.
	Logger *slog.Logger
}

// Gateway is the Payeer driver. It is safe for concurrent use.
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
		return nil, fmt.Errorf("payeer: "+format+": %w", append(args, payments.ErrInvalidInput)...)
	}
	if cfg.ShopID == "" || cfg.SecretKey == "" {
		return invalid("ShopID and SecretKey are required")
	}
	if strings.Contains(cfg.ShopID, ":") {
		return invalid("ShopID %q contains ':', which the signature uses as its separator", cfg.ShopID)
	}
	for name, u := range map[string]string{"StatusURL": cfg.StatusURL, "SuccessURL": cfg.SuccessURL, "FailURL": cfg.FailURL} {
		if u == "" {
			continue
		}
		if cfg.ParamsKey == "" {
			return invalid("%s needs ParamsKey: Payeer takes per-payment URLs only in the encrypted m_params", name)
		}
		if !isHTTPURL(u) {
			return invalid("%s %q is not an http(s) URL", name, u)
		}
	}
	if cfg.Language != "" && cfg.Language != "ru" && cfg.Language != "en" {
		return invalid("Language %q is neither ru nor en", cfg.Language)
	}
	api := 0
	for _, v := range []string{cfg.APIAccount, cfg.APIID, cfg.APIKey} {
		if v != "" {
			api++
		}
	}
	if api != 0 && api != 3 {
		return invalid("APIAccount, APIID and APIKey go together")
	}
	g := &Gateway{cfg: cfg, apiURL: cfg.APIURL, client: cfg.HTTPClient, log: cfg.Logger}
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
