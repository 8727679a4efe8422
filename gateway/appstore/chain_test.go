package appstore_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

// TestChains checks the verifier's chain rules on certificates issued
// here: the outcomes Apple's chain tests assert (ChainVerifier in Apple's
// libraries, test_x509_verifiction.py and its siblings: a valid chain, an
// intermediate or a leaf without Apple's OID, a short chain, bad base64 or
// DER, another root, an expired chain), and the driver's own rules (only
// the message's intermediate, never its root, a P-256 leaf key).
// TestAppleChains runs Apple's own certificates, opt-in.
func TestChains(t *testing.T) {
	p, foreign := testPKI(t), otherPKI(t)
	now := time.Now()
	receipt := []asn1.ObjectIdentifier{oidReceiptSigner}
	wwdr := []asn1.ObjectIdentifier{oidWWDRIntermediate}
	leaf, intermediate, root := p.leaf.x5c(), p.intermediate.x5c(), p.root.x5c()

	noOIDLeaf := mustIssue(t, certSpec{name: "Leaf without the receipt-signing OID"}, p.intermediate)
	noOIDIntermediate := mustIssue(t, certSpec{name: "Intermediate without the WWDR OID", ca: true}, p.root)
	leafOfNoOIDIntermediate := mustIssue(t, certSpec{name: "Leaf under it", oids: receipt}, noOIDIntermediate)
	notCAIntermediate := mustIssue(t, certSpec{name: "Intermediate that is no CA", oids: wwdr}, p.root)
	leafOfNotCA := mustIssue(t, certSpec{name: "Leaf under it", oids: receipt}, notCAIntermediate)
	criticalOIDLeaf := mustIssue(t, certSpec{name: "Leaf with the OID critical", oids: receipt, critical: true}, p.intermediate)
	p384Key, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	p384Leaf := mustIssue(t, certSpec{name: "P-384 Leaf", key: p384Key, oids: receipt}, p.intermediate)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	rsaLeaf := mustIssue(t, certSpec{name: "RSA Leaf", key: rsaKey, oids: receipt}, p.intermediate)
	expiredLeaf := mustIssue(t, certSpec{name: "Expired Leaf", oids: receipt, notBefore: now.Add(-48 * time.Hour), notAfter: now.Add(-24 * time.Hour)}, p.intermediate)
	leafOfRoot := mustIssue(t, certSpec{name: "Leaf issued by the root", oids: receipt}, p.root)
	// The same root key and name, reissued: what Apple's testNotification
	// carries in place of the test CA a verifier trusts.
	reissuedRoot := mustIssue(t, certSpec{name: p.root.cert.Subject.CommonName, key: p.root.key, ca: true}, issued{})

	ownRoot := func(*appstore.Config) {}
	foreignRoot := func(c *appstore.Config) { c.RootCertificates = [][]byte{foreign.root.cert.Raw} }
	appleRoot := func(c *appstore.Config) { c.RootCertificates = nil }
	for _, tc := range []struct {
		name  string
		roots func(*appstore.Config)
		x5c   []string
		at    time.Time
		valid bool
		why   string // in the error, when not valid
	}{
		{"a valid chain", ownRoot, []string{leaf, intermediate, root}, now, true, ""},
		{"an intermediate without the WWDR OID", ownRoot, x5c(leafOfNoOIDIntermediate, noOIDIntermediate, p.root), now, false, "1.2.840.113635.100.6.2.1"},
		{"a leaf without the receipt-signing OID", ownRoot, x5c(noOIDLeaf, p.intermediate, p.root), now, false, "1.2.840.113635.100.6.11.1"},
		{"a leaf with the OID critical", ownRoot, x5c(criticalOIDLeaf, p.intermediate, p.root), now, false, ""},
		{"two certificates", ownRoot, []string{intermediate, root}, now, false, "not leaf, intermediate and root"},
		{"four certificates", ownRoot, []string{leaf, intermediate, root, root}, now, false, "not leaf, intermediate and root"},
		{"empty x5c", ownRoot, nil, now, false, "not leaf, intermediate and root"},
		{"a leaf that is not base64", ownRoot, []string{"abc", intermediate, root}, now, false, "not base64"},
		{"a leaf that is not DER", ownRoot, []string{base64.StdEncoding.EncodeToString([]byte("abc")), intermediate, root}, now, false, "not a certificate"},
		{"a chain of another root", ownRoot, x5c(foreign.leaf, foreign.intermediate, foreign.root), now, false, "trusted root"},
		{"a chain of another root, that root trusted", foreignRoot, x5c(foreign.leaf, foreign.intermediate, foreign.root), now, true, ""},
		{"the tests' chain against another root", foreignRoot, []string{leaf, intermediate, root}, now, false, "trusted root"},
		{"the tests' chain against Apple Root CA - G3", appleRoot, []string{leaf, intermediate, root}, now, false, "trusted root"},
		{"after the leaf expired", ownRoot, []string{leaf, intermediate, root}, now.AddDate(11, 0, 0), false, "expired"},
		{"before the leaf was issued", ownRoot, []string{leaf, intermediate, root}, now.AddDate(-11, 0, 0), false, "trusted root"},
		{"an expired leaf", ownRoot, x5c(expiredLeaf, p.intermediate, p.root), now, false, "expired"},
		{"an expired leaf at a time it was valid", ownRoot, x5c(expiredLeaf, p.intermediate, p.root), now.Add(-36 * time.Hour), true, ""},
		{"another root in x5c: the configured root decides", ownRoot, x5c(p.leaf, p.intermediate, foreign.root), now, true, ""},
		{"the root reissued in x5c", ownRoot, x5c(p.leaf, p.intermediate, reissuedRoot), now, true, ""},
		{"the root reissued in x5c, against Apple Root CA - G3", appleRoot, x5c(p.leaf, p.intermediate, reissuedRoot), now, false, "trusted root"},
		{"leaf and root only", ownRoot, []string{leaf, root, root}, now, false, "trusted root"},
		{"a leaf the root signed, past the intermediate", ownRoot, x5c(leafOfRoot, p.intermediate, p.root), now, false, "does not pass through its intermediate"},
		{"the root as the leaf", ownRoot, []string{root, intermediate, root}, now, false, "does not pass through its intermediate"},
		{"an intermediate that is no CA", ownRoot, x5c(leafOfNotCA, notCAIntermediate, p.root), now, false, "trusted root"},
		{"a leaf key on P-384", ownRoot, x5c(p384Leaf, p.intermediate, p.root), now, false, "P-256"},
		{"an RSA leaf key", ownRoot, x5c(rsaLeaf, p.intermediate, p.root), now, false, "P-256"},
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
			der, err := base64.StdEncoding.DecodeString(tc.x5c[0])
			require.NoError(t, err)
			leafCert, err := x509.ParseCertificate(der)
			require.NoError(t, err)
			assert.True(t, key.Equal(leafCert.PublicKey), "the leaf's key")
		})
	}

	t.Run("a root that is not DER", func(t *testing.T) {
		_, err := appstore.New(appstore.Config{BundleID: bundleID, Environment: appstore.Sandbox, RootCertificates: [][]byte{[]byte("abc")}})
		assert.ErrorIs(t, err, payments.ErrInvalidInput)
	})
}
