package appstore_test

import (
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

func TestNew(t *testing.T) {
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaDER, err := x509.MarshalPKCS8PrivateKey(rsaKey)
	require.NoError(t, err)
	p8 := readTestdata(t, apiKeyFile)
	withAPI := func(c *appstore.Config) { c.IssuerID, c.KeyID, c.PrivateKey = issuerID, keyID, p8 }
	for _, tc := range []struct {
		name   string
		mutate func(*appstore.Config)
		ok     bool
	}{
		{"production", func(*appstore.Config) {}, true},
		{"sandbox without an app id", func(c *appstore.Config) { c.Environment, c.AppAppleID = appstore.Sandbox, 0 }, true},
		{"with API credentials", withAPI, true},
		{"Apple's root by default", func(c *appstore.Config) { c.RootCertificates = nil }, true},
		{"no bundle id", func(c *appstore.Config) { c.BundleID = "" }, false},
		{"production without an app id", func(c *appstore.Config) { c.AppAppleID = 0 }, false},
		{"no environment", func(c *appstore.Config) { c.Environment = "" }, false},
		{"Xcode's environment", func(c *appstore.Config) { c.Environment = "Xcode" }, false},
		{"a root that is not DER", func(c *appstore.Config) { c.RootCertificates = [][]byte{[]byte("abc")} }, false},
		{"a key without its ids", func(c *appstore.Config) { c.PrivateKey = p8 }, false},
		{"ids without a key", func(c *appstore.Config) { c.IssuerID, c.KeyID = issuerID, keyID }, false},
		{"a key that is not PEM", func(c *appstore.Config) { withAPI(c); c.PrivateKey = []byte("not a key") }, false},
		{"an RSA key", func(c *appstore.Config) {
			withAPI(c)
			c.PrivateKey = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: rsaDER})
		}, false},
		{"a P-384 key", func(c *appstore.Config) { withAPI(c); c.PrivateKey = pemPKCS8(t, mustKey(t, elliptic.P384())) }, false},
		{"an API URL that is not http(s)", func(c *appstore.Config) { withAPI(c); c.SandboxURL = "ftp://example.com" }, false},
		{"a catalogue price of zero", func(c *appstore.Config) {
			c.Prices = map[string]payments.Money{"p": {Currency: "USD"}}
		}, false},
		{"a catalogue price in an unknown currency", func(c *appstore.Config) {
			c.Prices = map[string]payments.Money{"p": {Amount: 100, Currency: "XYZ"}}
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := appstore.Config{BundleID: bundleID, AppAppleID: appAppleID, Environment: appstore.Production,
				RootCertificates: [][]byte{testRoot(t)}}
			tc.mutate(&cfg)
			g, err := appstore.New(cfg)
			if tc.ok {
				require.NoError(t, err)
				assert.Equal(t, appstore.DefaultName, g.Name())
				return
			}
			assert.ErrorIs(t, err, payments.ErrInvalidInput)
			if err != nil {
				assert.NotContains(t, err.Error(), "PRIVATE KEY", "the key is never quoted")
			}
		})
	}
	g, err := appstore.New(appstore.Config{Name: "appstore-sandbox", BundleID: bundleID, Environment: appstore.Sandbox})
	require.NoError(t, err)
	assert.Equal(t, "appstore-sandbox", g.Name())
}
