package appstore_test

import (
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

// The app the tests verify for: bundle com.example, app Apple id 1234, as
// Apple's test utilities (TestingUtility in Apple's libraries) verify for,
// so that the opt-in vectors run with the same Gateways.
const (
	bundleID   = "com.example"
	appAppleID = 1234
)

// accountToken is the appAccountToken of the tests' transactions unless
// they set another.
const accountToken = "5d7c2b1a-3e4f-4a6b-9c8d-0e1f2a3b4c5d"

func readTestdata(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", filepath.FromSlash(name)))
	require.NoError(t, err)
	return b
}

// newGateway returns a Production Gateway for the tests' app that trusts
// the tests' root; mutate adjusts its Config.
func newGateway(t testing.TB, mutate ...func(*appstore.Config)) *appstore.Gateway {
	t.Helper()
	cfg := appstore.Config{
		BundleID:         bundleID,
		AppAppleID:       appAppleID,
		Environment:      appstore.Production,
		RootCertificates: [][]byte{testRoot(t)},
	}
	for _, m := range mutate {
		m(&cfg)
	}
	g, err := appstore.New(cfg)
	require.NoError(t, err)
	return g
}

func sandbox(c *appstore.Config) { c.Environment = appstore.Sandbox }

// chain is a signing chain (leaf, intermediate, root) and its leaf's key.
type chain struct {
	key *ecdsa.PrivateKey
	x5c []string
}

// pemPKCS8 is key as App Store Connect's .p8 file holds one.
func pemPKCS8(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

var b64url = base64.RawURLEncoding

// sign returns payload as a JWS (ES256) signed by c's leaf key with c's
// chain in x5c, as Apple signs.
func (c chain) sign(t testing.TB, payload []byte) string {
	t.Helper()
	return c.jws(payload)
}

// jws is sign without a testing.TB, for fuzz targets, whose inputs may not
// call a testing.F's methods.
func (c chain) jws(payload []byte) string {
	return signJWS(c.key, map[string]any{"alg": "ES256", "typ": "JWT", "x5c": c.x5c}, payload)
}

// signJWS signs payload under header with key, r||s as ES256 has it.
func signJWS(key *ecdsa.PrivateKey, header map[string]any, payload []byte) string {
	h, err := json.Marshal(header)
	if err != nil {
		panic(err)
	}
	input := b64url.EncodeToString(h) + "." + b64url.EncodeToString(payload)
	digest := sha256.Sum256([]byte(input))
	r, sv, err := ecdsa.Sign(rand.Reader, key, digest[:])
	if err != nil {
		panic(err)
	}
	size := (key.Curve.Params().BitSize + 7) / 8 // 32 for P-256; a key on another curve signs what it can
	sig := append(r.FillBytes(make([]byte, size)), sv.FillBytes(make([]byte, size))...)
	return input + "." + b64url.EncodeToString(sig)
}

func mustJSON(t testing.TB, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}

// edit applies edits to m: a nil value deletes the member.
func edit(m map[string]any, edits map[string]any) map[string]any {
	for k, v := range edits {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

var lastID atomic.Int64

func init() { lastID.Store(2000000900000000) }

// newTransactionID is a fresh numeric id, as Apple's are.
func newTransactionID() string { return strconv.FormatInt(lastID.Add(1), 10) }

func newUUID(t testing.TB) string {
	t.Helper()
	var b [16]byte
	_, err := rand.Read(b[:])
	require.NoError(t, err)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// signer signs real-shaped payloads for one environment with one chain.
type signer struct {
	t     testing.TB
	chain chain
	env   appstore.Environment
}

func newSigner(t testing.TB, env appstore.Environment) *signer {
	return &signer{t: t, chain: testPKI(t).chain(), env: env}
}

// transaction is a signed transaction's payload
// (https://developer.apple.com/documentation/appstoreserverapi/jwstransactiondecodedpayload):
// a one-time USD purchase of 10.99 made at at, unrefunded, for this app and
// environment, with edits applied.
func (s *signer) transaction(id string, at time.Time, edits map[string]any) map[string]any {
	return edit(map[string]any{
		"transactionId": id, "originalTransactionId": id, "bundleId": bundleID, "productId": "com.example.product",
		"purchaseDate": at.UnixMilli(), "originalPurchaseDate": at.UnixMilli(), "signedDate": at.UnixMilli(),
		"quantity": 1, "type": "Consumable", "appAccountToken": accountToken, "inAppOwnershipType": "PURCHASED",
		"environment": string(s.env), "transactionReason": "PURCHASE", "storefront": "USA", "storefrontId": "143441",
		"price": 10990, "currency": "USD", "appTransactionId": "704289572311575230",
	}, edits)
}

// renewalInfo is a signed renewal info's payload
// (https://developer.apple.com/documentation/appstoreserverapi/jwsrenewalinfodecodedpayload)
// of an active monthly subscription, for this environment.
func (s *signer) renewalInfo(originalID string, at time.Time) map[string]any {
	return map[string]any{
		"originalTransactionId": originalID, "productId": "com.example.product", "autoRenewProductId": "com.example.product",
		"autoRenewStatus": 1, "signedDate": at.UnixMilli(), "environment": string(s.env),
		"recentSubscriptionStartDate": at.UnixMilli(), "renewalDate": at.AddDate(0, 1, 0).UnixMilli(),
		"renewalPrice": 9990, "currency": "USD", "appAccountToken": accountToken, "appTransactionId": "704289572311575230",
	}
}

// notification is a notification's payload
// (https://developer.apple.com/documentation/appstoreservernotifications/responsebodyv2decodedpayload)
// of type and subtype ("" for none), signed at at, carrying tx (signed
// here) and, for a subscription, its renewal info; dataEdits adjust its
// data.
func (s *signer) notification(typ, subtype string, at time.Time, tx map[string]any, dataEdits map[string]any) map[string]any {
	data := map[string]any{"environment": string(s.env), "bundleId": bundleID, "appAppleId": appAppleID, "bundleVersion": "1.2.3"}
	if tx != nil {
		data["signedTransactionInfo"] = s.chain.sign(s.t, mustJSON(s.t, tx))
		if tx["type"] == "Auto-Renewable Subscription" {
			data["signedRenewalInfo"] = s.chain.sign(s.t, mustJSON(s.t, s.renewalInfo(fmt.Sprint(tx["originalTransactionId"]), at)))
			data["status"] = 1
		}
	}
	m := map[string]any{"notificationType": typ, "notificationUUID": newUUID(s.t), "version": "2.0",
		"signedDate": at.UnixMilli(), "data": edit(data, dataEdits)}
	if subtype != "" {
		m["subtype"] = subtype
	}
	return m
}

// request wraps a notification payload as Apple posts it.
func (s *signer) request(payload map[string]any) *payments.WebhookRequest {
	return bodyRequest(mustJSON(s.t, map[string]string{"signedPayload": s.chain.sign(s.t, mustJSON(s.t, payload))}))
}

func bodyRequest(body []byte) *payments.WebhookRequest {
	return &payments.WebhookRequest{
		Header: http.Header{"Content-Type": {"application/json"}}, Body: body,
		RemoteAddr: "17.58.0.1:443", ReceivedAt: time.Now(),
	}
}

func money(t testing.TB, amount, currency string) payments.Money {
	t.Helper()
	m, err := payments.ParseMoney(amount, currency)
	require.NoError(t, err)
	return m
}
