package webhook_test

import (
	"fmt"
	"net/http"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/webhook"
)

func ExampleMount() {
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_example")))
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	webhook.Mount(mux, svc) // the host owns the mux and the server
	fmt.Println(webhook.DefaultPattern("fake"))
	// Output: POST /fake-handleWebhookEvents
}
