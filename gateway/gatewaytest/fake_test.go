package gatewaytest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

// TestFakeConformance runs the suite against the Fake, which is its own
// peer: it keeps no payments, so Authorize has nothing to do, and its
// refunds complete at once, so it needs no Refunded. Its payment.overpaid
// events report overpayments (Overpaid); it refuses what the ledger
// rejects (AcknowledgesRejected is false).
func TestFakeConformance(t *testing.T) {
	fake := gatewaytest.NewFake("whsec_test")
	var n atomic.Int64
	event := func(typ, paymentID, account string) gatewaytest.Event {
		return gatewaytest.Event{
			ID: fmt.Sprintf("evt_%d", n.Add(1)), Type: typ, PaymentID: paymentID,
			Account: account, Amount: "12.34", Currency: "EUR",
		}
	}
	gatewaytest.RunConformance(t, gatewaytest.Harness{
		Gateway: fake,
		Valid: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return fake.Request(event("payment.succeeded", "fp_conf", "user-1"), at)
		},
		WrongKey: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return gatewaytest.NewFake("whsec_other").Request(event("payment.succeeded", "fp_conf", "user-1"), at)
		},
		Unsign: func(t *testing.T, req *payments.WebhookRequest) {
			req.Header.Del(gatewaytest.SignatureHeader)
		},
		Tolerance: 5 * time.Minute,
		Sign: func(body []byte) *payments.WebhookRequest {
			return &payments.WebhookRequest{Header: fake.Sign(body, time.Now()), Body: body}
		},
		Unattributed: func(t *testing.T, at time.Time) *payments.WebhookRequest {
			return fake.Request(event("payment.succeeded", fmt.Sprintf("fp_unknown_%d", n.Add(1)), ""), at)
		},
		Amount: payments.Money{Amount: 2000, Currency: "EUR"},
		Paid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			ev := event("payment.succeeded", p.GatewayID, "")
			ev.Amount, ev.Currency = amount.Decimal(), string(amount.Currency)
			return fake.Request(ev, time.Now())
		},
		Overpaid: func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest {
			ev := event("payment.overpaid", p.GatewayID, "")
			ev.Amount, ev.Currency = amount.Decimal(), string(amount.Currency)
			return fake.Request(ev, time.Now())
		},
		Authorize: func(t *testing.T, p payments.Payment) {},
		Requests:  func() int { return len(fake.Calls()) },
		// The Fake acknowledges with the event's id; an undecodable body
		// leaves it empty, and the reply then matches no acknowledgement.
		WantReply: func(req *payments.WebhookRequest) payments.WebhookReply {
			var ev gatewaytest.Event
			_ = json.Unmarshal(req.Body, &ev)
			return payments.WebhookReply{Status: http.StatusOK, ContentType: "text/plain; charset=utf-8", Body: []byte("ok " + ev.ID)}
		},
	})
}

func FuzzFakeWebhook(f *testing.F) {
	fake := gatewaytest.NewFake("whsec_fuzz")
	paths, err := filepath.Glob("testdata/*.json")
	require.NoError(f, err)
	require.NotEmpty(f, paths)
	var seeds [][]byte
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		seeds = append(seeds, b)
	}
	gatewaytest.FuzzWebhook(f, fake, func(body []byte) *payments.WebhookRequest {
		return &payments.WebhookRequest{Header: fake.Sign(body, time.Now()), Body: body}
	}, seeds...)
}

// FuzzFakeParseRecord feeds the Fake's reconciliation parser, which takes
// unsigned bodies: whatever it accepts must be valid changes.
func FuzzFakeParseRecord(f *testing.F) {
	fake := gatewaytest.NewFake("whsec_fuzz")
	paths, err := filepath.Glob("testdata/*.json")
	require.NoError(f, err)
	for _, p := range paths {
		b, err := os.ReadFile(p)
		require.NoError(f, err)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		c, err := fake.ParseRecord(t.Context(), body)
		if err == nil {
			require.NoError(t, c.Validate(fake.Name()))
		}
	})
}

func TestFakeRejectsMalformedSignatureHeader(t *testing.T) {
	fake := gatewaytest.NewFake("k")
	for _, h := range []string{"", "t=abc,v1=00", "t=1", "v1=zz", "t=1,v1=nothex"} {
		req := &payments.WebhookRequest{Header: http.Header{gatewaytest.SignatureHeader: {h}}, Body: []byte(`{}`)}
		_, err := fake.ParseWebhook(t.Context(), req)
		require.ErrorIs(t, err, payments.ErrUnauthenticated, h)
	}
}
