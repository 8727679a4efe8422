package gatewaytest

import (
	"bytes"
	"context"
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// Harness tells RunConformance how to make notifications for one driver.
type Harness struct {
	// Gateway is the driver under test, configured with the test's secrets.
	Gateway payments.Gateway
	// Valid returns a fresh notification, authentic and signed at time at,
	// that records at least one ledger entry with an account.
	Valid func(t *testing.T, at time.Time) *payments.WebhookRequest
	// WrongKey returns the same kind of notification signed with a key the
	// driver does not hold.
	WrongKey func(t *testing.T, at time.Time) *payments.WebhookRequest
	// Unsign removes the signature from req (a header, or a body field for
	// gateways that sign inside the body).
	Unsign func(t *testing.T, req *payments.WebhookRequest)
	// Tolerance is how old a signature the driver accepts; zero when the
	// gateway signs no time, which skips the staleness check.
	Tolerance time.Duration
	// Sign, when the gateway signs outside the body (a header), returns body
	// as an authentic notification, so garbage reaches the parser behind the
	// signature check. Nil for gateways that sign inside the body.
	Sign func(body []byte) *payments.WebhookRequest
}

// RunConformance checks what every driver must guarantee about webhooks:
// authentic notifications parse into valid changes; tampered, unsigned,
// wrongly signed and (where a time is signed) stale ones are rejected with
// ErrUnauthenticated; garbage never panics; and the same notification
// delivered twice records its entries once.
func RunConformance(t *testing.T, h Harness) {
	t.Helper()
	require.NotNil(t, h.Gateway, "Harness.Gateway")
	require.NotNil(t, h.Valid, "Harness.Valid")
	ctx := context.Background()

	t.Run("valid", func(t *testing.T) {
		c, err := h.Gateway.ParseWebhook(ctx, h.Valid(t, time.Now()))
		require.NoError(t, err)
		require.NotEmpty(t, c.Entries, "a valid notification must record an entry")
		assert.NoError(t, c.Validate(h.Gateway.Name()))
	})
	t.Run("tampered body", func(t *testing.T) { checkTampered(t, h) })
	t.Run("unsigned", func(t *testing.T) {
		require.NotNil(t, h.Unsign, "Harness.Unsign")
		req := h.Valid(t, time.Now())
		h.Unsign(t, req)
		assertUnauthenticated(t, h.Gateway, req)
	})
	t.Run("wrong key", func(t *testing.T) {
		require.NotNil(t, h.WrongKey, "Harness.WrongKey")
		assertUnauthenticated(t, h.Gateway, h.WrongKey(t, time.Now()))
	})
	t.Run("stale", func(t *testing.T) {
		if h.Tolerance == 0 {
			t.Skip("the gateway signs no time")
		}
		assertUnauthenticated(t, h.Gateway, h.Valid(t, time.Now().Add(-h.Tolerance-time.Minute)))
		assertUnauthenticated(t, h.Gateway, h.Valid(t, time.Now().Add(h.Tolerance+time.Minute)))
	})
	t.Run("garbage never panics", func(t *testing.T) { checkGarbage(t, h) })
	t.Run("delivered twice records once", func(t *testing.T) { checkTwice(t, h) })
}

func assertUnauthenticated(t *testing.T, g payments.Gateway, req *payments.WebhookRequest) {
	t.Helper()
	_, err := g.ParseWebhook(context.Background(), req)
	assert.ErrorIs(t, err, payments.ErrUnauthenticated)
}

// checkTampered changes one character at a time, at many positions, into
// another of its class (digit for digit, letter for letter) so the body stays
// well-formed and only the signature can catch it.
func checkTampered(t *testing.T, h Harness) {
	req := h.Valid(t, time.Now())
	body := req.Body
	positions := 0
	for i := 0; i < len(body) && positions < 64; i += max(1, len(body)/64) {
		swapped, ok := swapChar(body[i])
		if !ok {
			continue
		}
		positions++
		tampered := bytes.Clone(body)
		tampered[i] = swapped
		r := *req
		r.Body = tampered
		_, err := h.Gateway.ParseWebhook(context.Background(), &r)
		assert.ErrorIs(t, err, payments.ErrUnauthenticated, "byte %d changed %q→%q", i, body[i], swapped)
	}
	require.Positive(t, positions, "the body has no letters or digits to tamper with")
}

func swapChar(c byte) (byte, bool) {
	switch {
	case c >= '0' && c <= '8', c >= 'a' && c <= 'y', c >= 'A' && c <= 'Y':
		return c + 1, true
	case c == '9':
		return '0', true
	case c == 'z':
		return 'a', true
	case c == 'Z':
		return 'A', true
	}
	return 0, false
}

func checkGarbage(t *testing.T, h Harness) {
	valid := h.Valid(t, time.Now())
	rng := rand.New(rand.NewPCG(1, 2))
	bodies := [][]byte{nil, {}, []byte("{}"), []byte("null"), []byte("[]"), []byte(`{"a":`),
		bytes.Repeat([]byte("["), 10000), []byte("\xff\xfe\x00")}
	for n := 1; n < len(valid.Body); n *= 2 {
		bodies = append(bodies, valid.Body[:n])
	}
	for range 32 {
		b := make([]byte, rng.IntN(512))
		for i := range b {
			b[i] = byte(rng.UintN(256))
		}
		bodies = append(bodies, b)
	}
	for _, header := range []http.Header{valid.Header, {}, nil} {
		for _, b := range bodies {
			req := &payments.WebhookRequest{Header: header.Clone(), Body: b, RemoteAddr: valid.RemoteAddr}
			assert.NotPanics(t, func() {
				_, err := h.Gateway.ParseWebhook(context.Background(), req)
				assert.Error(t, err, "garbage body %q accepted", truncate(b))
			})
		}
	}
	if h.Sign == nil {
		return
	}
	// Signed garbage gets past authentication: the parser must refuse it
	// with ErrInvalidInput, or ignore it, and never panic.
	for _, b := range bodies {
		req := h.Sign(b)
		assert.NotPanics(t, func() {
			c, err := h.Gateway.ParseWebhook(context.Background(), req)
			if err != nil {
				assert.ErrorIs(t, err, payments.ErrInvalidInput, "signed garbage %q", truncate(b))
				return
			}
			assert.Empty(t, c.Entries, "signed garbage %q recorded money", truncate(b))
		}, "signed garbage %q", truncate(b))
	}
}

func checkTwice(t *testing.T, h Harness) {
	ctx := context.Background()
	svc, err := payments.New(memory.New(), payments.WithGateway(h.Gateway))
	require.NoError(t, err)
	req := h.Valid(t, time.Now())
	first, err := svc.HandleWebhook(ctx, h.Gateway.Name(), cloneRequest(req))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, first.Notification.Outcome, first.Notification.Detail)
	second, err := svc.HandleWebhook(ctx, h.Gateway.Name(), cloneRequest(req))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, second.Notification.Outcome)
	entries, _, err := svc.Entries(ctx, payments.EntryFilter{Gateway: h.Gateway.Name()})
	require.NoError(t, err)
	assert.Len(t, entries, len(first.Recorded.Entries))
	assert.Len(t, second.Recorded.Duplicates, len(first.Recorded.Entries))
}

func cloneRequest(r *payments.WebhookRequest) *payments.WebhookRequest {
	c := *r
	c.Header = r.Header.Clone()
	c.Body = bytes.Clone(r.Body)
	return &c
}

func truncate(b []byte) []byte {
	if len(b) > 40 {
		return b[:40]
	}
	return b
}

// FuzzWebhook is the body of a driver's fuzz target: seeds are real-shaped
// bodies from testdata; sign, when not nil, authenticates each fuzzed body
// so the fuzzer reaches the parser behind the signature check. Whatever the
// input, ParseWebhook must not panic, must fail with ErrUnauthenticated or
// ErrInvalidInput when it fails, and every entry it returns must be valid.
func FuzzWebhook(f *testing.F, g payments.Gateway, sign func(body []byte) *payments.WebhookRequest, seeds ...[]byte) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		req := &payments.WebhookRequest{Header: http.Header{}, Body: body}
		if sign != nil {
			req = sign(body)
		}
		c, err := g.ParseWebhook(context.Background(), req)
		if err != nil {
			if !errors.Is(err, payments.ErrUnauthenticated) && !errors.Is(err, payments.ErrInvalidInput) {
				t.Fatalf("error wraps neither ErrUnauthenticated nor ErrInvalidInput: %v", err)
			}
			return
		}
		if err := c.Validate(g.Name()); err != nil {
			t.Fatalf("changes invalid: %v", err)
		}
	})
}
