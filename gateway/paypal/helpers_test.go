package paypal_test

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"math/big"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
)

// testWebhookID is the webhook id the tests' gateways are configured with.
const testWebhookID = "8PT597110X687430LKGECATA"

// Certificate URLs the fake API serves the test PKI's certificates at.
const (
	certPath          = "/v1/notifications/certs/CERT-360caa42-fca2a594-test0001"
	certURL           = "https://api.sandbox.paypal.com" + certPath
	expiredCertPath   = "/v1/notifications/certs/CERT-360caa42-fca2a594-expired1"
	foreignCertPath   = "/v1/notifications/certs/CERT-360caa42-fca2a594-foreign1"
	wrongNameCertPath = "/v1/notifications/certs/CERT-360caa42-fca2a594-wrongnm1"
	leafOnlyCertPath  = "/v1/notifications/certs/CERT-360caa42-fca2a594-leafonl"
	// issuerPath is where the leaf's Authority Information Access says
	// its intermediate is, on cacerts.digicert.com.
	issuerPath = "/PaymentsTestIntermediate.crt"
)

// testPKI is a certificate authority made for the tests, with PayPal's
// message-verification name on a leaf it issues through an intermediate,
// and the certificates a forger could present: expired, issued by another
// authority, issued to another name.
type testPKI struct {
	roots, inters           *x509.CertPool
	interDER                []byte
	leafKey, otherKey       *rsa.PrivateKey
	leaf                    *x509.Certificate
	chainPEM, leafOnlyPEM   []byte // leaf + intermediate; leaf alone
	expiredPEM, foreignPEM  []byte
	wrongNamePEM            []byte
	expiredFrom, expiredTil time.Time
}

var (
	pkiOnce sync.Once
	pki     *testPKI
)

func testCerts(t testing.TB) *testPKI {
	t.Helper()
	pkiOnce.Do(func() { pki = newTestPKI() })
	require.NotNil(t, pki)
	return pki
}

func newTestPKI() *testPKI {
	now := time.Now()
	key := func() *rsa.PrivateKey {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		return k
	}
	serial := int64(1000)
	issue := func(tmpl *x509.Certificate, parent *x509.Certificate, pub *rsa.PublicKey, signer *rsa.PrivateKey) *x509.Certificate {
		serial++
		tmpl.SerialNumber = big.NewInt(serial)
		if parent == nil {
			parent = tmpl
		}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, pub, signer)
		if err != nil {
			panic(err)
		}
		c, err := x509.ParseCertificate(der)
		if err != nil {
			panic(err)
		}
		return c
	}
	ca := func(name string, from, til time.Time) *x509.Certificate {
		return &x509.Certificate{Subject: pkix.Name{CommonName: name, Organization: []string{"payments test"}},
			NotBefore: from, NotAfter: til, IsCA: true, BasicConstraintsValid: true,
			KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageCRLSign}
	}
	leafTmpl := func(name string, from, til time.Time) *x509.Certificate {
		return &x509.Certificate{
			Subject:  pkix.Name{CommonName: name, Organization: []string{"PayPal, Inc."}, Country: []string{"US"}},
			DNSNames: []string{name}, NotBefore: from, NotAfter: til,
			KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment,
			ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
			IssuingCertificateURL: []string{"http://cacerts.digicert.com" + issuerPath},
		}
	}
	const name = "messageverificationcerts.sandbox.paypal.com"
	rootKey, interKey, leafKey, foreignKey, otherKey := key(), key(), key(), key(), key()
	root := issue(ca("payments test root", now.AddDate(-10, 0, 0), now.AddDate(10, 0, 0)), nil, &rootKey.PublicKey, rootKey)
	inter := issue(ca("payments test intermediate", now.AddDate(-5, 0, 0), now.AddDate(5, 0, 0)), root, &interKey.PublicKey, rootKey)
	leaf := issue(leafTmpl(name, now.AddDate(-2, 0, 0), now.AddDate(1, 0, 0)), inter, &leafKey.PublicKey, interKey)
	expFrom, expTil := now.AddDate(-3, 0, 0), now.AddDate(-1, 0, 0)
	expired := issue(leafTmpl(name, expFrom, expTil), inter, &leafKey.PublicKey, interKey)
	foreignCA := issue(ca("not a trusted root", now.AddDate(-5, 0, 0), now.AddDate(5, 0, 0)), nil, &foreignKey.PublicKey, foreignKey)
	foreign := issue(leafTmpl(name, now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), foreignCA, &leafKey.PublicKey, foreignKey)
	wrongName := issue(leafTmpl("webhooks.example.com", now.AddDate(-1, 0, 0), now.AddDate(1, 0, 0)), inter, &leafKey.PublicKey, interKey)

	p := &testPKI{roots: x509.NewCertPool(), inters: x509.NewCertPool(), leafKey: leafKey, otherKey: otherKey,
		leaf: leaf, expiredFrom: expFrom, expiredTil: expTil}
	p.interDER = inter.Raw
	p.roots.AddCert(root)
	p.inters.AddCert(inter)
	p.chainPEM = pemOf(leaf, inter)
	p.leafOnlyPEM = pemOf(leaf)
	p.expiredPEM = pemOf(expired, inter)
	p.foreignPEM = pemOf(foreign, foreignCA)
	p.wrongNamePEM = pemOf(wrongName, inter)
	return p
}

func pemOf(certs ...*x509.Certificate) []byte {
	var b bytes.Buffer
	for _, c := range certs {
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes()
}

// serveTestCerts has the fake serve every certificate of the test PKI.
func serveTestCerts(t testing.TB, api *fakeAPI) *testPKI {
	p := testCerts(t)
	api.serveCert(certPath, p.chainPEM)
	api.serveCert(expiredCertPath, p.expiredPEM)
	api.serveCert(foreignCertPath, p.foreignPEM)
	api.serveCert(wrongNameCertPath, p.wrongNamePEM)
	api.serveCert(leafOnlyCertPath, p.leafOnlyPEM)
	return p
}

// newGateway returns a sandbox Gateway talking to api, whose certificates it
// fetches through routeTransport and checks against the test PKI, adjusted
// by mods.
func newGateway(t testing.TB, api *fakeAPI, mods ...func(*paypal.Config)) *paypal.Gateway {
	t.Helper()
	p := serveTestCerts(t, api)
	cfg := paypal.Config{
		ClientID: fakeClientID, Secret: fakeSecret, WebhookID: testWebhookID, Sandbox: true,
		Roots: p.roots, BaseURL: api.URL,
		HTTPClient: &http.Client{Transport: routeTransport{fake: api}, Timeout: 10 * time.Second},
	}
	for _, m := range mods {
		m(&cfg)
	}
	g, err := paypal.New(cfg)
	require.NoError(t, err)
	return g
}

// signer signs notifications the way PayPal does: RSA PKCS #1 v1.5 over
// SHA-256 of "<transmission id>|<transmission time>|<webhook id>|<crc32>".
type signer struct {
	key       *rsa.PrivateKey
	certURL   string
	webhookID string
}

func defaultSigner(t testing.TB) signer {
	return signer{key: testCerts(t).leafKey, certURL: certURL, webhookID: testWebhookID}
}

var transmissionSeq struct {
	sync.Mutex
	n int
}

func newTransmissionID() string {
	transmissionSeq.Lock()
	defer transmissionSeq.Unlock()
	transmissionSeq.n++
	return fmt.Sprintf("%08x-4d55-11ee-9f56-dd5f48f22b28", transmissionSeq.n)
}

// sign returns body as a notification transmitted at time at.
func (s signer) sign(body []byte, at time.Time) *payments.WebhookRequest {
	id, stamp := newTransmissionID(), at.UTC().Format(time.RFC3339)
	msg := id + "|" + stamp + "|" + s.webhookID + "|" + strconv.FormatUint(uint64(crc32.ChecksumIEEE(body)), 10)
	digest := sha256.Sum256([]byte(msg))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, digest[:])
	if err != nil {
		panic(err)
	}
	h := http.Header{}
	h.Set(paypal.HeaderTransmissionID, id)
	h.Set(paypal.HeaderTransmissionTime, stamp)
	h.Set(paypal.HeaderTransmissionSig, base64.StdEncoding.EncodeToString(sig))
	h.Set(paypal.HeaderCertURL, s.certURL)
	h.Set(paypal.HeaderAuthAlgo, paypal.AuthAlgo)
	h.Set("Correlation-Id", "f4k3c0rr3l")
	h.Set("User-Agent", "PayPal/AUHD-214.0-58843114")
	return &payments.WebhookRequest{Header: h, Body: body, RemoteAddr: "173.0.82.126:443"}
}

// fixture reads testdata/events/<name>.json, an event shaped as PayPal
// sends it.
func fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "events", name+".json"))
	require.NoError(t, err)
	return b
}

// fixtures returns every event in testdata/events, for fuzz seeds.
func fixtures(t testing.TB) [][]byte {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join("testdata", "events", "*.json"))
	require.NoError(t, err)
	require.NotEmpty(t, paths)
	var out [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		out = append(out, b)
	}
	return out
}

var eventSeq struct {
	sync.Mutex
	n int
}

// eventBody returns a notification body of type typ whose resource is
// resource, with the rest of the envelope as PayPal writes it.
func eventBody(t testing.TB, typ, resourceType string, resource map[string]any) []byte {
	t.Helper()
	eventSeq.Lock()
	eventSeq.n++
	id := fmt.Sprintf("WH-%017dX-%017dY", eventSeq.n, eventSeq.n)
	eventSeq.Unlock()
	b, err := json.Marshal(map[string]any{
		"id": id, "event_version": "1.0", "create_time": time.Now().UTC().Format("2006-01-02T15:04:05.000Z"),
		"resource_type": resourceType, "resource_version": "2.0", "event_type": typ,
		"summary": "An event of the fake PayPal", "resource": resource,
		"links": []any{map[string]any{"href": fakeHost + "/v1/notifications/webhooks-events/" + id, "rel": "self", "method": "GET"}},
	})
	require.NoError(t, err)
	return b
}

// edit decodes a body, applies change to it and encodes it again.
func edit(t testing.TB, body []byte, change func(ev map[string]any)) []byte {
	t.Helper()
	var ev map[string]any
	require.NoError(t, json.Unmarshal(body, &ev))
	change(ev)
	out, err := json.Marshal(ev)
	require.NoError(t, err)
	return out
}

func resource(ev map[string]any) map[string]any { return ev["resource"].(map[string]any) }

func usd(minor int64) payments.Money { return payments.Money{Amount: minor, Currency: "USD"} }
