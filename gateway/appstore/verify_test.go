package appstore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

// TestSignedDataOutcomes reproduces, on the tests' own PKI and payloads,
// the outcome each of Apple's SignedDataVerifier tests asserts on Apple's
// signed samples (TestAppleVectors runs those samples themselves, opt-in).
func TestSignedDataOutcomes(t *testing.T) {
	s := newSigner(t, appstore.Sandbox)
	now := time.Now()
	uuid := newUUID(t)
	test := edit(s.notification("TEST", "", now, nil, nil), map[string]any{"notificationUUID": uuid})
	signedTest := s.chain.sign(t, mustJSON(t, test))
	missingX5C := signJWS(s.chain.key, map[string]any{"alg": "ES256", "typ": "JWT"}, mustJSON(t, test))
	wrongBundle := s.chain.sign(t, mustJSON(t, s.notification("TEST", "", now, nil, map[string]any{"bundleId": "com.example.other"})))
	legacy := base64.StdEncoding.EncodeToString([]byte("a StoreKit 1 receipt is PKCS #7, not a JWS"))
	body := func(jws string) []byte { return mustJSON(t, map[string]string{"signedPayload": jws}) }
	withAppID := func(id int64) func(*appstore.Config) { return func(c *appstore.Config) { c.AppAppleID = id } }
	for _, tc := range []struct {
		name   string
		body   []byte
		mutate []func(*appstore.Config)
		want   error // nil: decodes as TEST
		also   error
	}{
		{"a notification of the Gateway's environment decodes", body(signedTest), []func(*appstore.Config){sandbox}, nil, nil},
		{"a notification of the other environment", body(signedTest), nil, payments.ErrUnauthenticated, appstore.ErrWrongEnvironment},
		{"no x5c in the header", body(missingX5C), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"another bundle id", body(wrongBundle), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, appstore.ErrWrongApp},
		{"another app Apple id", body(signedTest), []func(*appstore.Config){withAppID(1235)}, payments.ErrUnauthenticated, appstore.ErrWrongApp},
		{"a JWS of four segments", body("a.b.c.d"), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"a JWS of garbage segments", body("a.b.c"), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"a StoreKit 1 receipt", body(legacy), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, tc.mutate...)
			n, err := g.DecodeNotification(tc.body)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "TEST", string(n.NotificationType))
				assert.Equal(t, uuid, n.NotificationUUID)
				c, err := g.ParseWebhook(t.Context(), bodyRequest(tc.body))
				require.NoError(t, err)
				assert.True(t, c.Empty(), "TEST is ignored")
				return
			}
			assert.ErrorIs(t, err, tc.want)
			if tc.also != nil {
				assert.ErrorIs(t, err, tc.also)
			}
			_, err = g.ParseWebhook(t.Context(), bodyRequest(tc.body))
			assert.ErrorIs(t, err, tc.want)
		})
	}

	signedTx := s.chain.sign(t, mustJSON(t, s.transaction(newTransactionID(), now, nil)))
	t.Run("a transaction decodes", func(t *testing.T) {
		tx, err := newGateway(t, sandbox).DecodeTransactionForTest(signedTx)
		require.NoError(t, err)
		assert.Equal(t, appstore.Sandbox, tx.Environment)
	})
	t.Run("renewal info decodes", func(t *testing.T) {
		info, err := newGateway(t, sandbox).DecodeRenewalInfoForTest(s.chain.sign(t, mustJSON(t, s.renewalInfo("1", now))))
		require.NoError(t, err)
		assert.Equal(t, appstore.Sandbox, info.Environment)
	})
	t.Run("a transaction of another bundle id", func(t *testing.T) {
		_, err := newGateway(t, sandbox, func(c *appstore.Config) { c.BundleID = "com.example.x" }).DecodeTransactionForTest(signedTx)
		assert.ErrorIs(t, err, appstore.ErrWrongApp)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
	t.Run("a notification decoded as a transaction names no bundle", func(t *testing.T) {
		_, err := newGateway(t, sandbox, withAppID(1235)).DecodeTransactionForTest(signedTest)
		assert.ErrorIs(t, err, appstore.ErrWrongApp)
	})
}

// TestMalformedSignedData: whatever arrives, the verifier answers
// ErrUnauthenticated and never panics.
func TestMalformedSignedData(t *testing.T) {
	s := newSigner(t, appstore.Production)
	g := newGateway(t)
	valid := s.chain.sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil)))
	parts := strings.Split(valid, ".")
	header := func(h map[string]any) string { return b64url.EncodeToString(mustJSON(t, h)) }
	resign := func(h string) string {
		// A well-signed JWS under header h, so only h is at fault.
		input := h + "." + parts[1]
		digest := sha256.Sum256([]byte(input))
		r, ss, err := ecdsa.Sign(rand.Reader, s.chain.key, digest[:])
		require.NoError(t, err)
		return input + "." + b64url.EncodeToString(append(r.FillBytes(make([]byte, 32)), ss.FillBytes(make([]byte, 32))...))
	}
	x5c := s.chain.x5c
	for name, jws := range map[string]string{
		"empty":                       "",
		"one segment":                 parts[0],
		"two segments":                parts[0] + "." + parts[1],
		"four segments":               valid + ".x",
		"empty signature":             parts[0] + "." + parts[1] + ".",
		"garbage base64 header":       "!!!." + parts[1] + "." + parts[2],
		"padded header":               parts[0] + "=." + parts[1] + "." + parts[2],
		"garbage base64 payload":      parts[0] + ".***." + parts[2],
		"garbage base64 signature":    parts[0] + "." + parts[1] + ".%%%",
		"short signature":             parts[0] + "." + parts[1] + "." + b64url.EncodeToString(make([]byte, 63)),
		"DER signature":               parts[0] + "." + parts[1] + "." + b64url.EncodeToString(append([]byte{0x30, 0x44}, make([]byte, 68)...)),
		"payload not JSON":            parts[0] + "." + b64url.EncodeToString([]byte("TEST")) + "." + parts[2],
		"payload a JSON array":        parts[0] + "." + b64url.EncodeToString([]byte("[1]")) + "." + parts[2],
		"signedDate a string":         parts[0] + "." + b64url.EncodeToString([]byte(`{"signedDate":"1681314324000"}`)) + "." + parts[2],
		"no x5c":                      resign(header(map[string]any{"alg": "ES256"})),
		"x5c null":                    resign(header(map[string]any{"alg": "ES256", "x5c": nil})),
		"empty x5c":                   resign(header(map[string]any{"alg": "ES256", "x5c": []string{}})),
		"x5c not a list":              resign(header(map[string]any{"alg": "ES256", "x5c": x5c[0]})),
		"x5c of numbers":              resign(header(map[string]any{"alg": "ES256", "x5c": []int{1, 2, 3}})),
		"X5C in capitals":             resign(header(map[string]any{"alg": "ES256", "X5C": x5c})),
		"x5c entries base64url":       resign(header(map[string]any{"alg": "ES256", "x5c": []string{strings.NewReplacer("+", "-", "/", "_").Replace(x5c[0]), x5c[1], x5c[2]}})),
		"x5c garbage":                 resign(header(map[string]any{"alg": "ES256", "x5c": []string{"abc", "def", "ghi"}})),
		"alg none":                    resign(header(map[string]any{"alg": "none", "x5c": x5c})),
		"alg HS256":                   resign(header(map[string]any{"alg": "HS256", "x5c": x5c})),
		"alg ES384":                   resign(header(map[string]any{"alg": "ES384", "x5c": x5c})),
		"no alg":                      resign(header(map[string]any{"x5c": x5c})),
		"header not an object":        resign(b64url.EncodeToString([]byte(`["ES256"]`))),
		"header null":                 resign(b64url.EncodeToString([]byte(`null`))),
		"signed by another key":       chain{key: mustKey(t, elliptic.P256()), x5c: x5c}.sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil))),
		"leaf key on the wrong curve": mintLeaf(t, elliptic.P384(), true, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)).sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil))),
		"leaf without the OID":        mintLeaf(t, elliptic.P256(), false, time.Now().Add(-time.Hour), time.Now().Add(time.Hour)).sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil))),
		"leaf expired at signedDate":  mintLeaf(t, elliptic.P256(), true, time.Now().Add(-2*time.Hour), time.Now().Add(-time.Hour)).sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil))),
		"leaf not yet valid":          mintLeaf(t, elliptic.P256(), true, time.Now().Add(time.Hour), time.Now().Add(2*time.Hour)).sign(t, mustJSON(t, s.notification("TEST", "", time.Now(), nil, nil))),
		"too large":                   strings.Repeat("A", 300<<10) + "." + parts[1] + "." + parts[2],
	} {
		t.Run(name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				_, err := g.DecodeNotification(mustJSON(t, map[string]string{"signedPayload": jws}))
				assert.ErrorIs(t, err, payments.ErrUnauthenticated)
			})
		})
	}
	t.Run("the valid one verifies", func(t *testing.T) {
		n, err := g.DecodeNotification(mustJSON(t, map[string]string{"signedPayload": valid}))
		require.NoError(t, err)
		assert.Equal(t, "TEST", string(n.NotificationType))
	})
	t.Run("bodies without a signedPayload", func(t *testing.T) {
		for _, body := range []string{"", "{}", "null", "[]", `{"signedPayload":null}`, `{"signedPayload":1}`,
			`{"signedPayload":""}`, `{"signedpayload":"` + valid + `"}`, `{"signedPayload":["` + valid + `"]}`} {
			_, err := g.DecodeNotification([]byte(body))
			assert.ErrorIs(t, err, payments.ErrUnauthenticated, body)
		}
		_, err := g.ParseWebhook(t.Context(), nil)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

func mustKey(t testing.TB, curve elliptic.Curve) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	return k
}

// TestValidityTime: the chain is checked at the payload's signedDate, so a
// notification signed while its leaf was valid verifies after the leaf
// expired; CheckAtCurrentTime checks at the clock instead.
func TestValidityTime(t *testing.T) {
	notBefore, notAfter := time.Now().Add(-48*time.Hour), time.Now().Add(-24*time.Hour)
	leaf := mintLeaf(t, elliptic.P256(), true, notBefore, notAfter)
	s := newSigner(t, appstore.Production)
	signedAt := notBefore.Add(time.Hour)
	body := mustJSON(t, map[string]string{"signedPayload": leaf.sign(t, mustJSON(t, s.notification("TEST", "", signedAt, nil, nil)))})

	_, err := newGateway(t).DecodeNotification(body)
	assert.NoError(t, err, "valid at its signedDate, a day before the leaf expired")

	_, err = newGateway(t, func(c *appstore.Config) { c.CheckAtCurrentTime = true }).DecodeNotification(body)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated, "the leaf has expired by now")

	clock := func() time.Time { return signedAt }
	_, err = newGateway(t, func(c *appstore.Config) { c.CheckAtCurrentTime = true; c.Now = clock }).DecodeNotification(body)
	assert.NoError(t, err, "at a current time within the leaf's validity")

	// Without a signedDate, Apple's libraries check at the current time.
	undated := s.notification("TEST", "", signedAt, nil, nil)
	delete(undated, "signedDate")
	body = mustJSON(t, map[string]string{"signedPayload": leaf.sign(t, mustJSON(t, undated))})
	_, err = newGateway(t).DecodeNotification(body)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	_, err = newGateway(t, func(c *appstore.Config) { c.Now = clock }).DecodeNotification(body)
	assert.NoError(t, err)
}

// TestNestedPayloadsChecked: the transaction and renewal info inside a
// notification are verified and checked against the app and environment
// on their own.
func TestNestedPayloadsChecked(t *testing.T) {
	s := newSigner(t, appstore.Production)
	g := newGateway(t)
	now := time.Now()
	sub := s.transaction(newTransactionID(), now, map[string]any{"type": "Auto-Renewable Subscription"})
	for name, tc := range map[string]struct {
		data map[string]any
		also error
	}{
		"transaction of another bundle":     {map[string]any{"signedTransactionInfo": s.chain.sign(t, mustJSON(t, edit(s.transaction(newTransactionID(), now, nil), map[string]any{"bundleId": "com.other"})))}, appstore.ErrWrongApp},
		"transaction of the sandbox":        {map[string]any{"signedTransactionInfo": s.chain.sign(t, mustJSON(t, edit(s.transaction(newTransactionID(), now, nil), map[string]any{"environment": "Sandbox"})))}, appstore.ErrWrongEnvironment},
		"renewal info of the sandbox":       {map[string]any{"signedRenewalInfo": s.chain.sign(t, mustJSON(t, edit(s.renewalInfo("1", now), map[string]any{"environment": "Sandbox"})))}, appstore.ErrWrongEnvironment},
		"transaction signed by another key": {map[string]any{"signedTransactionInfo": chain{key: mustKey(t, elliptic.P256()), x5c: s.chain.x5c}.sign(t, mustJSON(t, s.transaction(newTransactionID(), now, nil)))}, nil},
		"renewal info not a JWS":            {map[string]any{"signedRenewalInfo": "signed_renewal_info_value"}, nil},
		"notification of another app id":    {map[string]any{"appAppleId": 4321}, appstore.ErrWrongApp},
	} {
		t.Run(name, func(t *testing.T) {
			req := s.request(s.notification("SUBSCRIBED", "INITIAL_BUY", now, sub, tc.data))
			_, err := g.ParseWebhook(t.Context(), req)
			assert.ErrorIs(t, err, payments.ErrUnauthenticated)
			if tc.also != nil {
				assert.ErrorIs(t, err, tc.also)
			}
		})
	}
	t.Run("a Sandbox Gateway takes no app id", func(t *testing.T) {
		ss := newSigner(t, appstore.Sandbox)
		req := ss.request(ss.notification("TEST", "", now, nil, map[string]any{"appAppleId": nil}))
		_, err := newGateway(t, sandbox).ParseWebhook(t.Context(), req)
		assert.NoError(t, err)
	})
	t.Run("summary and external purchase token notifications name their app", func(t *testing.T) {
		summary := map[string]any{"notificationType": "RENEWAL_EXTENSION", "subtype": "SUMMARY", "notificationUUID": newUUID(t),
			"version": "2.0", "signedDate": now.UnixMilli(), "summary": map[string]any{
				"environment": "Production", "appAppleId": appAppleID, "bundleId": bundleID, "productId": "com.example.product",
				"requestIdentifier": newUUID(t), "storefrontCountryCodes": []string{"USA", "FRA"}, "succeededCount": 40, "failedCount": 2}}
		edit(summary["summary"].(map[string]any), map[string]any{"environment": "Production", "appAppleId": appAppleID})
		_, err := g.ParseWebhook(t.Context(), s.request(summary))
		require.NoError(t, err)
		edit(summary["summary"].(map[string]any), map[string]any{"bundleId": "com.other"})
		_, err = g.ParseWebhook(t.Context(), s.request(summary))
		assert.ErrorIs(t, err, appstore.ErrWrongApp)

		token := map[string]any{"notificationType": "EXTERNAL_PURCHASE_TOKEN", "subtype": "UNREPORTED", "notificationUUID": newUUID(t),
			"signedDate": now.UnixMilli(), "externalPurchaseToken": map[string]any{
				"externalPurchaseId": "SANDBOX_b2158121-7af9-49d4-9561-1f588205523e", "tokenCreationDate": 1698148950000,
				"appAppleId": appAppleID, "bundleId": bundleID}}
		_, err = g.ParseWebhook(t.Context(), s.request(token))
		assert.ErrorIs(t, err, appstore.ErrWrongEnvironment, "a SANDBOX token is the sandbox's")
		_, err = newGateway(t, sandbox).ParseWebhook(t.Context(), newSigner(t, appstore.Sandbox).request(token))
		assert.NoError(t, err)
		_, err = g.ParseWebhook(t.Context(), s.request(map[string]any{"notificationType": "TEST", "signedDate": now.UnixMilli()}))
		assert.ErrorIs(t, err, appstore.ErrWrongApp, "a notification that names no app is no app's")
	})
}
