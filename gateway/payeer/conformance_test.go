package payeer_test

import (
	"fmt"
	"net/http"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/gateway/payeer"
)

// TestConformance runs the suite against the fake Payeer: with the
// sender's address unchecked, checked, and checked behind the host's
// reverse proxy, where X-Forwarded-For is what the journal must keep for a
// replay to pass the same check. Checkouts send m_params (Config.ParamsKey)
// so that a callback names its account as Payeer brings it back, which is
// what lets a callback record in a ledger that never saw its checkout.
//
// Payeer has no capture, cancel or refund: the driver declares none of
// them, so the suite checks checkouts, callbacks, replies, replays and
// parked money. Payeer signs no time (Tolerance 0). The driver shapes
// every reply as "<m_orderid>|success" or "|error" and keeps the Service's
// 4xx for what the ledger rejects for good (AcknowledgesRejected false).
func TestConformance(t *testing.T) {
	direct := func(body []byte) *payments.WebhookRequest { return callbackRequest(body) }
	proxied := func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Body: body, RemoteAddr: "10.1.2.3:8080",
			Header: http.Header{"X-Forwarded-For": {payeerIP}, "Cookie": {"session=host"}}}
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*payeer.Config)
		request func(body []byte) *payments.WebhookRequest
	}{
		{"sender unchecked", func(*payeer.Config) {}, direct},
		{"sender checked", func(c *payeer.Config) { c.CheckSenderIP = true }, direct},
		{"sender checked behind a proxy", func(c *payeer.Config) {
			c.CheckSenderIP = true
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, proxied},
	} {
		t.Run(tc.name, func(t *testing.T) {
			peer := newFakePayeer(t)
			g := newGateway(t, peer.config, func(c *payeer.Config) {
				c.ParamsKey = testParamsKey
				c.StatusURL = "https://shop.example/payeer-handleWebhookEvents"
			}, tc.mutate)
			gatewaytest.RunConformance(t, conformanceHarness(g, peer, tc.request))
		})
	}
}

func conformanceHarness(g *payeer.Gateway, peer *fakePayeer, request func(body []byte) *payments.WebhookRequest) gatewaytest.Harness {
	var n atomic.Int64
	// fresh is a success callback of a new operation for a library order
	// whose checkout sent the account in m_params. It carries only signed
	// fields: the suite's tampered-body check changes letters and digits
	// anywhere in the body, and Payeer signs only its own fields, not
	// those it adds (summa_out, client_email, …), which the driver never
	// reads — TestUnsignedFieldsChangeNothing checks that instead.
	fresh := func(key string) []byte {
		i := n.Add(1)
		return encodeCallback(callbackFields(
			field{"m_operation_id", fmt.Sprint(1293285000 + i)},
			field{"m_orderid", fmt.Sprintf("pay_0195f3c2a1b4d5e6f7a8b9c0d1%06x", i)},
			field{"m_params", `{"reference":{"account":"acct_valid","reference":"conformance:valid"}}`},
		), key)
	}
	return gatewaytest.Harness{
		Gateway: g,
		// Payeer signs no time, so at is unused.
		Valid:    func(t *testing.T, at time.Time) *payments.WebhookRequest { return request(fresh(testKey)) },
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest { return request(fresh("not-the-secret-key")) },
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Body = withoutField(req.Body, "m_sign")
		},
		Tolerance: 0,
		// An order of the shop's own, paid through a form the library
		// never made: no m_params, an order id that is no payment's.
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			i := n.Add(1)
			return request(encodeCallback(callbackFields(
				field{"m_operation_id", fmt.Sprint(1293286000 + i)}, field{"m_orderid", fmt.Sprintf("shop-%d", i)},
			), testKey))
		},
		// The customer opens the checkout's page, and Payeer reports the
		// order paid amount.
		Paid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			peer.open(t, p.RedirectURL)
			return request(peer.pay(t, p.GatewayID, amount))
		},
		Requests: peer.requestCount,
		WantReply: func(req *payments.WebhookRequest) payments.WebhookReply {
			return payments.WebhookReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8",
				Body: []byte(orderIDOf(req.Body) + "|success")}
		},
		AcknowledgesRejected: false,
	}
}

// FuzzParseWebhook feeds ParseWebhook fuzzed bodies, re-signed whenever
// they parse as a form so that the fuzzer also reaches what lies behind
// the signature check.
func FuzzParseWebhook(f *testing.F) {
	g := newGateway(f)
	gatewaytest.FuzzWebhook(f, g, func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Header: http.Header{}, Body: resign(body, testShop, testKey)}
	}, fixtureSeeds(f)...)
}

// TestResignReachesTranslation makes sure the fuzz target's signer gets
// bodies past the signature check.
func TestResignReachesTranslation(t *testing.T) {
	g := newGateway(t)
	for _, seed := range fixtureSeeds(t) {
		_, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Body: resign(seed, testShop, testKey)})
		if err != nil {
			t.Errorf("%s: %v", seed, err)
		}
	}
}
