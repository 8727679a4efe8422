package cryptomus_test

import (
	"context"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// TestConformance runs the suite against the fake Cryptomus API: with the
// sender's address unchecked, checked, and checked behind the host's
// reverse proxy, where X-Forwarded-For is what the journal must keep for a
// replay to pass the same check; and with overpayments charged in full
// (ChargePaidAmount), where paid_over is booked (Overpaid). Cryptomus has
// no manual capture and no cancel, refunds whole invoices only
// (Lacks.PartialRefund), and refunds asynchronously: refund_paid records
// the refund (Refunded). The driver is no payments.WebhookReplier: a
// rejected notification keeps the Service's 4xx (AcknowledgesRejected is
// false), since Cryptomus documents no automatic retries to spare.
func TestConformance(t *testing.T) {
	proxied := func(body []byte) *payments.WebhookRequest {
		req := webhookRequest(body)
		req.RemoteAddr = "10.1.2.3:8080"
		req.Header = http.Header{"X-Forwarded-For": {cryptomus.DefaultWebhookIP}, "Cookie": {"session=host"}}
		return req
	}
	for _, tc := range []struct {
		name    string
		mutate  func(*cryptomus.Config)
		request func(body []byte) *payments.WebhookRequest
	}{
		{"defaults", func(*cryptomus.Config) {}, webhookRequest},
		{"sender IP checked", func(c *cryptomus.Config) {
			c.CheckWebhookIP = true
			c.PayoutKey = payoutKey
		}, webhookRequest},
		{"sender IP checked behind a proxy", func(c *cryptomus.Config) {
			c.CheckWebhookIP = true
			c.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
		}, proxied},
		{"overpayments charged", func(c *cryptomus.Config) { c.Overpayment = cryptomus.ChargePaidAmount }, webhookRequest},
	} {
		t.Run(tc.name, func(t *testing.T) {
			api := newFakeAPI(t)
			var cfg cryptomus.Config
			g := api.gateway(tc.mutate, func(c *cryptomus.Config) {
				c.RefundAddress = func(context.Context, payments.Payment) (string, error) {
					return "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj", nil
				}
				cfg = *c
			})
			h := conformanceHarness(g, api, tc.request)
			if cfg.Overpayment != cryptomus.ChargePaidAmount {
				h.Overpaid = nil // paid_over books the invoice amount
			}
			gatewaytest.RunConformance(t, h)
		})
	}
}

// conformanceHarness drives g and the fake API behind it; request wraps a
// body as it reaches the host.
func conformanceHarness(g *cryptomus.Gateway, api *fakeAPI, request func(body []byte) *payments.WebhookRequest) gatewaytest.Harness {
	var n atomic.Int64
	// invoiceWebhook is the webhook Cryptomus sends for an invoice the fake
	// made, in the status the fake holds it in.
	invoiceWebhook := func(t *testing.T, inv fakeInvoice, more ...field) *payments.WebhookRequest {
		var additional any
		if inv.AdditionalData != "" {
			additional = inv.AdditionalData
		}
		return request(webhookBody(t, paymentFields(append([]field{
			{"uuid", inv.UUID}, {"order_id", inv.OrderID}, {"amount", inv.Amount},
			{"currency", inv.Currency}, {"status", inv.Status}, {"additional_data", additional},
		}, more...)...), paymentKey))
	}
	return gatewaytest.Harness{
		Gateway: g,
		// The fixture PHP signed; Cryptomus signs no time, so at is unused.
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return request(readFixture(t, "webhook_paid.json"))
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return request(webhookBody(t, paymentFields(), "not-the-payment-key"))
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			i := strings.LastIndex(string(req.Body), `,"sign":"`)
			req.Body = append(req.Body[:i:i], '}')
		},
		Tolerance: 0,
		// An invoice created in Cryptomus's dashboard: an order_id of the
		// shop's own and no additional_data.
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return request(webhookBody(t, paymentFields(
				field{"uuid", newUUID(t)}, field{"order_id", fmt.Sprintf("dashboard-%d", n.Add(1))},
				field{"additional_data", nil},
			), paymentKey))
		},
		// A paid webhook whose invoice amount and currency are amount's:
		// what the driver reads as the charge, whatever the payer sent.
		Paid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			inv := api.settle(t, p.GatewayID, "paid")
			inv.Amount, inv.Currency = amount.Decimal(), string(amount.Currency)
			return invoiceWebhook(t, inv)
		},
		// paid_over for the invoice, the customer having sent amount in the
		// invoice's currency: booked only under ChargePaidAmount, so the
		// test clears it for the other configurations.
		Overpaid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			inv := api.settle(t, p.GatewayID, "paid_over")
			require.Equal(t, inv.Currency, string(amount.Currency))
			return invoiceWebhook(t, inv, field{"payment_amount", amount.Decimal()}, field{"payer_currency", inv.Currency})
		},
		Refunded: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			require.Equal(t, p.Amount, amount, "Cryptomus refunds whole invoices")
			inv := api.settle(t, p.GatewayID, "refund_paid")
			require.Positive(t, inv.Refunds, "refund_paid for an invoice nobody asked to refund")
			return invoiceWebhook(t, inv)
		},
		Requests: api.requestCount,
		Lacks:    gatewaytest.Lacks{PartialRefund: true},
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
