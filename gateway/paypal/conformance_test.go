package paypal_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/gateway/paypal"
)

// TestConformance runs the suite against the fake PayPal API twice: with
// refunds that complete at once, as most PayPal refunds do, and with
// refunds PayPal answers as PENDING and completes later, when the
// PAYMENT.CAPTURE.REFUNDED it sends records them (Refunded) after the driver
// looked the refunded capture up. PayPal has every power the suite checks;
// it reports no overpayment (Overpaid is nil), and a rejected notification
// keeps the Service's 4xx (AcknowledgesRejected is false).
func TestConformance(t *testing.T) {
	for name, refundStatus := range map[string]string{"refunds at once": "COMPLETED", "refunds pending": "PENDING"} {
		t.Run(name, func(t *testing.T) {
			api := newFakeAPI(t)
			api.setRefundStatus(refundStatus)
			h := conformanceHarness(t, newGateway(t, api), api)
			if refundStatus == "PENDING" {
				h.Refunded = func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
					r := api.completeRefund(t, p.GatewayID, amount)
					return defaultSigner(t).sign(eventBody(t, paypal.EventCaptureRefunded, "refund", r), time.Now())
				}
			}
			gatewaytest.RunConformance(t, h)
		})
	}
}

func conformanceHarness(t *testing.T, g *paypal.Gateway, api *fakeAPI) gatewaytest.Harness {
	var n atomic.Int64
	s := defaultSigner(t)
	// completed is a PAYMENT.CAPTURE.COMPLETED of an order made outside
	// the driver, whose custom_id names the account or nothing.
	completed := func(t *testing.T, customID string) []byte {
		k := n.Add(1)
		capture := map[string]any{"id": fmt.Sprintf("7JU6755%010dX", k), "status": "COMPLETED",
			"amount": map[string]any{"currency_code": "USD", "value": "25.00"}, "final_capture": true,
			"supplementary_data": map[string]any{"related_ids": map[string]any{"order_id": fmt.Sprintf("0E62476%010dP", k)}},
			"create_time":        "2026-11-30T10:05:00Z"}
		if customID != "" {
			capture["custom_id"] = customID
		}
		return eventBody(t, paypal.EventCaptureCompleted, "capture", capture)
	}
	other := s
	other.key = testCerts(t).otherKey
	return gatewaytest.Harness{
		Gateway: g,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return s.sign(completed(t, paypal.CustomIDAccountPrefix+"acct_valid"), at)
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return other.sign(completed(t, paypal.CustomIDAccountPrefix+"acct_valid"), at)
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Header.Del(paypal.HeaderTransmissionSig)
		},
		Tolerance: paypal.DefaultTolerance,
		Sign:      func(body []byte) *payments.WebhookRequest { return s.sign(body, time.Now()) },
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return s.sign(completed(t, ""), at)
		},
		Paid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			capture := api.pay(t, p.GatewayID, amount)
			return s.sign(eventBody(t, paypal.EventCaptureCompleted, "capture", capture), time.Now())
		},
		Authorize: func(t *testing.T, p payments.Payment) { api.approve(t, p.GatewayID) },
		Requests:  func() int { return len(api.callLog()) },
	}
}

// FuzzParseWebhook fuzzes both sides of the signature check. Each input is
// sent under the headers of a notification PayPal signed for another body,
// which must be refused as unauthenticated whatever the bytes; and it is
// parsed as a notification that verified (ParseVerifiedForTest), which must
// fail only with payments.ErrInvalidInput and otherwise report changes the
// ledger accepts, as gatewaytest.FuzzWebhook checks. gatewaytest.FuzzWebhook
// itself signs every input, which takes an RSA signature per input: under
// the fuzzer's instrumentation that is seconds each. The API calls a
// translation makes reach the fake PayPal. Seeds are the events in
// testdata/events and, when $PAYMENTS_VECTORS/paypal holds them, the
// bodies of PayPal's published samples.
func FuzzParseWebhook(f *testing.F) {
	api := newFakeAPI(f)
	g := newGateway(f, api)
	signed := defaultSigner(f).sign(completedBody(f), time.Now())
	for _, seed := range fixtures(f) {
		f.Add(seed)
	}
	for _, body := range sdkSampleBodies(f) {
		f.Add(body)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		ctx := context.Background()
		if !bytes.Equal(body, signed.Body) {
			req := *signed
			req.Header, req.Body = signed.Header.Clone(), body
			if _, err := g.ParseWebhook(ctx, &req); !errors.Is(err, payments.ErrUnauthenticated) {
				t.Fatalf("a body PayPal did not sign: %v", err)
			}
		}
		c, err := g.ParseVerifiedForTest(ctx, body)
		if err != nil {
			if !errors.Is(err, payments.ErrInvalidInput) {
				t.Fatalf("a verified body fails with neither success nor ErrInvalidInput: %v", err)
			}
			return
		}
		if err := c.Validate(g.Name()); err != nil {
			t.Fatalf("changes invalid: %v", err)
		}
	})
}
