package payments_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

// BenchmarkHandleWebhook measures the core's share of ingesting one
// notification — verification, planning, journaling and the reply — over
// the memory store, each a new payment with its charge.
func BenchmarkHandleWebhook(b *testing.B) {
	fake := gatewaytest.NewFake("whsec_bench")
	svc, err := payments.New(memory.New(), payments.WithGateway(fake))
	if err != nil {
		b.Fatal(err)
	}
	now := time.Now()
	reqs := make([]*payments.WebhookRequest, b.N)
	for i := range reqs {
		id := strconv.Itoa(i)
		reqs[i] = fake.Request(gatewaytest.Event{ID: "evt_" + id, Type: "payment.succeeded", PaymentID: "pi_" + id,
			Account: "acct_" + strconv.Itoa(i%100), Amount: "10.00", Currency: "USD"}, now)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if _, err := svc.HandleWebhook(b.Context(), "fake", reqs[i]); err != nil {
			b.Fatal(err)
		}
	}
}
