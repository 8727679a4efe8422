package cryptomus_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/gateway/gatewaytest"
)

func TestConformance(t *testing.T) {
	for name, g := range map[string]*cryptomus.Gateway{
		"defaults": newGateway(t),
		"sender IP checked": newGateway(t, func(c *cryptomus.Config) {
			c.CheckWebhookIP = true
			c.PayoutKey = payoutKey
		}),
	} {
		t.Run(name, func(t *testing.T) {
			gatewaytest.RunConformance(t, gatewaytest.Harness{
				Gateway: g,
				// The fixture PHP signed; Cryptomus signs no time, so at is unused.
				Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
					return webhookRequest(readFixture(t, "webhook_paid.json"))
				},
				WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
					return webhookRequest(webhookBody(t, paymentFields(), "not-the-payment-key"))
				},
				Unsign: func(t *testing.T, req *payments.WebhookRequest) {
					i := strings.LastIndex(string(req.Body), `,"sign":"`)
					req.Body = append(req.Body[:i:i], '}')
				},
				Tolerance: 0,
			})
		})
	}
}

// FuzzParseWebhook feeds ParseWebhook fuzzed bodies, re-signed whenever
// they parse as a JSON object so that the fuzzer also reaches what lies
// behind the signature check.
func FuzzParseWebhook(f *testing.F) {
	g := newGateway(f)
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Header: http.Header{}, Body: cryptomus.ResignForTest(body, paymentKey)}
	}, fixtureSeeds(f)...)
}

// TestResignReachesTranslation makes sure the fuzz target's signer gets
// bodies past the signature check.
func TestResignReachesTranslation(t *testing.T) {
	g := newGateway(t)
	for _, seed := range fixtureSeeds(t) {
		_, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Body: cryptomus.ResignForTest(seed, paymentKey)})
		if err != nil {
			require.NotErrorIs(t, err, payments.ErrUnauthenticated, "%s", seed)
		}
	}
}
