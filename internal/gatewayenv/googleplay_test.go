package gatewayenv

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"log/slog"
	"maps"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// playKey is a service account key file's contents, as
// GOOGLE_PLAY_SECRET_FILE holds them.
func playKey(t *testing.T) string {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	b, err := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "numbers-prod", "private_key_id": "5f0c1d2e3f405162",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "play-api@numbers-prod.iam.gserviceaccount.com", "token_uri": "https://oauth2.googleapis.com/token",
	})
	require.NoError(t, err)
	return string(b)
}

func TestGooglePlayFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	key := playKey(t)
	vars := map[string]string{
		"GOOGLE_PLAY_ENABLED":              "true",
		"GOOGLE_PLAY_SECRET_FILE":          key,
		"GOOGLE_PLAY_PACKAGE_NAME":         "com.example.numbers",
		"GOOGLE_PLAY_PUSH_AUDIENCE":        "https://api.example.com/googleplay-handleWebhookEvents",
		"GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT": "play-rtdn-push@numbers-prod.iam.gserviceaccount.com",
		"GOOGLE_PLAY_PRICES":               "coins_100=0.99 USD, coins_500=4.99 USD ,premium/monthly=4.99 USD",
		"GOOGLE_PLAY_CONSUMABLES":          "coins_100,coins_500",
		"GOOGLE_PLAY_SUBSCRIPTIONS":        "premium",
	}
	env := func(vars map[string]string) env { return func(k string) string { return vars[k] } }

	g, err := googleplayFromEnv(env(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, "googleplay", g.Name(), "webhooks at /googleplay-handleWebhookEvents")
	_, verifies := g.(payments.PurchaseVerifier)
	assert.True(t, verifies)

	g, err = googleplayFromEnv(env(map[string]string{"GOOGLE_PLAY_ENABLED": "false", "GOOGLE_PLAY_SECRET_FILE": key}), log)
	require.NoError(t, err)
	assert.Nil(t, g, "disabled")

	prices, err := pricesFromEnv(env(vars), "GOOGLE_PLAY_PRICES")
	require.NoError(t, err)
	assert.Equal(t, map[string]payments.Money{"coins_100": {Amount: 99, Currency: "USD"},
		"coins_500": {Amount: 499, Currency: "USD"}, "premium/monthly": {Amount: 499, Currency: "USD"}}, prices)

	for name, edit := range map[string]map[string]string{
		"not a boolean":             {"GOOGLE_PLAY_ENABLED": "yes"},
		"no key":                    {"GOOGLE_PLAY_SECRET_FILE": ""},
		"a path, not the key":       {"GOOGLE_PLAY_SECRET_FILE": "/run/secrets/play.json"},
		"a key of no account":       {"GOOGLE_PLAY_SECRET_FILE": `{"type":"authorized_user","private_key":"secret-material"}`},
		"no package":                {"GOOGLE_PLAY_PACKAGE_NAME": ""},
		"no audience":               {"GOOGLE_PLAY_PUSH_AUDIENCE": " "},
		"no push account":           {"GOOGLE_PLAY_PUSH_SERVICE_ACCOUNT": ""},
		"a price with no currency":  {"GOOGLE_PLAY_PRICES": "coins_100=0.99"},
		"a price too precise":       {"GOOGLE_PLAY_PRICES": "coins_100=0.999 USD"},
		"a product priced twice":    {"GOOGLE_PLAY_PRICES": "coins_100=0.99 USD,coins_100=1.99 USD"},
		"a bad orders API flag":     {"GOOGLE_PLAY_ORDERS_API": "sometimes"},
		"a bad test purchases flag": {"GOOGLE_PLAY_REFUSE_TEST_PURCHASES": "maybe"},
	} {
		t.Run(name, func(t *testing.T) {
			bad := maps.Clone(vars)
			maps.Copy(bad, edit)
			_, err := googleplayFromEnv(env(bad), log)
			require.Error(t, err)
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "the key is never echoed")
			assert.NotContains(t, err.Error(), "secret-material")
		})
	}
}
