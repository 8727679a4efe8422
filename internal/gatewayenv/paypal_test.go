package gatewayenv

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
)

func TestPayPalFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(vars map[string]string) env { return func(k string) string { return vars[k] } }
	const secret = "EGnHDxD_qRPdaLdZz8iCr8N7_MzF-YHPTkjs6NKYQvQSBngp4PTTVWkPZRbL"
	vars := map[string]string{"PAYPAL_ENABLED": "true", "PAYPAL_CLIENT_ID": "AeA1QIZXiflr1_client",
		"PAYPAL_SECRET": secret, "PAYPAL_WEBHOOK_ID": "8PT597110X687430LKGECATA", "PAYPAL_SANDBOX": "true"}

	g, err := paypalFromEnv(env(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, paypal.DefaultName, g.Name())
	_, ok := g.(payments.Refunder)
	assert.True(t, ok)

	g, err = paypalFromEnv(env(map[string]string{}), log)
	assert.NoError(t, err)
	assert.Nil(t, g, "not enabled")

	for name, change := range map[string]func(map[string]string){
		"no client id":   func(v map[string]string) { delete(v, "PAYPAL_CLIENT_ID") },
		"no secret":      func(v map[string]string) { delete(v, "PAYPAL_SECRET") },
		"no webhook id":  func(v map[string]string) { delete(v, "PAYPAL_WEBHOOK_ID") },
		"bad webhook id": func(v map[string]string) { v["PAYPAL_WEBHOOK_ID"] = secret },
		"bad sandbox":    func(v map[string]string) { v["PAYPAL_SANDBOX"] = "sometimes" },
		"bad enabled":    func(v map[string]string) { v["PAYPAL_ENABLED"] = "yes please" },
	} {
		bad := map[string]string{}
		for k, v := range vars {
			bad[k] = v
		}
		change(bad)
		_, err := paypalFromEnv(env(bad), log)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), secret, name)
	}
}
