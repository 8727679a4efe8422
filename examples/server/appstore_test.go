package main

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/store/memory"
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

// appstoreTestChain is a signing chain shaped like Apple's: a root, an
// intermediate with Apple's WWDR OID and a leaf with the receipt-signing
// OID, whose key signs the test's notifications.
type appstoreTestChain struct {
	root []byte
	x5c  []string
	key  *ecdsa.PrivateKey
}

func newAppstoreTestChain(t *testing.T) appstoreTestChain {
	t.Helper()
	issue := func(tmpl, parent *x509.Certificate, pub, signer any) []byte {
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		require.NoError(t, err)
		return der
	}
	newKey := func() *ecdsa.PrivateKey {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		require.NoError(t, err)
		return k
	}
	now := time.Now()
	rootKey, interKey, leafKey := newKey(), newKey(), newKey()
	rootTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Test Root"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	root := issue(rootTmpl, rootTmpl, &rootKey.PublicKey, rootKey)
	rootCert, err := x509.ParseCertificate(root)
	require.NoError(t, err)
	interTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "Test WWDR"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 1}, Value: []byte{5, 0}}}}
	inter := issue(interTmpl, rootCert, &interKey.PublicKey, rootKey)
	interCert, err := x509.ParseCertificate(inter)
	require.NoError(t, err)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(3), Subject: pkix.Name{CommonName: "Test Receipt Signing"}, NotBefore: now.Add(-time.Hour),
		NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtraExtensions: []pkix.Extension{{Id: asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 11, 1}, Value: []byte{5, 0}}}}
	leaf := issue(leafTmpl, interCert, &leafKey.PublicKey, interKey)
	enc := base64.StdEncoding.EncodeToString
	return appstoreTestChain{root: root, x5c: []string{enc(leaf), enc(inter), enc(root)}, key: leafKey}
}

// sign returns payload as a JWS as Apple signs one.
func (c appstoreTestChain) sign(t *testing.T, payload any) string {
	t.Helper()
	seg := func(v any) string {
		b, err := json.Marshal(v)
		require.NoError(t, err)
		return base64.RawURLEncoding.EncodeToString(b)
	}
	input := seg(map[string]any{"alg": "ES256", "x5c": c.x5c}) + "." + seg(payload)
	digest := sha256.Sum256([]byte(input))
	r, s, err := ecdsa.Sign(rand.Reader, c.key, digest[:])
	require.NoError(t, err)
	return input + "." + base64.RawURLEncoding.EncodeToString(append(r.FillBytes(make([]byte, 32)), s.FillBytes(make([]byte, 32))...))
}

// TestAppStoreThroughTheServer posts App Store notifications to
// /appstore-handleWebhookEvents: a purchase recorded once however often it
// arrives, a tampered one refused, and the balance the host sees.
func TestAppStoreThroughTheServer(t *testing.T) {
	chain := newAppstoreTestChain(t)
	g, err := appstore.New(appstore.Config{BundleID: "com.example.app", AppAppleID: 1234567890, Environment: appstore.Production,
		RootCertificates: [][]byte{chain.root}})
	require.NoError(t, err)
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, "", slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)

	const account = "0e8a7c5a-2b1d-4f63-9a35-6f1c0d2e4b71" // the appAccountToken the app set
	now := time.Now().UnixMilli()
	tx := map[string]any{"transactionId": "2000000812345678", "originalTransactionId": "2000000812345678", "bundleId": "com.example.app",
		"productId": "com.example.app.coins100", "purchaseDate": now, "quantity": 1, "type": "Consumable", "appAccountToken": account,
		"inAppOwnershipType": "PURCHASED", "signedDate": now, "environment": "Production", "transactionReason": "PURCHASE",
		"storefront": "USA", "storefrontId": "143441", "price": 4990, "currency": "USD"}
	notification := map[string]any{"notificationType": "ONE_TIME_CHARGE", "notificationUUID": "5e6f2a43-8d4b-4bd2-9c8e-5d0f6f1a7b21",
		"version": "2.0", "signedDate": now, "data": map[string]any{"appAppleId": 1234567890, "bundleId": "com.example.app",
			"bundleVersion": "1.0", "environment": "Production", "signedTransactionInfo": chain.sign(t, tx)}}
	body, err := json.Marshal(map[string]string{"signedPayload": chain.sign(t, notification)})
	require.NoError(t, err)
	post := func(body []byte) (int, string) {
		resp, err := http.Post(srv.URL+"/appstore-handleWebhookEvents", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, reply := post(body)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"outcome":"recorded"}`, reply)
	code, reply = post(body)
	assert.Equal(t, http.StatusOK, code)
	assert.JSONEq(t, `{"outcome":"duplicate"}`, reply)

	tampered := bytes.Replace(body, []byte(`"signedPayload":"ey`), []byte(`"signedPayload":"eY`), 1)
	code, _ = post(tampered)
	assert.Equal(t, http.StatusUnauthorized, code)

	s := &testServer{Server: srv}
	bal := balance(t, s, account)
	require.Len(t, bal, 1)
	assert.Equal(t, "4.99", bal[0]["amount"])
	assert.Equal(t, "USD", bal[0]["currency"])
}

// TestPurchaseReportedByTheApp posts a signed transaction the app reports to
// POST /purchases: credited once, for the account the app names, whether it
// reports it once or twice; a forged one is refused.
func TestPurchaseReportedByTheApp(t *testing.T) {
	chain := newAppstoreTestChain(t)
	g, err := appstore.New(appstore.Config{BundleID: "com.example.app", AppAppleID: 1234567890, Environment: appstore.Production,
		RootCertificates: [][]byte{chain.root}})
	require.NoError(t, err)
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	require.NoError(t, err)
	srv := httptest.NewServer(newHandler(svc, "", slog.New(slog.DiscardHandler)))
	t.Cleanup(srv.Close)
	s := &testServer{Server: srv}

	const account = "0e8a7c5a-2b1d-4f63-9a35-6f1c0d2e4b71"
	now := time.Now().UnixMilli()
	signed := chain.sign(t, map[string]any{"transactionId": "2000000812345679", "originalTransactionId": "2000000812345679",
		"bundleId": "com.example.app", "productId": "com.example.app.coins100", "purchaseDate": now, "quantity": 1,
		"type": "Consumable", "appAccountToken": account, "inAppOwnershipType": "PURCHASED", "signedDate": now,
		"environment": "Production", "transactionReason": "PURCHASE", "storefront": "USA", "storefrontId": "143441",
		"price": 4990, "currency": "USD"})
	report := map[string]any{"gateway": "appstore", "account": account, "token": signed}

	code, res := s.call(t, "POST", "/purchases", report)
	require.Equal(t, http.StatusOK, code, res)
	assert.Len(t, list(t, res, "entries"), 1)
	code, res = s.call(t, "POST", "/purchases", report)
	require.Equal(t, http.StatusOK, code, res)
	assert.Empty(t, list(t, res, "entries"), "reported twice, credited once")
	assert.Len(t, list(t, res, "duplicates"), 1)

	report["token"] = signed[:len(signed)-4] + "AAAA"
	code, _ = s.call(t, "POST", "/purchases", report)
	assert.Equal(t, http.StatusUnprocessableEntity, code, "a forged transaction is no purchase")
	bal := balance(t, s, account)
	require.Len(t, bal, 1)
	assert.Equal(t, "4.99", bal[0]["amount"])
}
