package stream

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"
)

// MinKeyBytes is the shortest key Token and New accept: as long as the
// HMAC-SHA256 output, so the key is never the weaker half.
const MinKeyBytes = 32

// tokenDomain separates these MACs from anything else the host signs with
// the same key: a stream token can never be replayed as another signature.
const tokenDomain = "payrail/payments stream token v1\x00"

// expiryBytes and macBytes make up a token before it is encoded.
const (
	expiryBytes = 8
	macBytes    = sha256.Size
	tokenBytes  = expiryBytes + macBytes
)

// Token returns a token that authorizes following one payment's status
// until now+ttl (a ttl of zero or less gives a token that is already
// expired). Issue it with the checkout, to the client that pays, and hand
// it to the stream as ?token= (EventSource cannot set headers) or as
// "Authorization: Bearer <token>".
//
// The token is the expiry and an HMAC-SHA256 under key of the payment id and
// the expiry, base64url-encoded (54 URL-safe characters): it names no
// payment and cannot be forged or moved to another payment without key.
// Keep ttl short, tens of minutes: a token in a query string ends up in
// access logs, and it cannot be revoked before it expires. A stream never
// outlives its token.
//
// Token panics when key is shorter than MinKeyBytes: the key is
// configuration, and a short one is a mistake to find at startup.
func Token(key []byte, paymentID string, ttl time.Duration, now time.Time) string {
	mustKey(key)
	expiry := now.Add(ttl).Unix()
	b := make([]byte, expiryBytes, tokenBytes)
	binary.BigEndian.PutUint64(b, uint64(expiry))
	b = append(b, tokenMAC(key, paymentID, expiry)...)
	return base64.RawURLEncoding.EncodeToString(b)
}

// verifyToken reports whether token authorizes following paymentID at now,
// and until when. Every failure looks the same to the caller, whether the
// token is malformed, foreign, for another payment or expired, so an answer
// never tells a prober which.
func verifyToken(key []byte, paymentID, token string, now time.Time) (expiry time.Time, ok bool) {
	// Strict: one token has one spelling, so a token that differs from an
	// issued one only in unused trailing bits is not accepted as it.
	b, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(b) != tokenBytes {
		return time.Time{}, false
	}
	unix := int64(binary.BigEndian.Uint64(b[:expiryBytes]))
	if !hmac.Equal(b[expiryBytes:], tokenMAC(key, paymentID, unix)) {
		return time.Time{}, false
	}
	expiry = time.Unix(unix, 0)
	if !now.Before(expiry) {
		return time.Time{}, false
	}
	return expiry, true
}

// tokenMAC signs the expiry and the payment id. The expiry has a fixed
// length and comes first, so no two (payment, expiry) pairs sign the same
// bytes.
func tokenMAC(key []byte, paymentID string, expiry int64) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(tokenDomain))
	var e [expiryBytes]byte
	binary.BigEndian.PutUint64(e[:], uint64(expiry))
	m.Write(e[:])
	m.Write([]byte(paymentID))
	return m.Sum(nil)
}

func mustKey(key []byte) {
	if len(key) < MinKeyBytes {
		panic("stream: the key is " + strconv.Itoa(len(key)) + " bytes; it must be at least " + strconv.Itoa(MinKeyBytes))
	}
}
