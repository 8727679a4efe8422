package paypal_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/internal/testvectors"
)

// The tests in this file are opt-in: they verify notifications PayPal
// signed, as PayPal's SDKs publish them in their tests, from files that are
// not committed here but read from $PAYMENTS_VECTORS/paypal; they skip when
// the files are not there, in CI too (testdata/README.md). What they check,
// the other tests check on the tests' own PKI (helpers_test.go).

// The commits of PayPal's SDKs the samples were copied from.
const (
	paypalNode   = "paypal/PayPal-node-SDK@965a132d7f5d5880840e55d82f9dbc80eb44e159"
	paypalPython = "paypal/PayPal-Python-SDK@0d704e7d3bb0c9c77db1edc34801709e43440710"
	paypalNET    = "paypal/PayPal-NET-SDK@ec14d73c35b319f2072f65b755a802d653b8133a"
	paypalJava   = "paypal/PayPal-Java-SDK@2a34212256626707c89d9c0d9ac7bcdb5935fa5e"
	paypalPHP    = "paypal/PayPal-PHP-SDK@1a2ed767bb09374a8a222069930e94fccf99009e"
)

// sdkFiles are the files under $PAYMENTS_VECTORS/paypal, each copied byte
// for byte from where it says.
var sdkFiles = []testvectors.File{
	{Name: "node-python-sale-completed-2015-05-18.json", Source: paypalNode + " test/notification.js, eventBody; the same as self.event_body of " +
		paypalPython + " test/unit_tests/notifications_test.py"},
	{Name: "net-sale-completed-2015-05-12.json", Source: paypalNET + " Source/Tests/WebhookEventTest.cs, requestBody of WebhookEventValidateReceivedEventValidTest"},
	{Name: "java-billing-plan-created-2017-03-30.json", Source: paypalJava + " rest-api-sdk/src/test/java/com/paypal/base/ValidateCertTest.java, requestBody of setUp"},
	{Name: "php-payments-payment-created-2019-08-29.json", Source: paypalPHP + " sample/notifications/ValidateWebhookEvent.php, $requestBody"},
	{Name: "CERT-360caa42-fca2a594-a5cafa77.pem", Source: paypalNode + " test/mocks/notification.js, the nock recording of https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77 (2756 bytes, CRLF line ends)"},
	{Name: "java-testClientCert.pem", Source: paypalJava + " rest-api-sdk/src/test/resources/testClientCert.crt"},
	{Name: "DigiCertSHA2ExtendedValidationServerCA.pem", Source: paypalPython + " paypalrestsdk/data/DigiCertSHA2ExtendedValidationServerCA.crt.pem"},
	{Name: "DigiCertHighAssuranceEVRootCA.pem", Source: paypalPython + " paypalrestsdk/data/DigiCertHighAssuranceEVRootCA.crt.pem"},
}

// The DigiCert root PayPal's SDKs trust and the intermediate they ship,
// which PayPal's certificate URL did not serve.
const (
	sdkRoot         = "DigiCertHighAssuranceEVRootCA.pem"
	sdkIntermediate = "DigiCertSHA2ExtendedValidationServerCA.pem"
)

// sdkSampleIndex lists the notifications with the webhook id and headers
// each SDK's test verifies them with, quoted from those tests: the body
// and the certificate are files of sdkFiles.
var sdkSampleIndex = []struct {
	name      string
	webhookID string
	headers   map[string]string
	body      string
	cert      string // "" when no SDK has the certificate
	verifies  bool
}{
	{
		// paypal/PayPal-node-SDK test/notification.js, 'verify webhook event
		// success' (certURL, transmissionId, timeStamp, webhookId,
		// actualSignature), and PayPal-Python-SDK
		// test/unit_tests/notifications_test.py, TestWebhookEvents.setUp and
		// test_verify, which passes the auth algorithm too.
		name: "node-python-sale-completed-2015-05-18", webhookID: "4JH86294D6297924G",
		headers: map[string]string{
			"Paypal-Transmission-Id":   "dfb3be50-fd74-11e4-8bf3-77339302725b",
			"Paypal-Transmission-Time": "2015-05-18T15:45:13Z",
			"Paypal-Transmission-Sig":  "thy4/U002quzxFavHPwbfJGcc46E8rc5jzgyeafWm5mICTBdY/8rl7WJpn8JA0GKA+oDTPsSruqusw+XXg5RLAP7ip53Euh9Xu3UbUhQFX7UgwzE2FeYoY6lyRMiiiQLzy9BvHfIzNIVhPad4KnC339dr6y2l+mN8ALgI4GCdIh3/SoJO5wE64Bh/ueWtt8EVuvsvXfda2Le5a2TrOI9vLEzsm9GS79hAR/5oLexNz8UiZr045Mr5ObroH4w4oNfmkTaDk9Rj0G19uvISs5QzgmBpauKr7Nw++JI0pr/v5mFctQkoWJSGfBGzPRXawrvIIVHQ9Wer48GR2g9ZiApWg==",
			"Paypal-Cert-Url":          "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
			"Paypal-Auth-Algo":         "SHA256withRSA",
		},
		body: "node-python-sale-completed-2015-05-18.json", cert: "CERT-360caa42-fca2a594-a5cafa77.pem", verifies: true,
	},
	{
		// paypal/PayPal-NET-SDK Source/Tests/WebhookEventTest.cs,
		// WebhookEventValidateReceivedEventValidTest: requestHeaders and
		// webhookId; the certificate is the same as the Node SDK's.
		name: "net-sale-completed-2015-05-12", webhookID: "3RN13029J36659323",
		headers: map[string]string{
			"Paypal-Transmission-Id":   "b2384410-f8d2-11e4-8bf3-77339302725b",
			"Paypal-Transmission-Time": "2015-05-12T18:14:14Z",
			"Paypal-Transmission-Sig":  "vSOIQFIZQHv8G2vpbOpD/4fSC4/MYhdHyv+AmgJyeJQq6q5avWyHIe/zL6qO5hle192HSqKbYveLoFXGJun2od2zXN3Q45VBXwdX3woXYGaNq532flAtiYin+tQ/0pNwRDsVIufCxa3a8HskaXy+YEfXNnwCSL287esD3HgOHmuAs0mYKQdbR4e8Evk8XOOQaZzGeV7GNXXz19gzzvyHbsbHmDz5VoRl9so5OoHqvnc5RtgjZfG8KA9lXh2MTPSbtdTLQb9ikKYnOGM+FasFMxk5stJisgmxaefpO9Q1qm3rCjaJ29aAOyDNr3Q7WkeN3w4bSXtFMwyRBOF28pJg9g==",
			"Paypal-Cert-Url":          "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77",
			"Paypal-Auth-Algo":         "SHA256withRSA",
			"Paypal-Auth-Version":      "v2",
		},
		body: "net-sale-completed-2015-05-12.json", cert: "CERT-360caa42-fca2a594-a5cafa77.pem", verifies: true,
	},
	{
		// paypal/PayPal-Java-SDK ValidateCertTest.setUp: headers and
		// PAYPAL_WEBHOOK_ID; testValidEndpoint. The cert URL is the one the
		// test mocks (PayPal serves real certificates under
		// /v1/notifications/certs/), serving testClientCert.crt.
		name: "java-billing-plan-created-2017-03-30", webhookID: "96605875FF6516633",
		headers: map[string]string{
			"Paypal-Transmission-Id":   "071f7d20-1584-11e7-abf0-6b62a8a99ac4",
			"Paypal-Transmission-Time": "2017-03-30T20:04:05Z",
			"Paypal-Transmission-Sig":  "aBjgm5/xljRYu3G64Q0axISrP2xcy7WbW1u4UTCKnQvyprOZ1a1BBmqn2Jdr6ce8E76I3Ti/AL9y4VYSHyGSEaoE6dVQcCDebLbOXLH0fjTAbTc1/rmfdWmsk0DPltW84Y8W8jOHe3CLWDOwg5zmozyt+AceG2x5eOiw7mLSycaEoj/5RG+dOIWXnmWcLEArbG3VFshy0wuhZrKuGa9C/bD4Ku+Y9gK7Bv5I5IuGRVnTGpcFnVG0KxOyJxccLGyBVCIUMY5IZS7LkmJszQ3HZZFDTNihvgJHECSLwLhzUaysIye5G6CbbLdtAmeeb6wiDciEAvr2dFf+SplOR4Lrng==",
			"Paypal-Cert-Url":          "https://api.sandbox.paypal.com/v1/notifications/test",
			"Paypal-Auth-Algo":         "SHA256withRSA",
		},
		body: "java-billing-plan-created-2017-03-30.json", cert: "java-testClientCert.pem", verifies: true,
	},
	{
		// paypal/PayPal-PHP-SDK sample/notifications/ValidateWebhookEvent.php:
		// $headers and setWebhookId. Its certificate is in no PayPal SDK and
		// cannot be fetched here, so the driver refuses the notification.
		name: "php-payments-payment-created-2019-08-29", webhookID: "0FV983392A0531201",
		headers: map[string]string{
			"Paypal-Auth-Algo":         "SHA256withRSA",
			"Paypal-Cert-Url":          "https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-1d93a270",
			"Paypal-Auth-Version":      "v2",
			"Paypal-Transmission-Sig":  "K7DF5+hOyGS6v0xTZ9PkEO+BFNQmpryxw2hFlXbHgmxpu+883ldEC9HcL6ccEmB8sfy80y/Q3qcZZL1MR8Qi0e1ysylVj/yROgKK6zBsQPoNmgXC8yTiNoAjULuhk5Aoau0Itk3nrkgAfji1zvADlErMFM9VZe2nDvhM3nDMLjCi/K5fRjWp3eGo6Nx17GX/WIEibeKDyS+YdJMex3i+KO4aWmm9zznC/FJ5Y/ntd0MxOJNrM0r0f3y7c3e3sO5pB3oPgN6KzKVS5P6AWHqtS8acD3DjgCKZ1uqKz7q954G1aBz2/m0wRGOFFsv0/D3FE2uIheRRmoQtVSOAX7Aupg==",
			"Paypal-Transmission-Time": "2019-08-29T10:49:33Z",
			"Paypal-Transmission-Id":   "afa30d40-ca4a-11e9-ab68-7d4e2605c70c",
		},
		body: "php-payments-payment-created-2019-08-29.json",
	},
}

// sdkSample is a notification PayPal signed, as one of PayPal's SDKs
// publishes it in its tests.
type sdkSample struct {
	name      string
	webhookID string
	header    http.Header
	body      []byte
	certURL   string
	cert      []byte // nil when no SDK has the certificate
	verifies  bool
}

// loadSDKSamples reads the samples and the DigiCert certificates from dir.
func loadSDKSamples(t testing.TB, dir string) (samples []sdkSample, roots, inters *x509.CertPool) {
	t.Helper()
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join(dir, name))
		require.NoError(t, err)
		return b
	}
	pool := func(name string) *x509.CertPool {
		p := x509.NewCertPool()
		require.True(t, p.AppendCertsFromPEM(read(name)), name)
		return p
	}
	for _, s := range sdkSampleIndex {
		h := http.Header{}
		for k, v := range s.headers {
			h.Set(k, v)
		}
		sample := sdkSample{name: s.name, webhookID: s.webhookID, header: h, body: read(s.body),
			certURL: s.headers[paypal.HeaderCertURL], verifies: s.verifies}
		if s.cert != "" {
			sample.cert = read(s.cert)
		}
		samples = append(samples, sample)
	}
	return samples, pool(sdkRoot), pool(sdkIntermediate)
}

// sdkVectors returns the samples when $PAYMENTS_VECTORS/paypal holds them,
// and skips t otherwise.
func sdkVectors(t testing.TB, checks string) (samples []sdkSample, roots, inters *x509.CertPool, dir string) {
	t.Helper()
	dir = testvectors.Dir(t, "paypal", checks, sdkFiles)
	samples, roots, inters = loadSDKSamples(t, dir)
	return samples, roots, inters, dir
}

// sdkSampleBodies are the samples' bodies when $PAYMENTS_VECTORS/paypal
// holds them, and none otherwise: extra fuzz seeds, never a reason to skip.
func sdkSampleBodies(t testing.TB) [][]byte {
	t.Helper()
	dir, missing := testvectors.Find("paypal", sdkFiles)
	if len(missing) > 0 {
		return nil
	}
	samples, _, _ := loadSDKSamples(t, dir)
	var bodies [][]byte
	for _, s := range samples {
		bodies = append(bodies, s.body)
	}
	return bodies
}

// TestPayPalSignedSamples verifies the notifications PayPal signed and
// published in its SDKs' tests, offline, on their raw bytes, each at its
// transmission time: their certificates expired years ago, as a journaled
// notification's will have when it is replayed. The certificates chain to
// the DigiCert root PayPal's SDKs trust, through the intermediate they ship,
// which PayPal's certificate URL did not serve. Every sample is a Payments
// v1 or Billing event, verified and then ignored.
func TestPayPalSignedSamples(t *testing.T) {
	samples, roots, inters, _ := sdkVectors(t, "the notifications PayPal signed in its SDKs' tests, verified offline at their transmission time")
	for _, s := range samples {
		t.Run(s.name, func(t *testing.T) {
			api := newFakeAPI(t)
			u, err := url.Parse(s.certURL)
			require.NoError(t, err)
			if s.cert != nil {
				api.serveCert(u.Path, s.cert)
			}
			g := newGateway(t, api, func(c *paypal.Config) {
				c.WebhookID, c.Roots, c.Intermediates = s.webhookID, roots, inters
			})
			request := func(body []byte, replay bool) *payments.WebhookRequest {
				return &payments.WebhookRequest{Header: s.header.Clone(), Body: bytes.Clone(body), Replay: replay}
			}
			ctx := context.Background()
			if !s.verifies {
				_, err := g.ParseWebhook(ctx, request(s.body, true))
				assert.ErrorIs(t, err, payments.ErrUnauthenticated, "no certificate for it can be had")
				assert.ErrorContains(t, err, "certificate "+s.certURL+": answered 404")
				return
			}
			c, err := g.ParseWebhook(ctx, request(s.body, true))
			require.NoError(t, err, "PayPal signed it")
			assert.True(t, c.Empty(), "a %s event moves nothing here", c.EventType)
			assert.NotEmpty(t, c.Note)
			assert.NotEmpty(t, c.EventID)

			_, err = g.ParseWebhook(ctx, request(s.body, false))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, "as a live delivery it is years stale")
			tampered := bytes.Clone(s.body)
			tampered[len(tampered)/2] ^= 0x01
			_, err = g.ParseWebhook(ctx, request(tampered, true))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, "one byte changed")

			other := newGateway(t, api, func(c *paypal.Config) {
				c.WebhookID, c.Roots, c.Intermediates = "3RN13029J36659324", roots, inters
			})
			_, err = other.ParseWebhook(ctx, request(s.body, true))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, "sent to another webhook")

			untrusted := newGateway(t, api, func(c *paypal.Config) {
				c.WebhookID, c.Intermediates = s.webhookID, inters // the test PKI's roots, not DigiCert's
			})
			_, err = untrusted.ParseWebhook(ctx, request(s.body, true))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, "chained to a root this gateway does not trust")
		})
	}
}

// TestPayPalSampleIntermediate: PayPal's certificate URL served its leaf
// alone in 2015, so the chain to the root needs the intermediate, from
// Config.Intermediates or from where the leaf's Authority Information
// Access says: http://cacerts.digicert.com/DigiCertSHA2ExtendedValidationServerCA.crt,
// served here by the fake with the copy PayPal's SDK ships.
func TestPayPalSampleIntermediate(t *testing.T) {
	samples, roots, _, dir := sdkVectors(t, "the chain of PayPal's 2015 certificate completed with the intermediate its Authority Information Access names")
	s := samples[0]
	api := newFakeAPI(t)
	u, err := url.Parse(s.certURL)
	require.NoError(t, err)
	api.serveCert(u.Path, s.cert)
	parse := func() error {
		g := newGateway(t, api, func(c *paypal.Config) { c.WebhookID, c.Roots = s.webhookID, roots })
		_, err := g.ParseWebhook(context.Background(), &payments.WebhookRequest{Header: s.header, Body: s.body, Replay: true})
		return err
	}
	err = parse()
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.ErrorContains(t, err, "certificate chain")

	leaf, err := parseOne(s.cert)
	require.NoError(t, err)
	require.Equal(t, []string{"http://cacerts.digicert.com/DigiCertSHA2ExtendedValidationServerCA.crt"}, leaf.IssuingCertificateURL)
	api.serveCert("/DigiCertSHA2ExtendedValidationServerCA.crt", intermediateDER(t, dir))
	assert.NoError(t, parse(), "the intermediate fetched where the leaf says")
}

func parseOne(pemBytes []byte) (*x509.Certificate, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, errors.New("no PEM block")
	}
	return x509.ParseCertificate(block.Bytes)
}

// intermediateDER is DigiCert's intermediate as PayPal's SDK ships it, in
// DER as cacerts.digicert.com serves it.
func intermediateDER(t *testing.T, dir string) []byte {
	b, err := os.ReadFile(filepath.Join(dir, sdkIntermediate))
	require.NoError(t, err)
	c, err := parseOne(b)
	require.NoError(t, err)
	return c.Raw
}
