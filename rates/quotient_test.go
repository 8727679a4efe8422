package rates_test

import (
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/rates"
)

func TestQuotient(t *testing.T) {
	for _, tc := range []struct{ dividend, divisor, want string }{
		// Terminating quotients are exact, however long.
		{"1.0842", "1.0842", "1"},
		{"1", "1.25", "0.8"},
		{"15.00", "15.00", "1"},
		{"1", "1024", "0.0009765625"},
		{"1", "0.00000128", "781250"},
		{"3", "0.00000000000000000001", "300000000000000000000"},
		// Others are rounded, half away from zero, to 12 significant digits.
		{"1", "3", "0.333333333333"},
		{"2", "3", "0.666666666667"},
		{"1", "1.0842", "0.922339051835"},
		{"1.0842", "162.53", "0.00667076847351"},
		{"162.53", "1.0842", "149.907766095"},
		{"0.27", "3.5", "0.0771428571429"},
		{"1000000000000000", "3", "333333333333000"},
		{"1", "300000000000000", "0.00000000000000333333333333"},
		{"9.9999999999996", "1", "9.9999999999996"},
		{"2", "2.000000000000001", "1"}, // 0.9999999999999995…: the rounding carries
	} {
		got, err := rates.Quotient(tc.dividend, tc.divisor)
		require.NoError(t, err, "%s / %s", tc.dividend, tc.divisor)
		assert.Equal(t, tc.want, got, "%s / %s", tc.dividend, tc.divisor)
	}
}

func TestQuotientRefusesWhatIsNotAPlainPositiveDecimal(t *testing.T) {
	for _, s := range []string{"", "0", "0.000", "-1", "+1", "1e3", "1E3", "0x10", "0b1", "1_0", "1/3", ".5", "5.", " 1", "1 ", "1,5", "Inf", "NaN", "١"} {
		_, err := rates.Quotient(s, "1")
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "dividend %q", s)
		_, err = rates.Quotient("1", s)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "divisor %q", s)
	}
}

// TestQuotientGivesBackTheFigure is the property a gateway's own figures
// rely on: a charge converted at the rate Quotient derives from it converts
// back to exactly the gateway's figure, below 10^11 minor units.
func TestQuotientGivesBackTheFigure(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		charged := payments.Money{Amount: 1 + rng.Int64N(1_000_000_000_000_000), Currency: "TRX"}
		settled := payments.Money{Amount: 1 + rng.Int64N(100_000_000_000), Currency: "USD"}
		rate, err := rates.Quotient(settled.Decimal(), charged.Decimal())
		require.NoError(t, err)
		back, err := payments.Convert(charged, rate, "USD")
		require.NoError(t, err)
		require.Equal(t, settled, back, "%s for %s at %s", settled, charged, rate)
	}
}

func FuzzQuotient(f *testing.F) {
	f.Add("1.0842", "162.53")
	f.Add("1", "3")
	f.Add("0.27", "3.5")
	f.Add("1", "0.00000128")
	f.Add("0x10", "1e3")
	f.Fuzz(func(t *testing.T, dividend, divisor string) {
		if len(dividend) > 200 || len(divisor) > 200 {
			return
		}
		got, err := rates.Quotient(dividend, divisor)
		if err != nil {
			return
		}
		a, _ := new(big.Rat).SetString(dividend)
		b, _ := new(big.Rat).SetString(divisor)
		exact := new(big.Rat).Quo(a, b)
		r, ok := new(big.Rat).SetString(got)
		require.True(t, ok, got)
		again, err := rates.Quotient(got, "1")
		require.NoError(t, err, "the result is itself a plain decimal")
		require.Equal(t, got, again, "and a terminating one")
		// |got - exact| ≤ 5·10^-12 · exact
		diff := new(big.Rat).Sub(r, exact)
		diff.Abs(diff)
		bound := new(big.Rat).Mul(exact, big.NewRat(5, 1_000_000_000_000))
		require.True(t, diff.Cmp(bound) <= 0, "%s / %s = %s, exactly %s", dividend, divisor, got, exact.FloatString(30))
	})
}
