package gatewayenv

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/payeer"
)

func payeerTestEnv(vars map[string]string) env { return func(k string) string { return vars[k] } }

func TestPayeerFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	g, err := payeerFromEnv(payeerTestEnv(map[string]string{}), log)
	require.NoError(t, err)
	assert.Nil(t, g, "not enabled")

	vars := map[string]string{"PAYEER_ENABLED": "true", "PAYEER_SHOP_ID": "987654321", "PAYEER_SECRET_KEY": "payeer_secret",
		"PAYEER_PARAMS_KEY": "params_secret", "PAYEER_STATUS_URL": "https://shop.example/payeer-handleWebhookEvents",
		"PAYEER_CHECK_WEBHOOK_IP": "true", "PAYEER_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1",
		"PAYEER_API_ACCOUNT": "P1000000", "PAYEER_API_ID": "12345", "PAYEER_API_KEY": "api_secret"}
	g, err = payeerFromEnv(payeerTestEnv(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, "payeer", g.Name())
	assert.Equal(t, []string{"X-Forwarded-For"}, g.(*payeer.Gateway).WebhookHeaders(), "the proxy setting reached the driver")

	for name, bad := range map[string]map[string]string{
		"no key":          {"PAYEER_ENABLED": "1", "PAYEER_SHOP_ID": "987654321"},
		"bad flag":        {"PAYEER_ENABLED": "1", "PAYEER_CHECK_WEBHOOK_IP": "sometimes"},
		"bad enabled":     {"PAYEER_ENABLED": "yes please"},
		"bad proxy":       {"PAYEER_ENABLED": "1", "PAYEER_SHOP_ID": "1", "PAYEER_SECRET_KEY": "payeer_secret", "PAYEER_TRUSTED_PROXIES": "proxy.internal"},
		"bad sender":      {"PAYEER_ENABLED": "1", "PAYEER_SHOP_ID": "1", "PAYEER_SECRET_KEY": "payeer_secret", "PAYEER_WEBHOOK_IPS": "10.0.0.0/33"},
		"URL without key": {"PAYEER_ENABLED": "1", "PAYEER_SHOP_ID": "1", "PAYEER_SECRET_KEY": "payeer_secret", "PAYEER_STATUS_URL": "https://shop.example/s"},
		"half an API":     {"PAYEER_ENABLED": "1", "PAYEER_SHOP_ID": "1", "PAYEER_SECRET_KEY": "payeer_secret", "PAYEER_API_KEY": "api_secret"},
	} {
		_, err := payeerFromEnv(payeerTestEnv(bad), log)
		require.Error(t, err, name)
		for _, secret := range []string{"payeer_secret", "api_secret", "params_secret"} {
			assert.NotContains(t, err.Error(), secret, name)
		}
	}
}
