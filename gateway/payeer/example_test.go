package payeer_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/netip"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/payeer"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

func ExampleNew() {
	g, err := payeer.New(payeer.Config{
		ShopID:    "987654321",
		SecretKey: "merchant-secret-key",
		// Optional: per-payment URLs and the account sent in m_params.
		ParamsKey: "key-for-additional-parameters",
		StatusURL: "https://shop.example/payeer-handleWebhookEvents",
		// Optional: accept callbacks only from Payeer's published
		// addresses, as seen through the host's own reverse proxy.
		CheckSenderIP:  true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name())
	// Output: payeer
}

// Example_checkout wires the driver into a Service, starts a payment and
// mounts the status URL; the customer pays at RedirectURL and Payeer's
// callback records the charge and hears "<m_orderid>|success".
func Example_checkout() {
	g, err := payeer.New(payeer.Config{ShopID: os.Getenv("PAYEER_SHOP_ID"), SecretKey: os.Getenv("PAYEER_SECRET_KEY")})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	webhook.Mount(mux, svc) // POST /payeer-handleWebhookEvents
	amount, err := payments.ParseMoney("25.00", "USD")
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Checkout(context.Background(), "payeer", payments.CheckoutRequest{
		Account: "user-42", Amount: amount, Reference: "order:1001:k3j2h1", Description: "Top-up",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pay at", p.RedirectURL)
}

// Payeer's API tells what it holds for an order; only the callback records
// money.
func ExampleGateway_PaymentDetails() {
	g, err := payeer.New(payeer.Config{
		ShopID: "987654321", SecretKey: "merchant-secret-key",
		APIAccount: "P1000000", APIID: "12345", APIKey: "api-user-secret",
	})
	if err != nil {
		log.Fatal(err)
	}
	details, err := g.PaymentDetails(context.Background(), "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4")
	if err != nil {
		log.Fatal(err)
	}
	for _, d := range details {
		fmt.Println(d.Amount, "paid", d.Processed, "credited", d.Profit)
	}
}
