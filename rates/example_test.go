package rates_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/rates"
)

// The ECB's reference rates as a Service's settlement source. A host
// leaves URL empty to ask the ECB itself; here a local server stands in
// for it, serving a copy of the daily file.
func ExampleNewECB() {
	ecb := httptest.NewServer(http.StripPrefix("/stats/eurofxref/", http.FileServer(http.Dir("testdata"))))
	defer ecb.Close()
	source, err := rates.NewECB(rates.ECBConfig{
		URL: ecb.URL + "/stats/eurofxref/",
		Now: func() time.Time { return time.Date(2026, 4, 8, 17, 0, 0, 0, time.UTC) },
	})
	if err != nil {
		panic(err)
	}
	charged := time.Date(2026, 4, 8, 16, 30, 0, 0, time.UTC)
	r, err := source.Rate(context.Background(), "JPY", "USD", charged)
	if err != nil {
		panic(err)
	}
	settled, err := payments.Convert(payments.Money{Amount: 10000, Currency: "JPY"}, r.Value, "USD")
	if err != nil {
		panic(err)
	}
	fmt.Println(r.Value, r.Source, r.At.UTC().Format(time.RFC3339))
	fmt.Println(settled)

	// A service would take it as its settlement source:
	_ = payments.WithSettlement(payments.Settlement{Currency: "USD", Rates: source})
	// Output:
	// 0.00667076847351 ecb 2026-04-08T12:10:00Z
	// 66.71 USD
}

// Quotient writes a derived rate: exact when it terminates, else to 12
// significant digits.
func ExampleQuotient() {
	for _, q := range [][2]string{{"1", "1.25"}, {"1.0842", "162.53"}} {
		r, _ := rates.Quotient(q[0], q[1])
		fmt.Println(r)
	}
	// Output:
	// 0.8
	// 0.00667076847351
}
