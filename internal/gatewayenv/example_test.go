package gatewayenv_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/payrail/payments/internal/gatewayenv"
)

// A host builds its drivers from its environment, os.Getenv in production;
// a map here.
func ExampleFromEnv() {
	vars := map[string]string{
		"CRYPTOMUS_ENABLED": "true", "CRYPTOMUS_MERCHANT_ID": "c26b80a8-0000-4000-8000-000000000000", "CRYPTOMUS_PAYMENT_KEY": "…",
		"PAYEER_ENABLED": "true", "PAYEER_SHOP_ID": "987654321", "PAYEER_SECRET_KEY": "…",
	}
	gateways, err := gatewayenv.FromEnv(func(k string) string { return vars[k] }, slog.New(slog.NewTextHandler(os.Stderr, nil)))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, g := range gateways {
		fmt.Printf("/%s-handleWebhookEvents\n", g.Name())
	}
	// Output:
	// /cryptomus-handleWebhookEvents
	// /payeer-handleWebhookEvents
}
