package gatewayenv

import (
	"errors"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
)

// cryptomusFromEnv reads CRYPTOMUS_ENABLED, CRYPTOMUS_MERCHANT_ID,
// CRYPTOMUS_PAYMENT_KEY, and the optional CRYPTOMUS_PAYOUT_KEY,
// CRYPTOMUS_CALLBACK_URL (where Cryptomus sends webhooks for the invoices
// the host creates: its /cryptomus-handleWebhookEvents),
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
