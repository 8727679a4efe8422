package appstore_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/internal/testvectors"
)

// The tests in this file are opt-in: they run Apple's own test vectors,
// files of Apple's App Store Server Libraries that are not committed here,
// from $PAYMENTS_VECTORS/appstore, and skip when they are not there, in CI
// too (testdata/README.md). What they check, the other tests check on the
// tests' own PKI and payloads.

// The commits of Apple's libraries the vectors were copied from.
const (
	appleJava   = "apple/app-store-server-library-java@2d50adecdcf4c5cd8fbe285eaad305ef3ef60c17"
	applePython = "apple/app-store-server-library-python@8b5ccdc7152f5450cb5df6864d528e0eb0bd7038"
)

// appleVector is one file under $PAYMENTS_VECTORS/appstore and where it
// comes from.
func appleVector(name string) testvectors.File {
	switch name {
	case "certs/realAppleIntermediate.der":
		return testvectors.File{Name: name, Source: applePython + " tests/test_x509_verifiction.py, REAL_APPLE_INTERMEDIATE_BASE64_ENCODED base64-decoded"}
	case "certs/realAppleSigningCertificate.der":
		return testvectors.File{Name: name, Source: applePython + " tests/test_x509_verifiction.py, REAL_APPLE_SIGNING_CERTIFICATE_BASE64_ENCODED base64-decoded"}
	case "models/signedConsumptionRequestNotification.json":
		return testvectors.File{Name: name, Source: applePython + " tests/resources/" + name}
	}
	return testvectors.File{Name: name, Source: appleJava + " src/test/resources/" + name}
}

// appleVectors returns the directory of Apple's vectors when the named
// files are there, and skips t otherwise.
func appleVectors(t testing.TB, checks string, names ...string) string {
	t.Helper()
	files := make([]testvectors.File, len(names))
	for i, n := range names {
		files[i] = appleVector(n)
	}
	return testvectors.Dir(t, "appstore", checks, files)
}

func readVector(t testing.TB, dir, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(name)))
	require.NoError(t, err)
	return b
}

// vectorDER is the DER of one of Apple's certificates, PEM or DER.
func vectorDER(t testing.TB, dir, name string) []byte {
	t.Helper()
	raw := readVector(t, dir, name)
	if block, _ := pem.Decode(raw); block != nil {
		return block.Bytes
	}
	return raw
}

func vectorBase64(t testing.TB, dir, name string) string {
	return base64.StdEncoding.EncodeToString(vectorDER(t, dir, name))
}

// withAppleTestCA makes a Gateway trust Apple's test CA, as Apple's test
// utilities build their verifiers.
func withAppleTestCA(t testing.TB, dir string) func(*appstore.Config) {
	return func(c *appstore.Config) { c.RootCertificates = [][]byte{vectorDER(t, dir, "certs/testCA.der")} }
}

// TestAppleVectors runs Apple's signed test data through the driver with
// the outcome each of Apple's tests asserts (testdata/README.md).
func TestAppleVectors(t *testing.T) {
	dir := appleVectors(t, "Apple's signed samples, decoded with the outcomes Apple's SignedDataVerifier tests assert",
		"certs/testCA.der", "mock_signed_data/testNotification", "mock_signed_data/missingX5CHeaderClaim",
		"mock_signed_data/wrongBundleId", "mock_signed_data/legacyTransaction", "mock_signed_data/transactionInfo",
		"mock_signed_data/renewalInfo")
	signed := func(name string) string {
		return strings.TrimSpace(string(readVector(t, dir, "mock_signed_data/"+name)))
	}
	notification := func(name string) []byte { return mustJSON(t, map[string]string{"signedPayload": signed(name)}) }
	appleGateway := func(t *testing.T, mutate ...func(*appstore.Config)) *appstore.Gateway {
		return newGateway(t, append([]func(*appstore.Config){withAppleTestCA(t, dir)}, mutate...)...)
	}
	withAppID := func(id int64) func(*appstore.Config) { return func(c *appstore.Config) { c.AppAppleID = id } }
	for _, tc := range []struct {
		name   string
		body   []byte
		mutate []func(*appstore.Config)
		want   error // nil: decodes as TEST
		also   error
	}{
		{"test_app_store_server_notification_decoding", notification("testNotification"), []func(*appstore.Config){sandbox}, nil, nil},
		{"test_app_store_server_notification_decoding_production", notification("testNotification"), nil, payments.ErrUnauthenticated, appstore.ErrWrongEnvironment},
		{"test_missing_x5c_header", notification("missingX5CHeaderClaim"), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"test_wrong_bundle_id_for_server_notification", notification("wrongBundleId"), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, appstore.ErrWrongApp},
		{"test_wrong_app_apple_id_for_server_notification", notification("testNotification"), []func(*appstore.Config){withAppID(1235)}, payments.ErrUnauthenticated, appstore.ErrWrongApp},
		{"test_malformed_jwt_with_too_many_parts", mustJSON(t, map[string]string{"signedPayload": "a.b.c.d"}), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"test_malformed_jwt_with_malformed_data", mustJSON(t, map[string]string{"signedPayload": "a.b.c"}), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
		{"legacyTransaction (a StoreKit 1 receipt, no JWS)", notification("legacyTransaction"), []func(*appstore.Config){sandbox}, payments.ErrUnauthenticated, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := appleGateway(t, tc.mutate...)
			n, err := g.DecodeNotification(tc.body)
			if tc.want == nil {
				require.NoError(t, err)
				assert.Equal(t, "TEST", string(n.NotificationType))
				assert.Equal(t, "9ad56bd2-0bc6-42e0-af24-fd996d87a1e6", n.NotificationUUID)
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

	t.Run("test_transaction_info_decoding", func(t *testing.T) {
		tx, err := appleGateway(t, sandbox).DecodeTransactionForTest(signed("transactionInfo"))
		require.NoError(t, err)
		assert.Equal(t, appstore.Sandbox, tx.Environment)
	})
	t.Run("test_renewal_info_decoding", func(t *testing.T) {
		info, err := appleGateway(t, sandbox).DecodeRenewalInfoForTest(signed("renewalInfo"))
		require.NoError(t, err)
		assert.Equal(t, appstore.Sandbox, info.Environment)
	})
	t.Run("testWrongBundleIdForTransaction", func(t *testing.T) {
		_, err := appleGateway(t, sandbox, func(c *appstore.Config) { c.BundleID = "com.example.x" }).DecodeTransactionForTest(signed("transactionInfo"))
		assert.ErrorIs(t, err, appstore.ErrWrongApp)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
	t.Run("swift testWrongAppAppleIdForNotification", func(t *testing.T) {
		_, err := appleGateway(t, sandbox, withAppID(1235)).DecodeTransactionForTest(signed("testNotification"))
		assert.ErrorIs(t, err, appstore.ErrWrongApp)
	})
	t.Run("the notification's own root is not trusted", func(t *testing.T) {
		// testNotification carries a root other than testCA.der (the same
		// key, reissued): it verifies against the configured root alone,
		// and not at all against Apple's real root.
		var header struct{ X5c []string }
		parts := strings.Split(signed("testNotification"), ".")
		raw, err := base64.RawURLEncoding.DecodeString(parts[0])
		require.NoError(t, err)
		require.NoError(t, json.Unmarshal(raw, &header))
		require.NotEqual(t, vectorBase64(t, dir, "certs/testCA.der"), header.X5c[2])
		g := newGateway(t, sandbox, func(c *appstore.Config) { c.RootCertificates = [][]byte{appstore.AppleRootCAG3()} })
		_, err = g.DecodeNotification(notification("testNotification"))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
	t.Run("the tests' own root does not take Apple's test chain", func(t *testing.T) {
		_, err := newGateway(t, sandbox).DecodeNotification(notification("testNotification"))
		assert.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

// TestAppleChains runs Apple's chain tests (test_x509_verifiction.py and
// its siblings) against the verifier's chain check, with Apple's test
// certificates and a real Apple signing chain.
func TestAppleChains(t *testing.T) {
	dir := appleVectors(t, "Apple's test and real certificate chains, checked with the outcomes Apple's chain tests assert",
		"certs/testCA.der", "certs/testLeaf.pem", "certs/testIntermediate.pem", "certs/testInvalidOIDIntermediate.pem",
		"certs/testInvalidIntermediateLeaf.pem", "certs/testInvalidOIDLeaf.pem",
		"certs/realAppleIntermediate.der", "certs/realAppleSigningCertificate.der")
	effective := time.Unix(1761962975, 0) // Apple's EFFECTIVE_DATE
	leaf := vectorBase64(t, dir, "certs/testLeaf.pem")
	intermediate := vectorBase64(t, dir, "certs/testIntermediate.pem")
	root := vectorBase64(t, dir, "certs/testCA.der")
	leafKey := func(t *testing.T) *ecdsa.PublicKey {
		cert, err := x509.ParseCertificate(vectorDER(t, dir, "certs/testLeaf.pem"))
		require.NoError(t, err)
		return cert.PublicKey.(*ecdsa.PublicKey)
	}
	realRoot := base64.StdEncoding.EncodeToString(appstore.AppleRootCAG3())
	realIntermediate := vectorBase64(t, dir, "certs/realAppleIntermediate.der")
	realLeaf := vectorBase64(t, dir, "certs/realAppleSigningCertificate.der")
	testCA := withAppleTestCA(t, dir)
	appleRoot := func(c *appstore.Config) { c.RootCertificates = nil }

	for _, tc := range []struct {
		name  string
		roots func(*appstore.Config)
		x5c   []string
		at    time.Time
		valid bool
		why   string // in the error, when not valid
	}{
		{"test_valid_chain_without_ocsp", testCA, []string{leaf, intermediate, root}, effective, true, ""},
		{"test_valid_chain_invalid_intermediate_OID_without_OCSP", testCA,
			[]string{vectorBase64(t, dir, "certs/testInvalidIntermediateLeaf.pem"), vectorBase64(t, dir, "certs/testInvalidOIDIntermediate.pem"), root}, effective, false, "1.2.840.113635.100.6.2.1"},
		{"test_valid_chain_invalid_leaf_OID_without_OCSP", testCA,
			[]string{vectorBase64(t, dir, "certs/testInvalidOIDLeaf.pem"), intermediate, root}, effective, false, "1.2.840.113635.100.6.11.1"},
		{"test_invalid_chain_length", testCA, []string{intermediate, root}, effective, false, "not leaf, intermediate and root"},
		{"test_invalid_base64_in_certificate_list", testCA, []string{"abc", intermediate, root}, effective, false, ""},
		{"test_invalid_data_in_certificate_list", testCA, []string{base64.StdEncoding.EncodeToString([]byte("abc")), intermediate, root}, effective, false, ""},
		{"test_chain_different_than_root_certificate", appleRoot, []string{leaf, intermediate, root}, effective, false, ""},
		{"test_valid_expired_chain", testCA, []string{leaf, intermediate, root}, time.Unix(2280946846, 0), false, "expired"},
		{"test_apple_chain_is_valid_with_ocsp_and_strict (no OCSP)", appleRoot, []string{realLeaf, realIntermediate, realRoot}, effective, true, ""},
		{"the real Apple chain before its leaf was issued", appleRoot, []string{realLeaf, realIntermediate, realRoot}, time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), false, ""},
		{"the real Apple chain against the test root", testCA, []string{realLeaf, realIntermediate, realRoot}, effective, false, ""},
		{"the test chain with the real root in x5c still needs the test root", testCA, []string{leaf, intermediate, realRoot}, effective, true, ""},
		{"the real Apple chain against the tests' own root", func(*appstore.Config) {}, []string{realLeaf, realIntermediate, realRoot}, effective, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newGateway(t, tc.roots)
			key, err := g.VerifyChainForTest(tc.x5c, tc.at)
			if !tc.valid {
				assert.ErrorIs(t, err, payments.ErrUnauthenticated)
				if tc.why != "" {
					assert.ErrorContains(t, err, tc.why)
				}
				return
			}
			require.NoError(t, err)
			if tc.x5c[0] == leaf {
				assert.True(t, key.Equal(leafKey(t)), "the leaf's key, as Apple's LEAF_CERT_PUBLIC_KEY")
			}
		})
	}
}

// vectorModel reads one of Apple's model payloads, numbers kept as written.
func vectorModel(t testing.TB, dir, name string) map[string]any {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(readVector(t, dir, "models/"+name)))
	dec.UseNumber()
	var m map[string]any
	require.NoError(t, dec.Decode(&m))
	return m
}

// TestAppleModels runs Apple's own model payloads, signed with the tests'
// chain for this app: the prorated refund of
// signedTransactionWithRevocation (50% of 10.99 USD), the
// CONSUMPTION_REQUEST of signedConsumptionRequestNotification, the
// renewal-date extension summary of signedSummaryNotification, and Apple's
// error and answer bodies of Get Transaction Info.
func TestAppleModels(t *testing.T) {
	dir := appleVectors(t, "Apple's model payloads, signed with the tests' own chain, through the translation and the API client",
		"models/signedTransactionWithRevocation.json", "models/signedConsumptionRequestNotification.json",
		"models/signedSummaryNotification.json", "models/invalidTransactionIdError.json",
		"models/transactionIdNotFoundError.json", "models/transactionInfoResponse.json")
	s := newSigner(t, appstore.Production)
	g := newGateway(t)

	t.Run("signedTransactionWithRevocation", func(t *testing.T) {
		tx := edit(vectorModel(t, dir, "signedTransactionWithRevocation.json"), map[string]any{"environment": "Production"})
		c, err := g.ParseWebhook(t.Context(), s.request(s.notification("REFUND", "", time.Now(), tx, nil)))
		require.NoError(t, err)
		require.NoError(t, c.Validate(g.Name()))
		require.Len(t, c.Entries, 2)
		assert.Equal(t, money(t, "10.99", "USD"), c.Entries[0].Amount)
		assert.Equal(t, money(t, "-5.50", "USD"), c.Entries[1].Amount, "50000 thousandths of a percent of 10.99, rounded half up")
		assert.Equal(t, "23456", c.Entries[1].GatewayRef)
		assert.Equal(t, "7e3fb20b-4cdb-47cc-936d-99d65f608138", c.Entries[1].Account)
		require.Len(t, c.Payments, 1)
		assert.Equal(t, payments.StatusPartiallyRefunded, c.Payments[0].Status)
	})

	t.Run("signedConsumptionRequestNotification", func(t *testing.T) {
		n := vectorModel(t, dir, "signedConsumptionRequestNotification.json")
		edit(n["data"].(map[string]any), map[string]any{"environment": "Production", "appAppleId": appAppleID,
			"signedTransactionInfo": s.chain.sign(t, mustJSON(t, s.transaction(newTransactionID(), time.Now(), nil))),
			"signedRenewalInfo":     s.chain.sign(t, mustJSON(t, s.renewalInfo("12345", time.Now())))})
		c, err := g.ParseWebhook(t.Context(), s.request(n))
		require.NoError(t, err)
		assert.True(t, c.Notice)
		assert.True(t, c.Empty())
		assert.Equal(t, "002e14d5-51f5-4503-b5a8-c3a1af68eb20", c.EventID)
		assert.Contains(t, c.Note, "UNINTENDED_PURCHASE")
	})

	t.Run("signedSummaryNotification", func(t *testing.T) {
		summary := vectorModel(t, dir, "signedSummaryNotification.json")
		edit(summary["summary"].(map[string]any), map[string]any{"environment": "Production", "appAppleId": appAppleID})
		n, err := g.DecodeNotification(mustJSON(t, map[string]string{"signedPayload": s.chain.sign(t, mustJSON(t, summary))}))
		require.NoError(t, err)
		require.NotNil(t, n.Summary)
		assert.Equal(t, []string{"CAN", "USA", "MEX"}, n.Summary.StorefrontCountryCodes)
		assert.Equal(t, int64(5), n.Summary.SucceededCount)
		_, err = g.ParseWebhook(t.Context(), s.request(summary))
		require.NoError(t, err)
	})

	t.Run("Get Transaction Info's bodies", func(t *testing.T) {
		w := newPurchaseWorld(t, appstore.Production)
		w.production.answer(http.StatusBadRequest, readVector(t, dir, "models/invalidTransactionIdError.json"))
		_, err := w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000003"})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)

		w.production.answer(http.StatusNotFound, readVector(t, dir, "models/transactionIdNotFoundError.json"))
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000004"})
		assert.ErrorIs(t, err, payments.ErrNotFound)

		w.production.answer(http.StatusOK, readVector(t, dir, "models/transactionInfoResponse.json")) // "signed_transaction_info_value"
		_, err = w.verify(payments.PurchaseRequest{Account: "user-42", Token: "2000000000000005"})
		assert.ErrorIs(t, err, payments.ErrUnauthenticated, "Apple's answer is verified too")
		assert.Empty(t, w.entries())
	})
}
