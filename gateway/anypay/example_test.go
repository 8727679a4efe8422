package anypay_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/anypay"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

func ExampleNew() {
	g, err := anypay.New(anypay.Config{
		MerchantID: "1399",
		SecretKey:  "project-secret-key",
		// Optional: accept notifications only from Anypay's addresses, as
		// seen through the host's own reverse proxy.
		CheckSenderIP:  true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name())
	// Output: anypay
}

// Example_checkout wires the driver into a Service, starts a payment and
// mounts the notification URL; the customer pays at RedirectURL, and
// Anypay's notification records the charge and hears "OK".
func Example_checkout() {
	g, err := anypay.New(anypay.Config{MerchantID: os.Getenv("ANYPAY_MERCHANT_ID"), SecretKey: os.Getenv("ANYPAY_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	webhook.Mount(mux, svc) // POST /anypay-handleWebhookEvents
	amount, err := payments.ParseMoney("100.00", "RUB")
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Checkout(context.Background(), "anypay", payments.CheckoutRequest{
		Account: "user-42", Amount: amount, Reference: "order:1001:k3j2h1", Description: "Пополнение баланса",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pay at", p.RedirectURL)
}

// Anypay's API tells what it holds for a pay_id; only the notification
// records money.
func ExampleGateway_Payments() {
	g, err := anypay.New(anypay.Config{MerchantID: "1399", SecretKey: "project-secret-key", APIID: "12345", APIKey: "api-key"})
	if err != nil {
		log.Fatal(err)
	}
	list, err := g.Payments(context.Background(), "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4")
	if err != nil {
		log.Fatal(err)
	}
	for _, p := range list {
		fmt.Println(p.TransactionID, p.Status, p.Amount)
	}
}
