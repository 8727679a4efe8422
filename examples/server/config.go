package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/internal/remoteip"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
)

// env reads one environment variable; os.Getenv in main, a map in tests.
type env func(name string) string

// config is everything the server reads from the environment.
type config struct {
	addr        string
	databaseURL string // PostgreSQL when set
	sqlitePath  string
	apiToken    string
	streamKey   []byte // STREAM_KEY; nil: no live status (stream.go)
	gateways    []payments.Gateway
}

// gatewayFromEnv builds one gateway from the environment, or returns nil
// when it is not enabled.
type gatewayFromEnv func(env env, log *slog.Logger) (payments.Gateway, error)

// gatewaysFromEnv is every gateway the server can run. Adding one is
// writing its gatewayFromEnv and listing it here.
var gatewaysFromEnv = []gatewayFromEnv{
	stripeFromEnv,
	paypalFromEnv,
	cryptomusFromEnv,
	payeerFromEnv,
	anypayFromEnv,
	appstoreFromEnv,
	googleplayFromEnv,
}

// stripeFromEnv reads STRIPE_ENABLED, STRIPE_SECRET_KEY,
// STRIPE_WEBHOOK_SECRET (comma-separated: the current signing secret and,
// during a rotation, the previous ones), STRIPE_IGNORE_API_VERSION, and the
// switches STRIPE_CAPTURE_AFTER_REVIEW (capture manual-capture payments
// once no Radar review holds them, cancel those a review refuses),
// STRIPE_HOSTED_CHECKOUT (checkouts with a return URL get a hosted Checkout
// Session) and STRIPE_DISABLE_REFUND_LISTING (do not list a charge's
// refunds when charge.refunded arrives; by default the key lists them, so
// that refunds made in the Dashboard reach the ledger).
func stripeFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "STRIPE_ENABLED"); err != nil || !on {
		return nil, err
	}
	var ignoreVersion, captureAfterReview, hostedCheckout, noRefundListing bool
	for _, flag := range []struct {
		name string
		v    *bool
	}{
		{"STRIPE_IGNORE_API_VERSION", &ignoreVersion},
		{"STRIPE_CAPTURE_AFTER_REVIEW", &captureAfterReview},
		{"STRIPE_HOSTED_CHECKOUT", &hostedCheckout},
		{"STRIPE_DISABLE_REFUND_LISTING", &noRefundListing},
	} {
		on, err := envBool(env, flag.name)
		if err != nil {
			return nil, err
		}
		*flag.v = on
	}
	if env("STRIPE_SECRET_KEY") == "" {
		return nil, errors.New("STRIPE_ENABLED is set but STRIPE_SECRET_KEY is empty")
	}
	return stripe.New(stripe.Config{
		SecretKey:                env("STRIPE_SECRET_KEY"),
		WebhookSecrets:           envList(env, "STRIPE_WEBHOOK_SECRET"),
		IgnoreAPIVersionMismatch: ignoreVersion,
		CaptureAfterReview:       captureAfterReview,
		HostedCheckout:           hostedCheckout,
		DisableRefundListing:     noRefundListing,
		Logger:                   log.With("gateway", stripe.DefaultName),
	})
}

// cryptomusFromEnv reads CRYPTOMUS_ENABLED, CRYPTOMUS_MERCHANT_ID,
// CRYPTOMUS_PAYMENT_KEY, and the optional CRYPTOMUS_PAYOUT_KEY,
// CRYPTOMUS_CALLBACK_URL (where Cryptomus sends webhooks for the invoices
// the server creates: this server's /cryptomus-handleWebhookEvents),
// CRYPTOMUS_CHECK_WEBHOOK_IP and CRYPTOMUS_TRUSTED_PROXIES (comma-separated
// CIDRs of the reverse proxies whose X-Forwarded-For is believed).
func cryptomusFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "CRYPTOMUS_ENABLED"); err != nil || !on {
		return nil, err
	}
	checkIP, err := envBool(env, "CRYPTOMUS_CHECK_WEBHOOK_IP")
	if err != nil {
		return nil, err
	}
	proxies, err := envPrefixes(env, "CRYPTOMUS_TRUSTED_PROXIES")
	if err != nil {
		return nil, err
	}
	if env("CRYPTOMUS_MERCHANT_ID") == "" || env("CRYPTOMUS_PAYMENT_KEY") == "" {
		return nil, errors.New("CRYPTOMUS_ENABLED is set but CRYPTOMUS_MERCHANT_ID or CRYPTOMUS_PAYMENT_KEY is empty")
	}
	return cryptomus.New(cryptomus.Config{
		MerchantID:     env("CRYPTOMUS_MERCHANT_ID"),
		PaymentKey:     env("CRYPTOMUS_PAYMENT_KEY"),
		PayoutKey:      env("CRYPTOMUS_PAYOUT_KEY"),
		CallbackURL:    env("CRYPTOMUS_CALLBACK_URL"),
		CheckWebhookIP: checkIP,
		TrustedProxies: proxies,
		Logger:         log.With("gateway", cryptomus.DefaultName),
	})
}

// loadConfig reads the environment; at least one gateway must be enabled.
func loadConfig(env env, log *slog.Logger) (*config, error) {
	cfg := &config{
		addr:        envOr(env, "ADDR", ":8080"),
		databaseURL: env("DATABASE_URL"),
		sqlitePath:  envOr(env, "SQLITE_PATH", "./payments.db"),
		apiToken:    env("API_TOKEN"),
	}
	var err error
	if cfg.streamKey, err = streamKeyFromEnv(env); err != nil {
		return nil, err
	}
	for _, build := range gatewaysFromEnv {
		g, err := build(env, log)
		if err != nil {
			return nil, err
		}
		if g != nil {
			cfg.gateways = append(cfg.gateways, g)
		}
	}
	if len(cfg.gateways) == 0 {
		return nil, errors.New("no gateway is enabled: set STRIPE_ENABLED, PAYPAL_ENABLED, CRYPTOMUS_ENABLED, PAYEER_ENABLED, ANYPAY_ENABLED, APPSTORE_ENABLED or GOOGLE_PLAY_ENABLED to true, with the variables each needs (see README)")
	}
	return cfg, nil
}

// openStore opens PostgreSQL when DATABASE_URL is set, else the SQLite file.
func openStore(ctx context.Context, cfg *config) (payments.Store, string, error) {
	if cfg.databaseURL != "" {
		s, err := postgres.Open(ctx, cfg.databaseURL, postgres.Options{})
		return s, "postgres", err
	}
	s, err := sqlite.Open(ctx, cfg.sqlitePath, sqlite.Options{})
	return s, "sqlite " + cfg.sqlitePath, err
}

func envOr(env env, name, def string) string {
	if v := env(name); v != "" {
		return v
	}
	return def
}

// envBool reads a boolean as strconv.ParseBool does; empty is false.
func envBool(env env, name string) (bool, error) {
	v := strings.TrimSpace(env(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean (true, false, 1, 0)", name, v)
	}
	return b, nil
}

// envList reads a comma-separated list, dropping blanks.
func envList(env env, name string) []string {
	var out []string
	for v := range strings.SplitSeq(env(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// envPrefixes reads a comma-separated list of CIDR prefixes or bare
// addresses.
func envPrefixes(env env, name string) ([]netip.Prefix, error) {
	list := envList(env, name)
	if len(list) == 0 {
		return nil, nil
	}
	p, err := remoteip.ParsePrefixes(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return p, nil
}
