package gatewayenv

import (
	"log/slog"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gateway/stripe"
)

func TestStripeFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	env := func(vars map[string]string) env { return func(k string) string { return vars[k] } }
	vars := map[string]string{"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_123",
		"STRIPE_WEBHOOK_SECRET": " whsec_new , whsec_old ,"}

	g, err := stripeFromEnv(env(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, stripe.DefaultName, g.Name(), "webhooks at /stripe-handleWebhookEvents")
	assert.Equal(t, []string{"whsec_new", "whsec_old"}, envList(env(vars), "STRIPE_WEBHOOK_SECRET"),
		"the current secret and, during a rotation, the previous ones")

	for _, switches := range []map[string]string{
		{"STRIPE_IGNORE_API_VERSION": "1", "STRIPE_CAPTURE_AFTER_REVIEW": "true"},
		{"STRIPE_HOSTED_CHECKOUT": "TRUE", "STRIPE_DISABLE_REFUND_LISTING": "t"},
	} {
		on := maps.Clone(vars)
		maps.Copy(on, switches)
		g, err := stripeFromEnv(env(on), log)
		require.NoError(t, err, switches)
		require.NotNil(t, g, switches)
	}

	for _, off := range []map[string]string{{}, {"STRIPE_ENABLED": "false", "STRIPE_SECRET_KEY": "sk_test_123"}} {
		g, err := stripeFromEnv(env(off), log)
		require.NoError(t, err)
		assert.Nil(t, g, "not enabled")
	}

	for _, tt := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"not a boolean", map[string]string{"STRIPE_ENABLED": "yes please"}, `STRIPE_ENABLED="yes please" is not a boolean`},
		{"no key", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_WEBHOOK_SECRET": "whsec_1"}, "STRIPE_SECRET_KEY is empty"},
		{"no webhook secret", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": " , "}, "WebhookSecrets is empty"},
		{"bad version flag", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_IGNORE_API_VERSION": "maybe"}, "STRIPE_IGNORE_API_VERSION"},
		{"bad review flag", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_CAPTURE_AFTER_REVIEW": "maybe"}, "STRIPE_CAPTURE_AFTER_REVIEW"},
		{"bad checkout flag", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_HOSTED_CHECKOUT": "maybe"}, "STRIPE_HOSTED_CHECKOUT"},
		{"bad listing flag", map[string]string{"STRIPE_ENABLED": "1", "STRIPE_DISABLE_REFUND_LISTING": "maybe"}, "STRIPE_DISABLE_REFUND_LISTING"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stripeFromEnv(env(tt.vars), log)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.NotContains(t, err.Error(), "sk_test_123")
		})
	}
}
