package gatewayenv

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"log/slog"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

func appstoreTestEnv(vars map[string]string) env { return func(k string) string { return vars[k] } }

// appstoreP8 writes a .p8 file as App Store Connect issues one.
func appstoreP8(t *testing.T) (path string, content []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	content = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	path = filepath.Join(t.TempDir(), "AuthKey_2X9R4HXF34.p8")
	require.NoError(t, os.WriteFile(path, content, 0o600))
	return path, content
}

func TestAppStoreFromEnv(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	g, err := appstoreFromEnv(appstoreTestEnv(map[string]string{}), log)
	require.NoError(t, err)
	assert.Nil(t, g, "not enabled")

	keyPath, key := appstoreP8(t)
	vars := map[string]string{"APPSTORE_ENABLED": "true", "APPSTORE_BUNDLE_ID": "com.example.app", "APPSTORE_APP_APPLE_ID": "1234567890",
		"APPSTORE_ENVIRONMENT": "Production", "APPSTORE_ISSUER_ID": "57246542-96fe-1a63-e053-0824d011072a",
		"APPSTORE_KEY_ID": "2X9R4HXF34", "APPSTORE_PRIVATE_KEY_PATH": keyPath}
	g, err = appstoreFromEnv(appstoreTestEnv(vars), log)
	require.NoError(t, err)
	require.NotNil(t, g)
	assert.Equal(t, appstore.DefaultName, g.Name())
	_, verifies := g.(payments.PurchaseVerifier)
	assert.True(t, verifies)

	with := func(change map[string]string) map[string]string {
		out := map[string]string{}
		for k, v := range vars {
			out[k] = v
		}
		for k, v := range change {
			if v == "" {
				delete(out, k)
			} else {
				out[k] = v
			}
		}
		return out
	}
	for name, change := range map[string]map[string]string{
		"webhooks only":                 {"APPSTORE_ISSUER_ID": "", "APPSTORE_KEY_ID": "", "APPSTORE_PRIVATE_KEY_PATH": ""},
		"sandbox, no app id":            {"APPSTORE_ENVIRONMENT": "sandbox", "APPSTORE_APP_APPLE_ID": ""},
		"production by default":         {"APPSTORE_ENVIRONMENT": ""},
		"environment in capitals":       {"APPSTORE_ENVIRONMENT": "PRODUCTION"},
		"app id with spaces around it":  {"APPSTORE_APP_APPLE_ID": " 1234567890 "},
		"enabled with a numeric switch": {"APPSTORE_ENABLED": "1"},
	} {
		g, err := appstoreFromEnv(appstoreTestEnv(with(change)), log)
		require.NoError(t, err, name)
		require.NotNil(t, g, name)
	}

	badKey := filepath.Join(t.TempDir(), "bad.p8")
	require.NoError(t, os.WriteFile(badKey, []byte("-----BEGIN PRIVATE KEY-----\nc2VjcmV0LXNlY3JldA==\n-----END PRIVATE KEY-----\n"), 0o600))
	for name, change := range map[string]map[string]string{
		"no bundle id":                 {"APPSTORE_BUNDLE_ID": ""},
		"production without an app id": {"APPSTORE_APP_APPLE_ID": ""},
		"an app id that is not one":    {"APPSTORE_APP_APPLE_ID": "com.example.app"},
		"a negative app id":            {"APPSTORE_APP_APPLE_ID": "-5"},
		"an unknown environment":       {"APPSTORE_ENVIRONMENT": "Xcode"},
		"a bad switch":                 {"APPSTORE_ENABLED": "maybe"},
		"a key file that is missing":   {"APPSTORE_PRIVATE_KEY_PATH": filepath.Join(t.TempDir(), "missing.p8")},
		"a key file that is no key":    {"APPSTORE_PRIVATE_KEY_PATH": badKey},
		"a key without its ids":        {"APPSTORE_ISSUER_ID": "", "APPSTORE_KEY_ID": ""},
		"ids without a key":            {"APPSTORE_PRIVATE_KEY_PATH": ""},
		"an issuer without a key id":   {"APPSTORE_KEY_ID": ""},
	} {
		_, err := appstoreFromEnv(appstoreTestEnv(with(change)), log)
		require.Error(t, err, name)
		assert.NotContains(t, err.Error(), string(key[30:60]), "%s: the key is never quoted", name)
		assert.NotContains(t, err.Error(), "c2VjcmV0", name)
	}
}
