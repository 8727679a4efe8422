package googleplay_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
	"github.com/payrail/payments/store/memory"
)

func ExampleNew() {
	g, err := googleplay.New(googleplay.Config{
		PackageName:        "com.example.numbers",
		ServiceAccountJSON: []byte(os.Getenv("GOOGLE_PLAY_SECRET_FILE")), // the key file's contents
		// The push subscription's audience and the account it signs as.
		PushAudience:       "https://api.example.com/googleplay-handleWebhookEvents",
		PushServiceAccount: "play-rtdn-push@example-project.iam.gserviceaccount.com",
		Prices: map[string]payments.Money{
			"coins_100":       {Amount: 99, Currency: "USD"},
			"premium/monthly": {Amount: 499, Currency: "USD"},
		},
		Consumables:         []string{"coins_100"},
		Subscriptions:       []string{"premium"},
		RefuseTestPurchases: true, // in production
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name())
}

// Example_verifyPurchase records a purchase the app reports: the Service
// looks it up through the driver, records the charge for the caller's
// account, and the driver acknowledges (and consumes) it once durable.
func Example_verifyPurchase() {
	var g *googleplay.Gateway // from googleplay.New, as in ExampleNew
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	res, err := svc.VerifyPurchase(context.Background(), googleplay.DefaultName, payments.PurchaseRequest{
		Account:   "user-42",                 // the signed-in user; the app set it as obfuscatedAccountId
		ProductID: "coins_100",               // Purchase.getProducts()
		Token:     "purchase-token-from-app", // Purchase.getPurchaseToken()
	})
	switch {
	case errors.Is(err, payments.ErrConflict):
		log.Print("the purchase is another account's")
	case err != nil && res != nil:
		log.Print("recorded, but not acknowledged yet: report it again") // Google refunds it after three days
	case err != nil:
		log.Fatal(err)
	}
}

// ExampleVoidedPoller records the refunds whose notification never
// arrived: every hour it lists the voided purchases since its cursor and
// records each through the Service (Service.Record), which counts nothing
// twice. The cursor lives in the host's own storage.
func ExampleVoidedPoller() {
	var g *googleplay.Gateway // from googleplay.New, as in ExampleNew
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	var cursors googleplay.CursorStore // the host's, on its own database
	poller := &googleplay.VoidedPoller{Gateway: g, Recorder: svc, Cursors: cursors}
	ctx := context.Background() // the host's, which ends at shutdown
	// Run polls at once and then hourly; it logs a failed poll, tries again
	// at the next tick, and returns once ctx ends.
	go func() { _ = poller.Run(ctx) }()
}

// A host that records test purchases refuses them in its BalanceService
// in production.
func ExampleIsTestPurchase() {
	production := true
	balance := payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
		if e.Gateway == googleplay.DefaultName && googleplay.IsTestPurchase(e) && production {
			return payments.Permanent(errors.New("test purchase in production"))
		}
		return nil // credit e.Account with e.Amount, idempotently on e.ID
	})
	err := balance.Apply(context.Background(), payments.Entry{Gateway: "googleplay", GatewayRef: googleplay.OrderKey("", "token", true)})
	fmt.Println(payments.IsPermanent(err))
	// Output: true
}
