package appstore_test

import (
	"crypto/elliptic"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// TestConformance runs the suite against the driver in both environments
// and with validity checked at the current time. The App Store has no
// checkout, capture, cancel or refund for the suite to drive (purchases
// happen in the app; Apple refunds), so the suite runs its webhook checks;
// VerifyPurchase, which it does not exercise, is tested in
// purchase_test.go. Notifications are signed with the tests' own chain
// (pki_test.go), whose root the Gateways trust. Apple signs a time (signedDate) but the
// driver keeps no freshness window, since Apple retries a notification for
// days: Tolerance is 0. The driver is no payments.WebhookReplier: Apple
// retries a refused notification at most five times
// (https://developer.apple.com/documentation/appstoreservernotifications/responding-to-app-store-server-notifications),
// so the Service's 4xx is kept (AcknowledgesRejected false).
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name   string
		env    appstore.Environment
		mutate func(*appstore.Config)
	}{
		{"production", appstore.Production, func(*appstore.Config) {}},
		{"sandbox", appstore.Sandbox, sandbox},
		{"checked at the current time", appstore.Production, func(c *appstore.Config) { c.CheckAtCurrentTime = true }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			gatewaytest.RunConformance(t, conformanceHarness(t, newGateway(t, tc.mutate), newSigner(t, tc.env)))
		})
	}
}

func conformanceHarness(t *testing.T, g *appstore.Gateway, s *signer) gatewaytest.Harness {
	// oneTimeCharge is a ONE_TIME_CHARGE of 10.99 USD, signed at at, with
	// an appAccountToken unless the account is unknown.
	oneTimeCharge := func(at time.Time, withAccount bool) map[string]any {
		edits := map[string]any{"appAccountToken": newUUID(t)}
		if !withAccount {
			edits["appAccountToken"] = nil
		}
		return s.notification("ONE_TIME_CHARGE", "", at, s.transaction(newTransactionID(), at, edits), nil)
	}
	return gatewaytest.Harness{
		Gateway: g,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return s.request(oneTimeCharge(at, true))
		},
		// The tests' chain in x5c, signed by a key that is not its leaf's.
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			wrong := chain{key: mustKey(t, elliptic.P256()), x5c: s.chain.x5c}
			return bodyRequest(mustJSON(t, map[string]string{"signedPayload": wrong.sign(t, mustJSON(t, oneTimeCharge(at, true)))}))
		},
		// The JWS without its signature segment.
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			var body map[string]string
			require.NoError(t, json.Unmarshal(req.Body, &body))
			jws := body["signedPayload"]
			body["signedPayload"] = jws[:strings.LastIndex(jws, ".")]
			req.Body = mustJSON(t, body)
		},
		Tolerance: 0,
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return s.request(oneTimeCharge(at, false))
		},
		Amount: money(t, "10.99", "USD"),
	}
}

// signedPayloadRequest signs body as a notification's payload with the
// tests' chain: the fuzz targets' way past the signature, to the decoder and
// the translation behind it.
func signedPayloadRequest(s *signer, body []byte) *payments.WebhookRequest {
	wrapped, err := json.Marshal(map[string]string{"signedPayload": s.chain.jws(body)})
	if err != nil {
		panic(err)
	}
	return bodyRequest(wrapped)
}

// fuzzSeeds are notification payloads of every type the driver acts on,
// shaped like Apple's, for this app.
func fuzzSeeds(t testing.TB, s *signer) [][]byte {
	now := time.Now()
	sub := map[string]any{"type": "Auto-Renewable Subscription", "expiresDate": now.Add(720 * time.Hour).UnixMilli()}
	var seeds [][]byte
	for _, n := range []map[string]any{
		s.notification("ONE_TIME_CHARGE", "", now, s.transaction(newTransactionID(), now, nil), nil),
		s.notification("SUBSCRIBED", "INITIAL_BUY", now, s.transaction(newTransactionID(), now, sub), nil),
		s.notification("DID_RENEW", "", now, s.transaction(newTransactionID(), now, sub), nil),
		s.notification("REFUND", "", now, s.transaction(newTransactionID(), now, map[string]any{
			"revocationDate": now.UnixMilli(), "revocationReason": 0, "revocationType": "REFUND_PRORATED", "revocationPercentage": 33333}), nil),
		s.notification("REFUND_REVERSED", "", now, s.transaction(newTransactionID(), now, nil), nil),
		s.notification("CONSUMPTION_REQUEST", "", now, s.transaction(newTransactionID(), now, nil), map[string]any{"consumptionRequestReason": "UNINTENDED_PURCHASE"}),
		s.notification("EXPIRED", "VOLUNTARY", now, s.transaction(newTransactionID(), now, sub), nil),
		s.notification("TEST", "", now, nil, nil),
	} {
		seeds = append(seeds, mustJSON(t, n))
	}
	return seeds
}

// FuzzParseWebhook feeds the notification decoder and the translation
// fuzzed payloads, each signed with the tests' chain, seeded with
// payloads of every type the driver acts on.
func FuzzParseWebhook(f *testing.F) {
	s := newSigner(f, appstore.Production)
	g := newGateway(f)
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest {
		return signedPayloadRequest(s, body)
	}, fuzzSeeds(f, s)...)
}

// FuzzParseWebhookUnsigned feeds ParseWebhook fuzzed bodies as they
// arrive: the JWS, header, x5c and certificate parsing in front of the
// signature check. Seeds are signed notifications of every type and the
// shapes Apple's own samples have: a notification for another bundle, a
// JWS without x5c and a StoreKit 1 receipt.
func FuzzParseWebhookUnsigned(f *testing.F) {
	s := newSigner(f, appstore.Sandbox)
	g := newGateway(f, sandbox)
	var seeds [][]byte
	for _, p := range fuzzSeeds(f, s) {
		seeds = append(seeds, signedPayloadRequest(s, p).Body)
	}
	test := mustJSON(f, s.notification("TEST", "", time.Now(), nil, nil))
	for _, jws := range []string{
		s.chain.jws(mustJSON(f, s.notification("TEST", "", time.Now(), nil, map[string]any{"bundleId": "com.example.other"}))),
		signJWS(s.chain.key, map[string]any{"alg": "ES256", "typ": "JWT"}, test),
		base64.StdEncoding.EncodeToString([]byte("a StoreKit 1 receipt is PKCS #7, not a JWS")),
	} {
		seeds = append(seeds, mustJSON(f, map[string]string{"signedPayload": jws}))
	}
	gatewaytest.FuzzWebhook(f, g, nil, seeds...)
}

// TestFuzzSignerReachesTranslation makes sure FuzzParseWebhook's signer
// gets its seeds past the signature check.
func TestFuzzSignerReachesTranslation(t *testing.T) {
	s := newSigner(t, appstore.Production)
	g := newGateway(t)
	for _, seed := range fuzzSeeds(t, s) {
		c, err := g.ParseWebhook(t.Context(), signedPayloadRequest(s, seed))
		require.NoError(t, err, "%s", seed)
		require.NoError(t, c.Validate(g.Name()))
	}
}

// FuzzSignedTransaction feeds the translation fuzzed transactions: each
// input is a transaction payload, signed with the tests' chain and
// delivered in a signed REFUND (when it mentions revocationDate) or
// ONE_TIME_CHARGE notification, so that prices, currencies, quantities
// and revocation percentages of every shape reach the ledger arithmetic.
func FuzzSignedTransaction(f *testing.F) {
	s := newSigner(f, appstore.Production)
	g := newGateway(f, func(c *appstore.Config) {
		c.Prices = map[string]payments.Money{"com.example.product": {Amount: 499, Currency: "USD"}}
	})
	now := time.Now()
	var seeds [][]byte
	for _, edits := range []map[string]any{
		nil,
		{"price": 480000, "currency": "JPY"},
		{"price": 1234, "currency": "KWD", "quantity": 3},
		{"price": nil, "currency": nil, "quantity": 7},
		{"price": 0, "offerDiscountType": "FREE_TRIAL"},
		{"revocationDate": now.UnixMilli(), "revocationType": "REFUND_PRORATED", "revocationPercentage": 33333},
		{"revocationDate": now.UnixMilli(), "revocationType": "REFUND_FULL"},
		{"inAppOwnershipType": "FAMILY_SHARED"},
	} {
		seeds = append(seeds, mustJSON(f, s.transaction(newTransactionID(), now, edits)))
	}
	gatewaytest.FuzzWebhook(f, g, func(tx []byte) *payments.WebhookRequest {
		typ := "ONE_TIME_CHARGE"
		if strings.Contains(string(tx), "revocationDate") {
			typ = "REFUND"
		}
		n := map[string]any{"notificationType": typ, "notificationUUID": "6f1c3e2a-8b4d-4f6e-a1c2-3d4e5f6a7b8c",
			"version": "2.0", "signedDate": now.UnixMilli(), "data": map[string]any{
				"appAppleId": appAppleID, "bundleId": bundleID, "environment": "Production",
				"signedTransactionInfo": s.chain.jws(tx)}}
		payload, err := json.Marshal(n)
		if err != nil {
			panic(err)
		}
		return signedPayloadRequest(s, payload)
	}, seeds...)
}
