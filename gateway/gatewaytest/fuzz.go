package gatewaytest

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/payrail/payments"
)

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
