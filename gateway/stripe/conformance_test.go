package stripe_test

import (
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/gateway/stripe"
)

func TestConformance(t *testing.T) {
	g := newGateway(t, func(c *stripe.Config) { c.Tolerance = 300 * time.Second })
	var n atomic.Int64
	fresh := func(t *testing.T) []byte {
		id := fmt.Sprintf("evt_conformance%06d", n.Add(1))
		return edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { ev["id"] = id })
	}
	gatewaytest.RunConformance(t, gatewaytest.Harness{
		Gateway: g,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return signed(fresh(t), testSecret, at)
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return signed(fresh(t), otherSecret, at)
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Header.Del(stripe.SignatureHeader)
		},
		Tolerance: 300 * time.Second,
		Sign: func(body []byte) *payments.WebhookRequest {
			return signed(body, testSecret, time.Now())
		},
	})
}

// FuzzParseWebhook signs every input, so the fuzzer reaches the decoding and
// translation behind the signature check, and accepts any API version, so
// mutations of it do not stop there either.
func FuzzParseWebhook(f *testing.F) {
	g := newGateway(f, func(c *stripe.Config) { c.IgnoreAPIVersionMismatch = true })
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest {
		return signed(body, testSecret, time.Now())
	}, fixtures(f)...)
}
