package payments_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
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

func ExampleNew() {
	svc, err := payments.New(memory.New(), // or sqlite.Open, postgres.Open
		payments.WithGateway(gatewaytest.NewFake("whsec_example")), // drivers are constructed explicitly
		payments.WithBalanceService(payments.BalanceFunc(func(ctx context.Context, e payments.Entry) error {
			// Make the host's own state reflect the entry, idempotently on
			// e.ID: it is called at least once per entry until it returns nil.
			fmt.Println("apply", e.Kind, e.Amount, "to", e.Account)
			return nil
		})),
	)
	if err != nil {
		panic(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	go svc.Run(ctx) // retries entries the BalanceService has not applied yet
	fmt.Println(svc.GatewayNames())
	// Output: [fake]
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
		// Reply is the answer to write back, as the driver's gateway wants
		// it; the webhook package's handlers write it.
		fmt.Println(res.Notification.Outcome, res.Reply.Status, string(res.Reply.Body))
	}
	forged := gateway.Request(paid, time.Now())
	forged.Body = append(forged.Body, ' ')
	res, err := svc.HandleWebhook(ctx, "fake", forged)
	fmt.Println(res.Notification.Outcome, res.Reply.Status, err != nil)
	bal, _ := svc.Balance(ctx, "user-42", "USD")
	fmt.Println(bal.Money)
	// Output:
	// recorded 200 ok evt_1
	// duplicate 200 ok evt_1
	// rejected 401 true
	// 25.00 USD
}

// A notification whose money names no account is parked: acknowledged to
// the gateway, kept in the journal, and credited once the host knows whose
// it is, with one call.
func ExampleService_Attribute() {
	ctx := context.Background()
	gateway := gatewaytest.NewFake("whsec_example")
	svc, err := payments.New(memory.New(), payments.WithGateway(gateway))
	if err != nil {
		panic(err)
	}
	// A payment taken by a payment link the host made by hand: no account.
	link := gatewaytest.Event{ID: "evt_1", Type: "payment.succeeded", PaymentID: "pi_1", Amount: "10.00", Currency: "USD"}
	res, err := svc.HandleWebhook(ctx, "fake", gateway.Request(link, time.Now()))
	if err != nil {
		panic(err)
	}
	fmt.Println("delivered:", res.Notification.Outcome, res.Reply.Status)

	parked, _, err := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	if err != nil {
		panic(err)
	}
	for _, n := range parked {
		res, err := svc.Attribute(ctx, n.ID, payments.Attribution{Account: "user-42", Reference: "order:672626:k3j2h1"})
		if err != nil {
			panic(err)
		}
		fmt.Println("attributed:", res.Notification.Outcome, len(res.Recorded.Entries), "entry")

		// Again, as a retrying host would: nothing is recorded twice.
		again, _ := svc.Attribute(ctx, n.ID, payments.Attribution{Account: "user-42"})
		fmt.Println("again:", again.Notification.Outcome)
		// Money that is user-42's is nobody else's.
		_, err = svc.Attribute(ctx, n.ID, payments.Attribution{Account: "user-7"})
		fmt.Println("another account:", errors.Is(err, payments.ErrConflict))
	}
	bal, _ := svc.Balance(ctx, "user-42", "USD")
	waiting, _, _ := svc.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	fmt.Println(bal.Money, len(waiting), "waiting")
	// Output:
	// delivered: parked 200
	// attributed: recorded 1 entry
	// again: duplicate
	// another account: true
	// 10.00 USD 0 waiting
}

// Listings come in pages: pass the cursor a page returns as After to read
// the next one, until it is "".
func ExampleService_Entries() {
	ctx := context.Background()
	gateway := gatewaytest.NewFake("whsec_example")
	svc, err := payments.New(memory.New(), payments.WithGateway(gateway))
	if err != nil {
		panic(err)
	}
	for i := range 5 {
		paid := gatewaytest.Event{ID: fmt.Sprint("evt_", i), Type: "payment.succeeded", PaymentID: fmt.Sprint("pi_", i),
			Account: "user-42", Amount: fmt.Sprint(i+1, ".00"), Currency: "USD"}
		if _, err := svc.HandleWebhook(ctx, "fake", gateway.Request(paid, time.Now())); err != nil {
			panic(err)
		}
	}
	f := payments.EntryFilter{Account: "user-42", Limit: 2}
	for {
		page, next, err := svc.Entries(ctx, f)
		if err != nil {
			panic(err)
		}
		var amounts []string
		for _, e := range page {
			amounts = append(amounts, e.Amount.String())
		}
		fmt.Println(strings.Join(amounts, ", "))
		if next == "" {
			break
		}
		f.After = next
	}
	// Output:
	// 1.00 USD, 2.00 USD
	// 3.00 USD, 4.00 USD
	// 5.00 USD
}

// Captures, cancellations and refunds take an options struct; the same Key
// never refunds twice.
func ExampleService_Refund() {
	ctx := context.Background()
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_example")))
	if err != nil {
		panic(err)
	}
	amount, _ := payments.ParseMoney("25.00", "USD")
	p, err := svc.Checkout(ctx, "fake", payments.CheckoutRequest{Account: "user-42", Amount: amount,
		Reference: "order:672626:k3j2h1", Capture: payments.CaptureManual})
	if err != nil {
		panic(err)
	}
	if _, err := svc.Capture(ctx, p.ID, payments.CaptureOptions{}); err != nil {
		panic(err)
	}
	part, _ := payments.ParseMoney("5.50", "USD")
	for range 2 { // a retried refund with the same key
		res, err := svc.Refund(ctx, p.ID, payments.RefundOptions{Amount: &part, Reason: "requested_by_customer", Key: "ticket-7"})
		if err != nil {
			panic(err)
		}
		fmt.Println(len(res.Recorded.Entries), "new,", len(res.Recorded.Duplicates), "duplicate")
	}
	bal, _ := svc.Balance(ctx, "user-42", "USD")
	fmt.Println(bal.Money)
	// Output:
	// 1 new, 0 duplicate
	// 0 new, 1 duplicate
	// 19.50 USD
}
