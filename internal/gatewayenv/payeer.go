package gatewayenv

import (
	"errors"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
)

// payeerFromEnv reads PAYEER_ENABLED, PAYEER_SHOP_ID, PAYEER_SECRET_KEY,
// and the optional PAYEER_PARAMS_KEY (the merchant's key for additional
// parameters: per-payment URLs and the account in m_params),
// PAYEER_STATUS_URL, PAYEER_SUCCESS_URL and PAYEER_FAIL_URL (which need
// it), PAYEER_CHECK_WEBHOOK_IP, PAYEER_WEBHOOK_IPS (the allowed senders
// instead of Payeer's published ones), PAYEER_TRUSTED_PROXIES
// (comma-separated CIDRs of the reverse proxies whose X-Forwarded-For is
// believed), and PAYEER_API_ACCOUNT, PAYEER_API_ID and PAYEER_API_KEY (an
// API user, for payment lookups and the health check).
func payeerFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "PAYEER_ENABLED"); err != nil || !on {
		return nil, err
	}
	checkIP, err := envBool(env, "PAYEER_CHECK_WEBHOOK_IP")
	if err != nil {
		return nil, err
	}
	senders, err := envPrefixes(env, "PAYEER_WEBHOOK_IPS")
	if err != nil {
		return nil, err
	}
	proxies, err := envPrefixes(env, "PAYEER_TRUSTED_PROXIES")
	if err != nil {
		return nil, err
	}
	if env("PAYEER_SHOP_ID") == "" || env("PAYEER_SECRET_KEY") == "" {
		return nil, errors.New("PAYEER_ENABLED is set but PAYEER_SHOP_ID or PAYEER_SECRET_KEY is empty")
	}
	return payeer.New(payeer.Config{
		ShopID:         env("PAYEER_SHOP_ID"),
		SecretKey:      env("PAYEER_SECRET_KEY"),
		ParamsKey:      env("PAYEER_PARAMS_KEY"),
		StatusURL:      env("PAYEER_STATUS_URL"),
		SuccessURL:     env("PAYEER_SUCCESS_URL"),
		FailURL:        env("PAYEER_FAIL_URL"),
		CheckSenderIP:  checkIP,
		SenderIPs:      senders,
		TrustedProxies: proxies,
		APIAccount:     env("PAYEER_API_ACCOUNT"),
		APIID:          env("PAYEER_API_ID"),
		APIKey:         env("PAYEER_API_KEY"),
		Logger:         log.With("gateway", payeer.DefaultName),
	})
}
