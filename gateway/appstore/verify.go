package appstore

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// verifier checks App Store signed data (a notification's signedPayload, a
// signedTransactionInfo, a signedRenewalInfo) the way Apple's App Store
// Server Libraries do (SignedDataVerifier and ChainVerifier in
// https://github.com/apple/app-store-server-library-java and its Python,
// Node and Swift siblings), on the standard crypto packages:
//
//   - the JWS is three base64url segments and its header's alg is ES256;
//   - the header's x5c holds exactly three certificates: the leaf, the
//     intermediate and a root. The root the message carries is never
//     trusted: the intermediate must be signed by one of the configured
//     roots, and the leaf by the intermediate;
//   - the chain is checked at the payload's signedDate (milliseconds), so
//     that a notification stays verifiable when Apple retries it for days
//     or the host replays it from the journal; at the current time when
//     Config.CheckAtCurrentTime is set or the payload has no signedDate;
//   - the leaf carries OID 1.2.840.113635.100.6.11.1 and the intermediate
//     1.2.840.113635.100.6.2.1;
//   - the signature is ES256 (P-256, SHA-256, r||s) by the leaf's key.
//
// Apple's libraries check revocation (OCSP) only with online checks on;
// this one never does, since a host may run without egress.
type verifier struct {
	roots *x509.CertPool
	atNow bool
	now   func() time.Time
}

// maxJWSLen bounds what is parsed: a notification with its nested
// transaction and renewal info is a few kilobytes.
const maxJWSLen = 256 << 10

// Base64 flavours: JWS segments are unpadded base64url (RFC 7515) and x5c
// entries padded standard base64 (RFC 7515, section 4.1.6). Both decode
// strictly (no stray padding bits), so that no two encodings decode to the
// same bytes: the signature covers the header and payload segments as
// written, and strictness makes the signature segment just as exact, so
// that a body changed in any character fails.
var (
	segmentEncoding = base64.RawURLEncoding.Strict()
	certEncoding    = base64.StdEncoding.Strict()
)

// unauthenticated is the error of data that did not verify; what names the
// data (a notification, a signed transaction).
func unauthenticated(what, format string, args ...any) error {
	return fmt.Errorf("appstore: %s: "+format+": %w", append(append([]any{what}, args...), payments.ErrUnauthenticated)...)
}

// verify checks one JWS and returns its payload, which is authentic only
// when the error is nil; what names it in errors. Every failure wraps
// payments.ErrUnauthenticated.
func (v *verifier) verify(what, jws string) ([]byte, error) {
	if len(jws) > maxJWSLen {
		return nil, unauthenticated(what, "signed data of %d bytes is too large", len(jws))
	}
	parts := strings.Split(jws, ".")
	if len(parts) != 3 {
		return nil, unauthenticated(what, "signed data has %d segments, not 3", len(parts))
	}
	header, err := parseHeader(what, parts[0])
	if err != nil {
		return nil, err
	}
	payload, err := segmentEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, unauthenticated(what, "payload is not base64url")
	}
	at, err := v.effectiveTime(what, payload)
	if err != nil {
		return nil, err
	}
	key, err := v.verifyChain(what, header.x5c, at)
	if err != nil {
		return nil, err
	}
	sig, err := segmentEncoding.DecodeString(parts[2])
	if err != nil || len(sig) != 64 {
		return nil, unauthenticated(what, "signature is not 64 bytes of base64url")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	r, s := new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])
	if !ecdsa.Verify(key, digest[:], r, s) {
		return nil, unauthenticated(what, "signature does not match the leaf certificate's key")
	}
	return payload, nil
}

type jwsHeader struct {
	x5c []string
}

// parseHeader reads alg and x5c by their exact names (encoding/json would
// also match "X5C").
func parseHeader(what, segment string) (jwsHeader, error) {
	raw, err := segmentEncoding.DecodeString(segment)
	if err != nil {
		return jwsHeader{}, unauthenticated(what, "header is not base64url")
	}
	var members map[string]json.RawMessage
	if err := json.Unmarshal(raw, &members); err != nil || members == nil {
		return jwsHeader{}, unauthenticated(what, "header is not a JSON object")
	}
	var alg string
	if err := json.Unmarshal(members["alg"], &alg); err != nil || alg != "ES256" {
		return jwsHeader{}, unauthenticated(what, "header alg is not ES256")
	}
	var h jwsHeader
	if x5c, ok := members["x5c"]; !ok || json.Unmarshal(x5c, &h.x5c) != nil || len(h.x5c) == 0 {
		return jwsHeader{}, unauthenticated(what, "header has no x5c certificate chain")
	}
	return h, nil
}

// effectiveTime is when the chain must have been valid: the payload's
// signedDate, unless the Gateway checks at the current time or the payload
// has none (as Apple's libraries do).
func (v *verifier) effectiveTime(what string, payload []byte) (time.Time, error) {
	var members map[string]json.RawMessage
	if err := json.Unmarshal(payload, &members); err != nil || members == nil {
		return time.Time{}, unauthenticated(what, "payload is not a JSON object")
	}
	var signedMillis *int64
	if raw, ok := members["signedDate"]; ok {
		if err := json.Unmarshal(raw, &signedMillis); err != nil {
			return time.Time{}, unauthenticated(what, "payload signedDate is not milliseconds")
		}
	}
	if v.atNow || signedMillis == nil {
		return v.now(), nil
	}
	return time.UnixMilli(*signedMillis), nil
}

// verifyChain checks x5c at time at and returns the leaf's key.
func (v *verifier) verifyChain(what string, x5c []string, at time.Time) (*ecdsa.PublicKey, error) {
	if len(x5c) != 3 {
		return nil, unauthenticated(what, "x5c holds %d certificates, not leaf, intermediate and root", len(x5c))
	}
	certs := make([]*x509.Certificate, len(x5c))
	for i, s := range x5c {
		der, err := certEncoding.DecodeString(s)
		if err != nil {
			return nil, unauthenticated(what, "x5c[%d] is not base64", i)
		}
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, unauthenticated(what, "x5c[%d] is not a certificate: %v", i, err)
		}
	}
	leaf, intermediate := certs[0], certs[1]
	// Only the message's intermediate may stand between its leaf and a
	// configured root; its own root (certs[2]) is parsed, as Apple's Java
	// library does, and never trusted.
	intermediates := x509.NewCertPool()
	intermediates.AddCert(intermediate)
	chains, err := leaf.Verify(x509.VerifyOptions{
		Roots:         v.roots,
		Intermediates: intermediates,
		CurrentTime:   at,
		KeyUsages:     []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	})
	if err != nil {
		return nil, unauthenticated(what, "certificate chain does not lead to a trusted root at %s: %v", at.UTC().Format(time.RFC3339), err)
	}
	if !slices.ContainsFunc(chains, func(chain []*x509.Certificate) bool {
		return len(chain) == 3 && bytes.Equal(chain[1].Raw, intermediate.Raw)
	}) {
		return nil, unauthenticated(what, "certificate chain does not pass through its intermediate")
	}
	if !hasExtension(leaf, oidReceiptSigner) {
		return nil, unauthenticated(what, "leaf certificate lacks the App Store receipt-signing OID 1.2.840.113635.100.6.11.1")
	}
	if !hasExtension(intermediate, oidWWDRIntermediate) {
		return nil, unauthenticated(what, "intermediate certificate lacks the Apple WWDR OID 1.2.840.113635.100.6.2.1")
	}
	key, ok := leaf.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		return nil, unauthenticated(what, "leaf certificate's key is not an ECDSA P-256 key, which ES256 needs")
	}
	return key, nil
}

// hasExtension reports whether cert carries the extension oid. Apple's
// libraries look for it among the non-critical extensions; a critical one
// that Go does not know fails Verify already.
func hasExtension(cert *x509.Certificate, oid asn1.ObjectIdentifier) bool {
	for _, ext := range cert.Extensions {
		if ext.Id.Equal(oid) && !ext.Critical {
			return true
		}
	}
	return false
}

// parseRoots parses DER certificates into a pool.
func parseRoots(ders [][]byte) (*x509.CertPool, error) {
	if len(ders) == 0 {
		return nil, errors.New("no root certificate")
	}
	pool := x509.NewCertPool()
	for i, der := range ders {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("root certificate %d is not DER: %w", i, err)
		}
		pool.AddCert(cert)
	}
	return pool, nil
}
