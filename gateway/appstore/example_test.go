package appstore_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
	"github.com/payrail/payments/store/memory"
)

func ExampleNew() {
	key, err := os.ReadFile("testdata/AuthKey_2X9R4HXF34.p8") // AuthKey_<key id>.p8 from App Store Connect
	if err != nil {
		log.Fatal(err)
	}
	g, err := appstore.New(appstore.Config{
		BundleID:    "com.example",
		AppAppleID:  1234,
		Environment: appstore.Production,
		// For VerifyPurchase's look-ups with the App Store Server API.
		IssuerID:   "57246542-96fe-1a63-e053-0824d011072a",
		KeyID:      "2X9R4HXF34",
		PrivateKey: key,
	})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(g.Name())
	// Output: appstore
}

// Example_verifyPurchase credits a purchase the app reports: the
// transaction id (or StoreKit's signed transaction) is confirmed with
// Apple and recorded once, for the app's user, however often it is
// reported and whether or not Apple's notification of it arrives too. A
// production app's purchase made in the sandbox (App Review's) goes to a
// Sandbox Gateway of its own.
func Example_verifyPurchase() {
	var svc *payments.Service // with a Production "appstore" and a Sandbox "appstore-sandbox" Gateway
	req := payments.PurchaseRequest{Account: "user-42", ProductID: "com.example.coins100", Token: "2000000123456789"}
	res, err := svc.VerifyPurchase(context.Background(), "appstore", req)
	if errors.Is(err, appstore.ErrWrongEnvironment) {
		res, err = svc.VerifyPurchase(context.Background(), "appstore-sandbox", req)
	}
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Payment.Status)
}

// Example_notices answers what Apple asks of the host: a
// CONSUMPTION_REQUEST (Send Consumption Information), a REFUND_DECLINED,
// and a subscription's EXPIRED or DID_FAIL_TO_RENEW, which record no money
// and reach subscribers as payments.EventNotice.
func Example_notices() {
	g, err := appstore.New(appstore.Config{BundleID: "com.example", AppAppleID: 1234, Environment: appstore.Production})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(g))
	if err != nil {
		log.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	for ev := range svc.Subscribe(ctx, 64) {
		if ev.Type != payments.EventNotice || ev.Notification.Gateway != g.Name() {
			continue
		}
		n, err := g.DecodeNotification(ev.Notification.Body) // verified again
		if err != nil {
			continue
		}
		switch n.NotificationType {
		case "CONSUMPTION_REQUEST":
			fmt.Println("send consumption information for", n.Transaction.TransactionID, n.Data.ConsumptionRequestReason)
		case "EXPIRED", "DID_FAIL_TO_RENEW", "GRACE_PERIOD_EXPIRED", "REVOKE":
			fmt.Println("update the entitlement of", n.Transaction.OriginalTransactionId)
		}
	}
}
