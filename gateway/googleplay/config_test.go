package googleplay_test

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// serviceAccountKey is a key file shaped as the Cloud console downloads
// one, with a private key of the test's.
func serviceAccountKey(t *testing.T, edit func(map[string]string)) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(otherKey())
	require.NoError(t, err)
	key := map[string]string{
		"type": "service_account", "project_id": "example-project", "private_key_id": "0123456789abcdef",
		"private_key":  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})),
		"client_email": "play-api@example-project.iam.gserviceaccount.com", "client_id": "1234567890",
		"auth_uri": "https://accounts.google.com/o/oauth2/auth", "token_uri": "https://oauth2.googleapis.com/token",
	}
	if edit != nil {
		edit(key)
	}
	b, err := json.Marshal(key)
	require.NoError(t, err)
	return b
}

func TestNewValidatesConfig(t *testing.T) {
	base := func() googleplay.Config {
		return googleplay.Config{PackageName: packageName, PushAudience: pushAudience, PushServiceAccount: pushEmail,
			ServiceAccountJSON: serviceAccountKey(t, nil)}
	}
	g, err := googleplay.New(base())
	require.NoError(t, err)
	assert.Equal(t, "googleplay", g.Name())

	tests := []struct {
		name string
		edit func(*googleplay.Config)
	}{
		{"no package", func(c *googleplay.Config) { c.PackageName = "" }},
		{"not a package name", func(c *googleplay.Config) { c.PackageName = "my app" }},
		{"no audience", func(c *googleplay.Config) { c.PushAudience = " " }},
		{"no push service account", func(c *googleplay.Config) { c.PushServiceAccount = "" }},
		{"a price of nothing", func(c *googleplay.Config) { c.Prices = map[string]payments.Money{"coins": {Currency: "USD"}} }},
		{"a price in no currency", func(c *googleplay.Config) {
			c.Prices = map[string]payments.Money{"coins": {Amount: 99, Currency: "XXY"}}
		}},
		{"a path instead of the key", func(c *googleplay.Config) { c.ServiceAccountJSON = []byte("/etc/secrets/play.json") }},
		{"another credential type", func(c *googleplay.Config) {
			c.ServiceAccountJSON = serviceAccountKey(t, func(k map[string]string) { k["type"] = "external_account" })
		}},
		{"no private key", func(c *googleplay.Config) {
			c.ServiceAccountJSON = serviceAccountKey(t, func(k map[string]string) { delete(k, "private_key") })
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := base()
			tt.edit(&cfg)
			_, err := googleplay.New(cfg)
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.Regexp(t, "^googleplay: ", err.Error())
			assert.NotContains(t, err.Error(), "PRIVATE KEY", "errors never echo the key")
			assert.NotContains(t, err.Error(), "0123456789abcdef")
		})
	}
	named := base()
	named.Name = "googleplay-kids"
	g, err = googleplay.New(named)
	require.NoError(t, err)
	assert.Equal(t, "googleplay-kids", g.Name())
}

func TestOrderKey(t *testing.T) {
	assert.Equal(t, "GPA.1234-5678-9012-34567..2", googleplay.OrderKey("GPA.1234-5678-9012-34567..2", "token", false))
	assert.Equal(t, "test:GPA.1", googleplay.OrderKey("GPA.1", "token", true))
	k := googleplay.OrderKey("", "a-long-purchase-token", false)
	assert.Regexp(t, "^token:[0-9a-f]{32}$", k)
	assert.Equal(t, k, googleplay.OrderKey("", "a-long-purchase-token", false), "stable")
	assert.NotEqual(t, k, googleplay.OrderKey("", "another-token", false))
	assert.True(t, googleplay.IsTestPurchase(payments.Entry{GatewayRef: "test:token:ab"}))
	assert.False(t, googleplay.IsTestPurchase(payments.Entry{GatewayRef: "GPA.1"}))
}
