package otelpay_test

import (
	"context"
	"log"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/otelpay"
	"github.com/payrail/payments/store/memory"
)

// A host wires the Observer into its Service and registers the gauges once
// the Service exists. Here the providers are the SDK's; a host usually
// installs them globally (otel.SetMeterProvider) and passes Options{}.
func Example() {
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	tp := sdktrace.NewTracerProvider()
	defer func() { _ = mp.Shutdown(context.Background()); _ = tp.Shutdown(context.Background()) }()

	obs, err := otelpay.New(otelpay.Options{MeterProvider: mp, TracerProvider: tp})
	if err != nil {
		log.Fatal(err)
	}
	svc, err := payments.New(memory.New(), payments.WithGateway(gatewaytest.NewFake("whsec_example")),
		payments.WithObserver(obs))
	if err != nil {
		log.Fatal(err)
	}
	reg, err := obs.RegisterBacklog(svc)
	if err != nil {
		log.Fatal(err)
	}
	defer func() { _ = reg.Unregister() }()
	// Mount the webhook handlers and Run the Service as usual.
}
