package gatewayenv

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/cryptomus"
)

func TestCryptomusFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(vars map[string]string) env { return func(k string) string { return vars[k] } }
	vars := map[string]string{"CRYPTOMUS_ENABLED": "true", "CRYPTOMUS_MERCHANT_ID": "c26b80a8-0000-4000-8000-000000000000",
		"CRYPTOMUS_PAYMENT_KEY": "pk_secret", "CRYPTOMUS_CHECK_WEBHOOK_IP": "true", "CRYPTOMUS_TRUSTED_PROXIES": "10.0.0.0/8, 127.0.0.1/32"}
	g, err := cryptomusFromEnv(env(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, cryptomus.DefaultName, g.Name())

	g, err = cryptomusFromEnv(env(map[string]string{}), log)
	require.NoError(t, err)
	assert.Nil(t, g, "not enabled")

	for name, bad := range map[string]map[string]string{
		"no key":       {"CRYPTOMUS_ENABLED": "1", "CRYPTOMUS_MERCHANT_ID": "m"},
		"bad proxy":    {"CRYPTOMUS_ENABLED": "1", "CRYPTOMUS_MERCHANT_ID": "m", "CRYPTOMUS_PAYMENT_KEY": "pk_secret", "CRYPTOMUS_TRUSTED_PROXIES": "not-a-cidr"},
		"bad ip check": {"CRYPTOMUS_ENABLED": "1", "CRYPTOMUS_CHECK_WEBHOOK_IP": "sometimes"},
		"bad enabled":  {"CRYPTOMUS_ENABLED": "yes please"},
	} {
		_, err := cryptomusFromEnv(env(bad), log)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), "pk_secret", name)
	}
}
