package paypal_test

import (
	"context"
	"log"
	"net/http"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/paypal"
	"github.com/payrail/payments/store/memory"
	paymentswebhook "github.com/payrail/payments/webhook"
)

// A host constructs the driver from its REST app's credentials and the id
// of the webhook it created for https://your.host/paypal-handleWebhookEvents,
// adds it to a Service and mounts the webhook handler.
func ExampleNew() {
	g, err := paypal.New(paypal.Config{
		ClientID:  os.Getenv("PAYPAL_CLIENT_ID"),
		Secret:    os.Getenv("PAYPAL_SECRET"),
		WebhookID: os.Getenv("PAYPAL_WEBHOOK_ID"), // signed into every notification
		Sandbox:   true,
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	paymentswebhook.Mount(mux, svc) // POST /paypal-handleWebhookEvents
}

// A payment PayPal captured in two parts is refunded one capture at a time;
// the note is shown to the buyer.
func ExampleRefundExtension() {
	var svc *payments.Service // as in ExampleNew
	refund := func(ctx context.Context, paymentID, captureID string) error {
		_, err := svc.Refund(ctx, paymentID, payments.RefundOptions{
			Key:       "ticket-7",
			Extension: paypal.RefundExtension{CaptureID: captureID, NoteToPayer: "Refunded as agreed."},
		})
		return err
	}
	_ = refund
}
