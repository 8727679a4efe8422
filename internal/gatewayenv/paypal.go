package gatewayenv

import (
	"errors"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
)

// paypalFromEnv reads PAYPAL_ENABLED, PAYPAL_CLIENT_ID, PAYPAL_SECRET,
// PAYPAL_WEBHOOK_ID (the id PayPal gave the webhook pointing at the host's
// /paypal-handleWebhookEvents; it is part of what PayPal signs)
// and PAYPAL_SANDBOX (true for https://api-m.sandbox.paypal.com). Webhook
// certificates are checked against the system's roots.
func paypalFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "PAYPAL_ENABLED"); err != nil || !on {
		return nil, err
	}
	sandbox, err := envBool(env, "PAYPAL_SANDBOX")
	if err != nil {
		return nil, err
	}
	if env("PAYPAL_CLIENT_ID") == "" || env("PAYPAL_SECRET") == "" || env("PAYPAL_WEBHOOK_ID") == "" {
		return nil, errors.New("PAYPAL_ENABLED is set but PAYPAL_CLIENT_ID, PAYPAL_SECRET or PAYPAL_WEBHOOK_ID is empty")
	}
	return paypal.New(paypal.Config{
		ClientID:  env("PAYPAL_CLIENT_ID"),
		Secret:    env("PAYPAL_SECRET"),
		WebhookID: env("PAYPAL_WEBHOOK_ID"),
		Sandbox:   sandbox,
		Logger:    log.With("gateway", paypal.DefaultName),
	})
}
