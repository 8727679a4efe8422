package cryptomus_test

import (
	"context"
	"fmt"
	"log"
	"net/netip"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/cryptomus"
	"github.com/payrail/payments/store/memory"
)

func ExampleNew() {
	g, err := cryptomus.New(cryptomus.Config{
		MerchantID:  "c26b80a8-9549-4a66-bb53-774f12809249",
		PaymentKey:  "payment-api-key",
		CallbackURL: "https://shop.example/cryptomus-handleWebhookEvents",
		// Optional: accept webhooks only from Cryptomus's address, as seen
		// through the host's own reverse proxy.
		CheckWebhookIP: true,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name())
	// Output: cryptomus
}

// Example_checkout wires the driver into a Service and starts a payment;
// the customer pays at RedirectURL and the webhook records the charge.
func Example_checkout() {
	g, err := cryptomus.New(cryptomus.Config{
		MerchantID:  os.Getenv("CRYPTOMUS_MERCHANT_ID"),
		PaymentKey:  os.Getenv("CRYPTOMUS_PAYMENT_KEY"),
		CallbackURL: "https://shop.example/cryptomus-handleWebhookEvents",
	})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	amount, err := payments.ParseMoney("15.00", "USD")
	if err != nil {
		log.Fatal(err)
	}
	p, err := svc.Checkout(context.Background(), "cryptomus", payments.CheckoutRequest{
		Account: "user-42", Amount: amount, Reference: "order:1001:k3j2h1",
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("pay at", p.RedirectURL)
}

// A refund goes to the wallet address the customer gave for it; the
// invoice is refunded whole, and the refund_paid webhook records it.
func ExampleRefundExtension() {
	var svc *payments.Service // with a cryptomus.Gateway, as in Example_checkout
	_, err := svc.Refund(context.Background(), "pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a4", payments.RefundOptions{
		Key:       "support-ticket-7",
		Extension: cryptomus.RefundExtension{Address: "TXhfYSWt2oKRrHAJVJeYRuit6ZzKuoEKXj"},
	})
	if err != nil {
		log.Fatal(err)
	}
}
