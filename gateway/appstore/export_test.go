package appstore

import (
	"crypto/ecdsa"
	"time"
)

// VerifyChainForTest checks a certificate chain as the verifier does for
// every signed payload, at time at, so that Apple's chain vectors can be
// run as Apple's own chain tests run them.
func (g *Gateway) VerifyChainForTest(x5c []string, at time.Time) (*ecdsa.PublicKey, error) {
	return g.verifier.verifyChain("chain", x5c, at)
}

// DecodeTransactionForTest verifies and decodes a signed transaction.
func (g *Gateway) DecodeTransactionForTest(signed string) (*Transaction, error) {
	return g.decodeTransaction(signed)
}

// DecodeRenewalInfoForTest verifies and decodes signed renewal info.
func (g *Gateway) DecodeRenewalInfoForTest(signed string) (*RenewalInfo, error) {
	return g.decodeRenewalInfo(signed)
}

// FromMilliunitsForTest and ShareForTest expose the amount arithmetic.
var (
	FromMilliunitsForTest = fromMilliunits
	ShareForTest          = share
)
