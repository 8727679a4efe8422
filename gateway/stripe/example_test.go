package stripe_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
	"github.com/payrail/payments/store/memory"
	paymentswebhook "github.com/payrail/payments/webhook"
)

// A host constructs the driver from its secrets, adds it to a Service and
// mounts the webhook handler at POST /stripe-handleWebhookEvents.
func ExampleNew() {
	g, err := stripe.New(stripe.Config{
		SecretKey: os.Getenv("STRIPE_SECRET_KEY"),
		// The current signing secret, and the previous one while it expires.
		WebhookSecrets: strings.Split(os.Getenv("STRIPE_WEBHOOK_SECRET"), ","),
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	paymentswebhook.Mount(mux, svc)
}

// A host moving from an endpoint that sends only
// payment_intent.amount_capturable_updated, charge.refunded and
// review.closed turns on capture after review: authorizations are captured
// once no Radar review holds them, and booked from the capture. With the
// key, refunds made in the Dashboard are itemized from charge.refunded.
func ExampleNew_captureAfterReview() {
	g, err := stripe.New(stripe.Config{
		SecretKey:          os.Getenv("STRIPE_SECRET_KEY"),
		WebhookSecrets:     []string{os.Getenv("STRIPE_WEBHOOK_SECRET")},
		CaptureAfterReview: true,
		// Checkouts with a return URL get a hosted Checkout Session.
		HostedCheckout: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Checkout(context.Background(), "stripe", payments.CheckoutRequest{
		Account: "user-42", Amount: payments.Money{Amount: 2500, Currency: "USD"}, Capture: payments.CaptureManual,
		ReturnURL: "https://shop.example/thanks", CancelURL: "https://shop.example/cart",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pay at", p.RedirectURL)
}

// ParseWebhook verifies an event and says what it means for the ledger; the
// Service records it. webhook.GenerateTestSignedPayload signs the way Stripe
// does, for tests.
func ExampleGateway_ParseWebhook() {
	g, err := stripe.New(stripe.Config{WebhookSecrets: []string{"whsec_example"}})
	if err != nil {
		log.Fatal(err)
	}
	body := []byte(`{"id": "evt_1", "object": "event", "api_version": "2023-10-16", "created": 1703175362,
	  "type": "payment_intent.succeeded",
	  "data": {"object": {"id": "pi_1", "object": "payment_intent", "amount": 500, "amount_received": 500,
	    "currency": "isk", "status": "succeeded", "metadata": {"payments_account": "user-42"}}}}`)
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_example", Timestamp: time.Now()})
	req := &payments.WebhookRequest{Header: http.Header{stripe.SignatureHeader: {signed.Header}}, Body: body}

	changes, err := g.ParseWebhook(context.Background(), req)
	if err != nil {
		log.Fatal(err)
	}
	for _, e := range changes.Entries {
		fmt.Println(e.Kind, e.Amount, "to", e.Account, "ref", e.GatewayRef)
	}
	// Output: charge 5 ISK to user-42 ref pi_1
}
