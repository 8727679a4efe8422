package gatewayenv

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

// appstoreFromEnv reads APPSTORE_ENABLED, APPSTORE_BUNDLE_ID,
// APPSTORE_ENVIRONMENT (Production, the default, or Sandbox: the
// environment whose notifications and purchases the host takes; point
// the matching Server URL in App Store Connect at the host's
// /appstore-handleWebhookEvents), APPSTORE_APP_APPLE_ID (the app's Apple id,
// required in Production) and, for purchases the app reports,
// APPSTORE_ISSUER_ID, APPSTORE_KEY_ID and APPSTORE_PRIVATE_KEY_PATH (the
// In-App Purchase key's .p8 file, read once here and never logged).
// Signatures are checked against Apple Root CA - G3.
func appstoreFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "APPSTORE_ENABLED"); err != nil || !on {
		return nil, err
	}
	if env("APPSTORE_BUNDLE_ID") == "" {
		return nil, errors.New("APPSTORE_ENABLED is set but APPSTORE_BUNDLE_ID is empty")
	}
	cfg := appstore.Config{
		BundleID: env("APPSTORE_BUNDLE_ID"),
		IssuerID: env("APPSTORE_ISSUER_ID"),
		KeyID:    env("APPSTORE_KEY_ID"),
		Logger:   log.With("gateway", appstore.DefaultName),
	}
	switch v := strings.TrimSpace(env("APPSTORE_ENVIRONMENT")); strings.ToLower(v) {
	case "", "production":
		cfg.Environment = appstore.Production
	case "sandbox":
		cfg.Environment = appstore.Sandbox
	default:
		return nil, fmt.Errorf("APPSTORE_ENVIRONMENT=%q is neither Production nor Sandbox", v)
	}
	if v := strings.TrimSpace(env("APPSTORE_APP_APPLE_ID")); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if err != nil || id <= 0 {
			return nil, fmt.Errorf("APPSTORE_APP_APPLE_ID=%q is not an app's Apple id (a number, in App Store Connect's App Information)", v)
		}
		cfg.AppAppleID = id
	}
	if cfg.Environment == appstore.Production && cfg.AppAppleID == 0 {
		return nil, errors.New("APPSTORE_ENVIRONMENT is Production but APPSTORE_APP_APPLE_ID is empty")
	}
	if path := env("APPSTORE_PRIVATE_KEY_PATH"); path != "" {
		key, err := os.ReadFile(path)
		if err != nil {
			// The path, not the content, is in the message.
			return nil, fmt.Errorf("APPSTORE_PRIVATE_KEY_PATH: %w", err)
		}
		cfg.PrivateKey = key
	}
	if (cfg.IssuerID == "") != (cfg.KeyID == "") || (cfg.IssuerID == "") != (len(cfg.PrivateKey) == 0) {
		return nil, errors.New("APPSTORE_ISSUER_ID, APPSTORE_KEY_ID and APPSTORE_PRIVATE_KEY_PATH go together: set all three to verify purchases the app reports, or none")
	}
	return appstore.New(cfg)
}
