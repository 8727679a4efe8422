package anypay_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// TestConformance runs gatewaytest.RunConformance, with SHA-256 signs and
// with the legacy MD5 ones, and with the sender unchecked, checked, and
// checked behind a proxy. Anypay's notification signs no field that could
// name an account (only currency, amount, pay_id, merchant_id and status),
// and an account read from an unsigned field could be rewritten to credit
// someone else; so the suite's notifications that must record money are
// made for a payment it checked out first (Harness.ValidFor), and every
// Anypay notification of a payment the ledger does not hold is parked.
func TestConformance(t *testing.T) {
	proxied := func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Body: body, RemoteAddr: "10.1.2.3:8080",
			Header: http.Header{"X-Forwarded-For": {anypayIP}, "Cookie": {"session=host"}}}
	}
	for _, tc := range []struct {
		name    string
		md5     bool
		mutate  func(*anypay.Config)
		request func(body []byte) *payments.WebhookRequest
	}{
		{"sha256, sender unchecked", false, func(*anypay.Config) {}, notificationRequest},
		{"sha256, sender checked", false, func(c *anypay.Config) { c.CheckSenderIP = true }, notificationRequest},
		{"sha256, sender checked behind a proxy", false, func(c *anypay.Config) {
			c.CheckSenderIP = true
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, proxied},
		{"legacy md5", true, func(*anypay.Config) {}, notificationRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := newFakeAnypay(t, tc.md5)
			s := &suite{g: newGateway(t, peer.config, tc.mutate), peer: peer, request: tc.request}
			paid := func(t *testing.T, p payments.Payment, m payments.Money) *payments.WebhookRequest {
				peer.open(t, p.RedirectURL)
				return tc.request(peer.pay(t, p.GatewayID, m))
			}
			gatewaytest.RunConformance(t, gatewaytest.Harness{
				Gateway: s.g,
				Valid:   func(t *testing.T, at time.Time) *payments.WebhookRequest { return s.valid(testSecret) },
				ValidFor: func(t *testing.T, p payments.Payment, at time.Time) *payments.WebhookRequest {
					return paid(t, p, p.Amount)
				},
				WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest { return s.valid("not-the-secret") },
				Unsign:   func(t *testing.T, req *payments.WebhookRequest) { req.Body = withoutField(req.Body, "sign") },
				Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
					payID := fmt.Sprint(800000 + s.n.Add(1))
					peer.hold(payID, payments.Money{Amount: 10000, Currency: "RUB"})
					return tc.request(encodeNotification(notificationFields(field{"pay_id", payID}), testSecret, tc.md5))
				},
				Paid:   paid,
				Amount: amount,
				WantReply: func(*payments.WebhookRequest) payments.WebhookReply {
					return payments.WebhookReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("OK")}
				},
			})
		})
	}
}

// suite makes the notifications of one configuration.
type suite struct {
	g       *anypay.Gateway
	peer    *fakeAnypay
	request func(body []byte) *payments.WebhookRequest
	n       atomic.Int64
}

var amount = payments.Money{Amount: 2500, Currency: "RUB"}

// valid is an authentic notification of a payment no ledger holds, with
// only signed fields (see TestUnsignedFieldsChangeNothing for the rest):
// what the suite's parse-only checks tamper with.
func (s *suite) valid(secret string) *payments.WebhookRequest {
	i := s.n.Add(1)
	signed := []string{"merchant_id", "pay_id", "amount", "currency", "status"}
	payID := fmt.Sprintf("pay_0195f3c2a1b4d5e6f7a8b9c0d1%06x", i)
	if s.peer.md5 {
		// MD5 signs neither status nor currency: the driver takes them
		// from Anypay's API, which holds the payment as paid, and the
		// notification carries only what is signed.
		s.peer.hold(payID, amount)
		signed = signed[:3]
	}
	return s.request(encodeNotification(only(notificationFields(
		field{"pay_id", payID}, field{"amount", "25.00"},
	), signed...), secret, s.peer.md5))
}

// FuzzParseWebhook feeds ParseWebhook fuzzed bodies, re-signed whenever
// they parse as a form so that the fuzzer also reaches what lies behind
// the signature check.
func FuzzParseWebhook(f *testing.F) {
	g := newGateway(f)
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Header: http.Header{}, Body: resign(body, testSecret)}
	}, fixtureSeeds(f)...)
}

// TestResignReachesTranslation makes sure the fuzz target's signer gets
// bodies past the signature check.
func TestResignReachesTranslation(t *testing.T) {
	g := newGateway(t)
	for _, seed := range fixtureSeeds(t) {
		_, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Body: resign(seed, testSecret)})
		assert.NoError(t, err, "%s", seed)
	}
}
