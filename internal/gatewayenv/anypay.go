package gatewayenv

import (
	"errors"
	"log/slog"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
)

// anypayFromEnv reads ANYPAY_ENABLED, ANYPAY_MERCHANT_ID (the project's
// id), ANYPAY_SECRET_KEY, and the optional ANYPAY_SIGN_MD5 (for a project
// still on Anypay's legacy MD5 signatures), ANYPAY_SUCCESS_URL and
// ANYPAY_FAIL_URL, ANYPAY_CHECK_WEBHOOK_IP, ANYPAY_WEBHOOK_IPS (the allowed
// senders instead of Anypay's), ANYPAY_TRUSTED_PROXIES (comma-separated
// CIDRs of the reverse proxies whose X-Forwarded-For is believed), and
// ANYPAY_API_ID and ANYPAY_API_KEY (for payment lookups and the health
// check).
func anypayFromEnv(env env, log *slog.Logger) (payments.Gateway, error) {
	if on, err := envBool(env, "ANYPAY_ENABLED"); err != nil || !on {
		return nil, err
	}
	md5, err := envBool(env, "ANYPAY_SIGN_MD5")
	if err != nil {
		return nil, err
	}
	checkIP, err := envBool(env, "ANYPAY_CHECK_WEBHOOK_IP")
	if err != nil {
		return nil, err
	}
	senders, err := envPrefixes(env, "ANYPAY_WEBHOOK_IPS")
	if err != nil {
		return nil, err
	}
	proxies, err := envPrefixes(env, "ANYPAY_TRUSTED_PROXIES")
	if err != nil {
		return nil, err
	}
	if env("ANYPAY_MERCHANT_ID") == "" || env("ANYPAY_SECRET_KEY") == "" {
		return nil, errors.New("ANYPAY_ENABLED is set but ANYPAY_MERCHANT_ID or ANYPAY_SECRET_KEY is empty")
	}
	if md5 {
		log.Warn("ANYPAY_SIGN_MD5 is set: Anypay's MD5 signatures cover neither a notification's status nor its currency; status and currency are taken from Anypay's API; switch the project to SHA-256")
	}
	return anypay.New(anypay.Config{
		MerchantID:     env("ANYPAY_MERCHANT_ID"),
		SecretKey:      env("ANYPAY_SECRET_KEY"),
		SignMD5:        md5,
		SuccessURL:     env("ANYPAY_SUCCESS_URL"),
		FailURL:        env("ANYPAY_FAIL_URL"),
		CheckSenderIP:  checkIP,
		SenderIPs:      senders,
		TrustedProxies: proxies,
		APIID:          env("ANYPAY_API_ID"),
		APIKey:         env("ANYPAY_API_KEY"),
		Logger:         log.With("gateway", anypay.DefaultName),
	})
}
