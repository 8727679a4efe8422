package appstore

import (
	"bytes"
	_ "embed" // the Apple root certificate
	"encoding/asn1"
)

// appleRootCAG3 is Apple Root CA - G3 in DER, as Apple publishes it at
// https://www.apple.com/certificateauthority/AppleRootCA-G3.cer: the root
// every App Store signing chain leads to, and the root our dependency
// github.com/awa/go-iap ships (rootPEM in appstore/api/cert.go, the same
// certificate in PEM). It is runtime data, Apple's public root, not a test
// vector. Its SHA-256 fingerprint is pinned in the tests, which also
// compare it with go-iap's, so that a changed byte fails them.
//
//go:embed AppleRootCA-G3.cer
var appleRootCAG3 []byte

// AppleRootCAG3 returns Apple Root CA - G3 in DER, the root a Gateway
// trusts when Config.RootCertificates is empty. A host that adds Apple's
// next root before Apple switches to it passes both.
func AppleRootCAG3() []byte { return bytes.Clone(appleRootCAG3) }

// The object identifiers Apple's App Store Server Library checks on the
// chain of every signed payload
// (https://github.com/apple/app-store-server-library-java, ChainVerifier and
// AppleExtensionCertPathChecker): the leaf must be a receipt-signing
// certificate and the intermediate Apple's WWDR intermediate.
var (
	oidReceiptSigner    = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 11, 1}
	oidWWDRIntermediate = asn1.ObjectIdentifier{1, 2, 840, 113635, 100, 6, 2, 1}
)
