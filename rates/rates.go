// Package rates holds exchange-rate sources a Service's Settlement can use
// as they are: a fixed table from configuration (Fixed), and the European
// Central Bank's daily reference rates (ECB).
//
// Every rate is an exact decimal, and a rate derived from others (a cross
// rate through the euro, or a gateway's settled amount divided by the
// amount charged) is written by one rule, Quotient's: exactly when the
// quotient terminates, else to SignificantDigits significant digits; the
// decimal written is then the rate, which payments.Convert uses exactly.
package rates

import (
	"context"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

// Fixed is a table of rates from configuration, keyed "FROM/TO"
// ("EUR/USD": "1.0842", units of TO per unit of FROM, an exact decimal).
// It has no history: every time gets the same rate. A pair it lacks is
// payments.ErrNoRate; an inverse pair is not derived, since the inverse of
// a decimal is seldom a decimal.
type Fixed map[string]string

// Rate implements payments.RateSource.
func (f Fixed) Rate(ctx context.Context, from, to payments.Currency, at time.Time) (payments.Rate, error) {
	v, ok := f[string(from)+"/"+string(to)]
	if !ok {
		return payments.Rate{}, fmt.Errorf("rates: no fixed rate %s/%s: %w", from, to, payments.ErrNoRate)
	}
	return payments.Rate{Value: v, Source: "fixed", At: at}, nil
}
