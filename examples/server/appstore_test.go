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
	"io"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/store/memory"
)

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
