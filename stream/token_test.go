package stream_test

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/payrail/payments/stream"
)

func TestToken(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	id := "pay_0123456789abcdef0123456789abcdef"
	tok := stream.Token(testKey, id, 15*time.Minute, now)
	assert.Len(t, tok, 54)
	assert.NotContains(t, tok, id[4:], "the token does not name the payment")

	expiry, ok := stream.VerifyToken(testKey, id, tok, now)
	assert.True(t, ok)
	assert.Equal(t, now.Add(15*time.Minute), expiry)
	_, ok = stream.VerifyToken(testKey, id, tok, now.Add(15*time.Minute-time.Second))
	assert.True(t, ok, "valid until its expiry")

	raw, err := base64.RawURLEncoding.DecodeString(tok)
	assert.NoError(t, err)
	flipped := func(i int) string {
		b := append([]byte(nil), raw...)
		b[i] ^= 1
		return base64.RawURLEncoding.EncodeToString(b)
	}
	rejected := map[string]struct {
		key   []byte
		id    string
		token string
		at    time.Time
	}{
		"at its expiry":           {testKey, id, tok, now.Add(15 * time.Minute)},
		"another payment":         {testKey, "pay_0123456789abcdef0123456789abcdee", tok, now},
		"another key":             {[]byte("fedcba9876543210fedcba9876543210"), id, tok, now},
		"expiry moved":            {testKey, id, flipped(7), now},
		"mac changed":             {testKey, id, flipped(20), now},
		"empty":                   {testKey, id, "", now},
		"truncated":               {testKey, id, tok[:53], now},
		"padded":                  {testKey, id, tok + "==", now},
		"not base64url":           {testKey, id, "+" + tok[1:], now},
		"non-canonical last char": {testKey, id, tok[:53] + string(nonCanonical(tok[53])), now},
	}
	for name, tt := range rejected {
		_, ok := stream.VerifyToken(tt.key, tt.id, tt.token, tt.at)
		assert.False(t, ok, name)
	}
}

// nonCanonical returns another base64url character that decodes to the
// same bytes in the last position of a 54-character token: 40 bytes use 4
// of its 6 bits, so flipping the lowest bit changes only unused bits.
func nonCanonical(c byte) byte {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	for i := range len(alphabet) {
		if alphabet[i] == c {
			return alphabet[i^1]
		}
	}
	panic("not base64url")
}

func TestTokenPanicsOnShortKey(t *testing.T) {
	assert.Panics(t, func() { stream.Token(testKey[:31], "pay_x", time.Minute, time.Now()) })
}

// FuzzVerifyToken: no input panics, and nothing but the issued token
// verifies.
func FuzzVerifyToken(f *testing.F) {
	now := time.Unix(1_800_000_000, 0)
	id := "pay_0123456789abcdef0123456789abcdef"
	issued := stream.Token(testKey, id, time.Hour, now)
	f.Add(issued)
	f.Add("")
	f.Add(issued[:53] + "A")
	f.Fuzz(func(t *testing.T, token string) {
		if _, ok := stream.VerifyToken(testKey, id, token, now); ok && token != issued {
			t.Fatalf("%q verified; only %q was issued", token, issued)
		}
	})
}
