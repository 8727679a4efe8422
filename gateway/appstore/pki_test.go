package appstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"fmt"
	"math/big"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The tests sign with a PKI of their own, made here with crypto/x509 when
// the test binary starts, shaped as Apple's: a self-signed ECDSA P-256 root
// (the Gateways' injected Config.RootCertificates), an intermediate
// carrying Apple's WWDR OID and a leaf carrying the App Store
// receipt-signing OID, whose key signs every JWS. The variants the chain
// tests need (an OID missing, an expired leaf, a key on another curve, a
// foreign root, …) are issued from it by the tests themselves. Apple's own
// test chain runs only in the opt-in vectors_test.go.

// Apple's marker extensions, as the driver checks them (roots.go).
var (
	oidWWDRIntermediate = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 1}
	oidReceiptSigner    = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 11, 1}
)

// certSpec describes a certificate to issue.
type certSpec struct {
	name string
	// key is the certificate's key; a fresh P-256 key when nil.
	key crypto.Signer
	ca  bool
	// oids are Apple marker extensions to carry, non-critical with an
	// ASN.1 NULL value as Apple's are; critical marks them critical.
	oids     []asn1.ObjectIdentifier
	critical bool
	// notBefore and notAfter default to ten years either side of now.
	notBefore, notAfter time.Time
}

// issued is a certificate and its private key.
type issued struct {
	cert *x509.Certificate
	key  crypto.Signer
}

// x5c is the base64 of the certificate, as a JWS header's x5c holds it.
func (i issued) x5c() string { return base64.StdEncoding.EncodeToString(i.cert.Raw) }

// issue makes the certificate spec describes, signed by parent's key, or
// self-signed when parent is the zero issued.
func issue(spec certSpec, parent issued) (issued, error) {
	key := spec.key
	if key == nil {
		var err error
		if key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader); err != nil {
			return issued{}, err
		}
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return issued{}, err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: spec.name, Organization: []string{"payrail payments tests"}},
		NotBefore:             spec.notBefore,
		NotAfter:              spec.notAfter,
		BasicConstraintsValid: true,
		IsCA:                  spec.ca,
		KeyUsage:              x509.KeyUsageDigitalSignature,
	}
	if tmpl.NotBefore.IsZero() {
		tmpl.NotBefore = now.AddDate(-10, 0, 0)
	}
	if tmpl.NotAfter.IsZero() {
		tmpl.NotAfter = now.AddDate(10, 0, 0)
	}
	if spec.ca {
		tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageCRLSign
	}
	for _, oid := range spec.oids {
		tmpl.ExtraExtensions = append(tmpl.ExtraExtensions, pkix.Extension{Id: oid, Critical: spec.critical, Value: []byte{5, 0}})
	}
	parentCert, parentKey := tmpl, key
	if parent.cert != nil {
		parentCert, parentKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parentCert, key.Public(), parentKey)
	if err != nil {
		return issued{}, fmt.Errorf("issue %s: %w", spec.name, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return issued{}, err
	}
	return issued{cert: cert, key: key}, nil
}

// mustIssue is issue for a test.
func mustIssue(t testing.TB, spec certSpec, parent issued) issued {
	t.Helper()
	c, err := issue(spec, parent)
	require.NoError(t, err)
	return c
}

// pki is a signing PKI shaped as Apple's: root, WWDR intermediate and
// receipt-signing leaf, each valid from ten years ago to ten years ahead.
type pki struct {
	root, intermediate, leaf issued
}

func newPKI(name string) (*pki, error) {
	root, err := issue(certSpec{name: name + " Root CA", ca: true}, issued{})
	if err != nil {
		return nil, err
	}
	intermediate, err := issue(certSpec{name: name + " Intermediate", ca: true, oids: []asn1.ObjectIdentifier{oidWWDRIntermediate}}, root)
	if err != nil {
		return nil, err
	}
	leaf, err := issue(certSpec{name: name + " Signing", oids: []asn1.ObjectIdentifier{oidReceiptSigner}}, intermediate)
	if err != nil {
		return nil, err
	}
	return &pki{root: root, intermediate: intermediate, leaf: leaf}, nil
}

// The tests' PKI, the root their Gateways trust, and another that no
// Gateway trusts; each made once per test binary.
var (
	ownPKI     = sync.OnceValues(func() (*pki, error) { return newPKI("Payments Test") })
	foreignPKI = sync.OnceValues(func() (*pki, error) { return newPKI("Foreign Test") })
)

// testPKI is the PKI the tests' Gateways trust.
func testPKI(t testing.TB) *pki {
	t.Helper()
	p, err := ownPKI()
	require.NoError(t, err)
	return p
}

// otherPKI is a PKI of the same shape under a root no Gateway trusts.
func otherPKI(t testing.TB) *pki {
	t.Helper()
	p, err := foreignPKI()
	require.NoError(t, err)
	return p
}

// testRoot is the DER of the root the tests' Gateways trust.
func testRoot(t testing.TB) []byte { return testPKI(t).root.cert.Raw }

// x5c lists certificates as a JWS header's x5c does.
func x5c(certs ...issued) []string {
	out := make([]string, len(certs))
	for i, c := range certs {
		out[i] = c.x5c()
	}
	return out
}

// chain is p's signing chain: leaf, intermediate and root in x5c, and the
// leaf's key.
func (p *pki) chain() chain {
	return chain{key: p.leaf.key.(*ecdsa.PrivateKey), x5c: x5c(p.leaf, p.intermediate, p.root)}
}

// mintLeaf issues a leaf from the tests' intermediate: a key on curve, the
// receipt-signing OID or not, valid from notBefore to notAfter; its chain
// is the tests' intermediate and root.
func mintLeaf(t testing.TB, curve elliptic.Curve, withOID bool, notBefore, notAfter time.Time) chain {
	t.Helper()
	p := testPKI(t)
	key, err := ecdsa.GenerateKey(curve, rand.Reader)
	require.NoError(t, err)
	spec := certSpec{name: "Minted Leaf", key: key, notBefore: notBefore, notAfter: notAfter}
	if withOID {
		spec.oids = []asn1.ObjectIdentifier{oidReceiptSigner}
	}
	leaf := mustIssue(t, spec, p.intermediate)
	return chain{key: key, x5c: x5c(leaf, p.intermediate, p.root)}
}
