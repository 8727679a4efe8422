package payments_test

import (
	"context"
	"fmt"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
)

func ExampleParseMoney() {
	m, err := payments.ParseMoney("10.5", "usd")
	fmt.Println(m.Amount, m.Currency, m, err)

	_, err = payments.ParseMoney("10.505", "USD")
	fmt.Println(err)
	// Output:
	// 1050 USD 10.50 USD <nil>
	// payments: amount "10.505" in USD: more than 2 decimal places: invalid input
}

func ExampleParseReference() {
	ref, err := payments.ParseReference("order:672626:k3j2h1")
	fmt.Println(ref.Type, ref.ID, ref.Suffix, err)
	// Output: order 672626 k3j2h1 <nil>
}

func ExampleService_HandleWebhook() {
	ctx := context.Background()
	gateway := gatewaytest.NewFake("whsec_example")
	svc, err := payments.New(memory.New(), payments.WithGateway(gateway))
	if err != nil {
		panic(err)
	}
	paid := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "pi_1",
		Account: "user-42", Amount: "25.00", Currency: "USD"}
	for range 2 { // gateways deliver at least once
		res, err := svc.HandleWebhook(ctx, "fake", gateway.Request(paid, time.Now()))
		if err != nil {
			panic(err)
		}
		fmt.Println(res.Notification.Outcome)
	}
	bal, _ := svc.Balance(ctx, "user-42", "USD")
	fmt.Println(bal.Money)
	// Output:
	// recorded
	// duplicate
	// 25.00 USD
}
