// Package postback receives the postbacks a payments.Service sends: it
// verifies their Standard Webhooks signatures (https://www.standardwebhooks.com)
// and decodes their bodies.
//
// It imports only the standard library, so that a merchant's Go service can
// receive postbacks without depending on the payments library, its drivers
// or its stores. Any Standard Webhooks library verifies the same messages;
// this one adds several secrets (for a rotation) and the typed body.
package postback

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// The headers a postback carries, as the specification names them.
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// DefaultTolerance is how far a message's timestamp may be from the
// receiver's clock, either way, unless Verifier.Tolerance says otherwise:
// the specification's libraries use five minutes.
const DefaultTolerance = 5 * time.Minute

// Errors Verify wraps, for callers to branch on with errors.Is.
var (
	// ErrInvalidSecret: a secret is not "whsec_" and base64 (or is empty).
	ErrInvalidSecret = errors.New("postback: secret is not whsec_ and base64")
	// ErrMissingHeaders: webhook-id, webhook-timestamp or webhook-signature
	// is absent; the request is not a postback.
	ErrMissingHeaders = errors.New("postback: missing webhook-id, webhook-timestamp or webhook-signature header")
	// ErrTimestamp: webhook-timestamp is not Unix seconds, or is further
	// from now than the tolerance — a replay, or a clock that is off.
	ErrTimestamp = errors.New("postback: webhook-timestamp outside the tolerance")
	// ErrInvalidSignature: no signature matches any secret: the body, id or
	// timestamp was altered, or the secret is wrong.
	ErrInvalidSignature = errors.New("postback: no matching signature")
)

// Verifier checks postbacks signed with any of its secrets. Set its fields
// before the first Verify; it is then safe for concurrent use.
type Verifier struct {
	// Tolerance bounds how far webhook-timestamp may be from Now, either
	// way; zero means DefaultTolerance. Timestamps are always checked: a
	// signature without a fresh timestamp can be replayed forever.
	Tolerance time.Duration
	// Now is the receiver's clock; nil means time.Now.
	Now func() time.Time

	keys [][]byte
}

// NewVerifier returns a Verifier for an endpoint's secrets, as
// Service.AddEndpoint returned them ("whsec_" then base64; the prefix is
// optional, as in the specification's libraries). Give both the old and the
// new secret during a rotation: a message verifies when any of its
// signatures matches any of them.
func NewVerifier(secrets ...string) (*Verifier, error) {
	if len(secrets) == 0 {
		return nil, fmt.Errorf("%w: none given", ErrInvalidSecret)
	}
	v := &Verifier{}
	for i, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			// The secret itself is never part of the message.
			return nil, fmt.Errorf("%w: secret %d of %d", ErrInvalidSecret, i+1, len(secrets))
		}
		v.keys = append(v.keys, key)
	}
	return v, nil
}

// Verify checks that body and the webhook-* headers of h were signed with
// one of the Verifier's secrets within the tolerance of now, and returns
// the message's id: the idempotency key, the same on every attempt, which
// the receiver remembers to act on each message once.
//
// The error wraps ErrMissingHeaders, ErrTimestamp or ErrInvalidSignature.
// Verify the raw body as received, before any JSON decoding: a decoded
// and re-encoded body no longer matches its signature.
func (v *Verifier) Verify(body []byte, h http.Header) (id string, err error) {
	id, ts, sigs := h.Get(HeaderID), h.Get(HeaderTimestamp), h.Get(HeaderSignature)
	if id == "" || ts == "" || sigs == "" {
		return "", ErrMissingHeaders
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return "", fmt.Errorf("%w: %q is not Unix seconds", ErrTimestamp, ts)
	}
	now := time.Now
	if v.Now != nil {
		now = v.Now
	}
	tolerance := v.Tolerance
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	// Sub saturates, so that no timestamp overflows into the window.
	if off := now().Sub(time.Unix(sec, 0)); off > tolerance || off < -tolerance {
		return "", fmt.Errorf("%w: %s is %s from now", ErrTimestamp, ts, off.Round(time.Second))
	}
	// The signed content names the timestamp as the sender formats it,
	// which is what the specification's libraries do too.
	signed := id + "." + strconv.FormatInt(sec, 10) + "."
	expected := make([][]byte, len(v.keys))
	for i, key := range v.keys {
		mac := hmac.New(sha256.New, key)
		mac.Write([]byte(signed))
		mac.Write(body)
		expected[i] = []byte(base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	// Signatures are space-separated "version,base64"; versions other
	// than v1 (v1a, asymmetric) are skipped, as the specification asks.
	for _, s := range strings.Split(sigs, " ") {
		version, sig, ok := strings.Cut(s, ",")
		if !ok || version != "v1" {
			continue
		}
		for _, want := range expected {
			if hmac.Equal([]byte(sig), want) {
				return id, nil
			}
		}
	}
	return "", ErrInvalidSignature
}
