package gatewayenv

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/anypay"
)

func anypayTestEnv(vars map[string]string) env { return func(k string) string { return vars[k] } }

func TestAnypayFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	g, err := anypayFromEnv(anypayTestEnv(map[string]string{}), log)
	require.NoError(t, err)
	assert.Nil(t, g, "not enabled")

	vars := map[string]string{"ANYPAY_ENABLED": "true", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret",
		"ANYPAY_SIGN_MD5": "true", "ANYPAY_SUCCESS_URL": "https://shop.example/ok", "ANYPAY_CHECK_WEBHOOK_IP": "true",
		"ANYPAY_WEBHOOK_IPS": "185.162.128.38,185.162.128.39,185.162.128.88", "ANYPAY_TRUSTED_PROXIES": "10.0.0.0/8",
		"ANYPAY_API_ID": "12345", "ANYPAY_API_KEY": "api_secret"}
	g, err = anypayFromEnv(anypayTestEnv(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, "anypay", g.Name())
	assert.Equal(t, []string{"X-Forwarded-For"}, g.(*anypay.Gateway).WebhookHeaders())

	for name, bad := range map[string]map[string]string{
		"no key":      {"ANYPAY_ENABLED": "1", "ANYPAY_MERCHANT_ID": "1399"},
		"bad md5":     {"ANYPAY_ENABLED": "1", "ANYPAY_SIGN_MD5": "perhaps"},
		"bad flag":    {"ANYPAY_ENABLED": "1", "ANYPAY_CHECK_WEBHOOK_IP": "sometimes"},
		"bad proxy":   {"ANYPAY_ENABLED": "1", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret", "ANYPAY_TRUSTED_PROXIES": "proxy"},
		"bad sender":  {"ANYPAY_ENABLED": "1", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret", "ANYPAY_WEBHOOK_IPS": "1.2.3"},
		"bad URL":     {"ANYPAY_ENABLED": "1", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret", "ANYPAY_FAIL_URL": "shop.example"},
		"half an API": {"ANYPAY_ENABLED": "1", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret", "ANYPAY_API_KEY": "api_secret"},
	} {
		_, err := anypayFromEnv(anypayTestEnv(bad), log)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "anypay_secret", name)
		assert.NotContains(t, err.Error(), "api_secret", name)
	}
}
