package stripe_test

import (
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/gateway/stripe"
)

// TestConformance runs the suite against fakeAPI: with refunds that
// succeed at once, as card refunds usually do; with refunds Stripe answers
// as pending and completes later (refund.updated), as it does for some
// payment methods; and with CaptureAfterReview on, which changes nothing
// of the contract. Stripe has every power the suite checks.
// HostedCheckout is not run here: the suite needs a checkout's gateway id
// at once, and a Checkout Session's PaymentIntent exists only once the
// customer pays (see TestHostedCheckoutSession).
func TestConformance(t *testing.T) {
	for _, v := range []struct {
		name, refundStatus string
		captureAfterReview bool
	}{
		{"refunds at once", "succeeded", false},
		{"refunds pending", "pending", false},
		{"capture after review", "succeeded", true},
	} {
		t.Run(v.name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.setRefundStatus(v.refundStatus)
			g := newGateway(t, func(c *stripe.Config) {
				c.Tolerance, c.SecretKey, c.BaseURL = 300*time.Second, "sk_test_conformance", api.URL
				c.CaptureAfterReview = v.captureAfterReview
			})
			h := conformanceHarness(g, api)
			if v.refundStatus == "pending" {
				h.Refunded = func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
					re := api.completeRefund(t, p.GatewayID, amount.Amount)
					return objectEvent(t, "refund.updated", re, map[string]any{"status": "pending"})
				}
			}
			gatewaytest.RunConformance(t, h)
		})
	}
}

func conformanceHarness(g *stripe.Gateway, api *fakeAPI) gatewaytest.Harness {
	var n atomic.Int64
	succeeded := func(t *testing.T, intentID string, md map[string]any) []byte {
		id := fmt.Sprintf("evt_conformance%06d", n.Add(1))
		return edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) {
			ev["id"] = id
			if intentID != "" {
				object(ev)["id"], object(ev)["metadata"] = intentID, md
			}
		})
	}
	return gatewaytest.Harness{
		Gateway: g,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return signed(succeeded(t, "", nil), testSecret, at)
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return signed(succeeded(t, "", nil), otherSecret, at)
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Header.Del(stripe.SignatureHeader)
		},
		Tolerance: 300 * time.Second,
		Sign: func(body []byte) *payments.WebhookRequest {
			return signed(body, testSecret, time.Now())
		},
		// An intent made outside the driver (a Payment Link) whose creator
		// set no account.
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return signed(succeeded(t, fmt.Sprintf("pi_elsewhere%d", n.Add(1)), map[string]any{}), testSecret, at)
		},
		// The intent's currency is fixed when it is created; an event in
		// another one is what the ledger must park, however it came.
		Paid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			pi := api.payReceived(t, p.GatewayID, amount.Amount)
			pi["currency"] = strings.ToLower(string(amount.Currency))
			return objectEvent(t, "payment_intent.succeeded", pi, nil)
		},
		Authorize: func(t *testing.T, p payments.Payment) { api.authorize(t, p.GatewayID) },
		Requests:  func() int { return len(api.callLog()) },
		// Stripe reports no overpayment (Overpaid is nil), and a verified
		// event the ledger rejects for good is answered 200: Stripe
		// retries refusals for days (see Gateway.WebhookReply).
		AcknowledgesRejected: true,
	}
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
