package gatewayenv

import (
	"log/slog"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// configured is an environment that enables the gateways whose drivers
// need no file and no network to construct.
var configured = map[string]string{
	"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": "whsec_1",
	"PAYPAL_ENABLED": "true", "PAYPAL_CLIENT_ID": "client", "PAYPAL_SECRET": "paypal_secret", "PAYPAL_WEBHOOK_ID": "8PT597110X687430LKGECATA",
	"CRYPTOMUS_ENABLED": "true", "CRYPTOMUS_MERCHANT_ID": "m", "CRYPTOMUS_PAYMENT_KEY": "pk_secret",
	"PAYEER_ENABLED": "true", "PAYEER_SHOP_ID": "987654321", "PAYEER_SECRET_KEY": "payeer_secret",
	"ANYPAY_ENABLED": "true", "ANYPAY_MERCHANT_ID": "1399", "ANYPAY_SECRET_KEY": "anypay_secret",
}

func lookup(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func names(gateways []payments.Gateway) []string {
	out := []string{}
	for _, g := range gateways {
		out = append(out, g.Name())
	}
	return out
}

func TestFromEnv(t *testing.T) {
	gateways, err := FromEnv(lookup(map[string]string{}), nil)
	require.NoError(t, err)
	assert.Empty(t, gateways, "none enabled is the host's to refuse")

	gateways, err = FromEnv(lookup(configured), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	assert.Equal(t, []string{"stripe", "paypal", "cryptomus", "payeer", "anypay"}, names(gateways), "in a fixed order")

	broken := maps.Clone(configured)
	broken["APPSTORE_ENABLED"] = "true" // without its bundle id
	_, err = FromEnv(lookup(broken), nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "APPSTORE_BUNDLE_ID")
	for _, secret := range []string{"sk_test_123", "paypal_secret", "pk_secret", "payeer_secret", "anypay_secret"} {
		assert.NotContains(t, err.Error(), secret)
	}
}

func TestGateway(t *testing.T) {
	broken := maps.Clone(configured)
	broken["APPSTORE_ENABLED"] = "true"
	broken["GOOGLE_PLAY_ENABLED"] = "maybe"
	g, err := Gateway(lookup(broken), nil, "stripe")
	require.NoError(t, err, "another gateway's configuration is not read")
	require.NotNil(t, g)
	assert.Equal(t, "stripe", g.Name())

	_, err = Gateway(lookup(broken), nil, "appstore")
	assert.ErrorContains(t, err, "APPSTORE_BUNDLE_ID")

	for _, name := range []string{"appstore", "googleplay", "fake", ""} {
		g, err := Gateway(lookup(configured), nil, name)
		require.NoError(t, err, name)
		assert.Nil(t, g, "%q: not enabled, or not built here", name)
	}
}

// TestEnabledVar checks that each gateway's build reads the variable the
// table names for it, so that what EnabledVar tells an operator to set is
// what switches the gateway on.
func TestEnabledVar(t *testing.T) {
	assert.Equal(t, []string{"STRIPE_ENABLED", "PAYPAL_ENABLED", "CRYPTOMUS_ENABLED", "PAYEER_ENABLED", "ANYPAY_ENABLED",
		"APPSTORE_ENABLED", "GOOGLE_PLAY_ENABLED"}, EnabledVars())
	for _, b := range builders {
		assert.Equal(t, b.enabledVar, EnabledVar(b.gateway))
		_, err := Gateway(lookup(map[string]string{b.enabledVar: "maybe"}), nil, b.gateway)
		assert.ErrorContains(t, err, b.enabledVar+`="maybe" is not a boolean`, b.gateway)
	}
	assert.Empty(t, EnabledVar("fake"))
}

func TestEnvHelpers(t *testing.T) {
	vars := lookup(map[string]string{"LIST": " a , ,b,", "ON": " TRUE ", "OFF": "0", "BAD": "yes",
		"PROXIES": "10.0.0.0/8, 127.0.0.1", "BAD_PROXIES": "proxy.internal"})
	assert.Equal(t, []string{"a", "b"}, envList(vars, "LIST"))
	assert.Nil(t, envList(vars, "NONE"))
	for name, want := range map[string]bool{"ON": true, "OFF": false, "NONE": false} {
		got, err := envBool(vars, name)
		require.NoError(t, err, name)
		assert.Equal(t, want, got, name)
	}
	_, err := envBool(vars, "BAD")
	assert.ErrorContains(t, err, `BAD="yes" is not a boolean`)

	p, err := envPrefixes(vars, "PROXIES")
	require.NoError(t, err)
	require.Len(t, p, 2)
	assert.Equal(t, "127.0.0.1/32", p[1].String(), "a bare address is its own prefix")
	p, err = envPrefixes(vars, "NONE")
	require.NoError(t, err)
	assert.Nil(t, p)
	_, err = envPrefixes(vars, "BAD_PROXIES")
	assert.ErrorContains(t, err, "BAD_PROXIES")
}
