package rates

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/payrail/payments"
)

// SignificantDigits is how many significant digits Quotient keeps of a
// quotient that has no exact decimal form.
const SignificantDigits = 12

// Quotient is the one rule by which this package (and a driver deriving a
// rate from its gateway's figures) turns the quotient of two exact decimals
// into a rate, which payments.Convert then uses exactly:
//
//   - a quotient that terminates is recorded exactly, however many digits it
//     takes ("1.0842" ÷ "1.0842" is "1", "1" ÷ "1.25" is "0.8");
//   - any other is rounded, half away from zero, to SignificantDigits
//     significant digits ("1" ÷ "1.0842" is "0.922339051835").
//
// The rounded decimal is the rate: it is what Conversion.Rate records, and
// the conversion is exact given it, so what is stored reproduces what was
// computed. Rounding moves the rate by less than 5 parts in 10^12: money
// converted at it moves by less than half a minor unit below 10^11 minor
// units (a billion dollars), so an amount the exact quotient turns into
// whole minor units (a gateway's own figure, say) converts back to exactly
// that figure.
//
// dividend and divisor are plain positive decimals ("162.53", "0.27"):
// digits with at most one point, no sign, exponent, base prefix or digit
// separator. Anything else, or a zero, is payments.ErrInvalidInput. The
// result is such a decimal too, without trailing zeros.
func Quotient(dividend, divisor string) (string, error) {
	a, err := parseDecimal(dividend)
	if err != nil {
		return "", err
	}
	b, err := parseDecimal(divisor)
	if err != nil {
		return "", err
	}
	return formatRate(new(big.Rat).Quo(a, b)), nil
}

// parseDecimal reads a positive plain decimal. big.Rat.SetString alone
// would also take "1/3", "1e3", "0x10" or "1_000"; a rate string must mean
// the same to every reader, so only digits and one point pass.
func parseDecimal(s string) (*big.Rat, error) {
	whole, frac, hasPoint := strings.Cut(s, ".")
	if whole == "" || (hasPoint && frac == "") || !digitsOnly(whole) || !digitsOnly(frac) {
		return nil, fmt.Errorf("rates: %q is not a plain decimal: %w", s, payments.ErrInvalidInput)
	}
	r, ok := new(big.Rat).SetString(s)
	if !ok || r.Sign() <= 0 {
		return nil, fmt.Errorf("rates: %q is not a positive decimal: %w", s, payments.ErrInvalidInput)
	}
	return r, nil
}

func digitsOnly(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// formatRate writes a positive rational as Quotient's rule says: exactly
// when its decimal expansion terminates, else to SignificantDigits
// significant digits.
func formatRate(q *big.Rat) string {
	if places, ok := terminatingPlaces(q.Denom()); ok {
		return trimZeros(q.FloatString(places))
	}
	// q lies in [10^e, 10^(e+1)); the last kept digit is at 10^(e+1-SignificantDigits).
	e := magnitude(q)
	places := SignificantDigits - 1 - e
	if places >= 0 {
		return trimZeros(q.FloatString(places)) // FloatString rounds half away from zero
	}
	scale := new(big.Rat).SetInt(pow10(-places))
	whole := new(big.Rat).Quo(q, scale).FloatString(0)
	return whole + strings.Repeat("0", -places)
}

// terminatingPlaces reports whether a fraction with reduced denominator den
// has a finite decimal expansion, and how many places it takes: den must be
// 2^a·5^b, and then it takes max(a, b).
func terminatingPlaces(den *big.Int) (int, bool) {
	d := new(big.Int).Set(den)
	places := 0
	for _, p := range []int64{2, 5} {
		prime, n, m := big.NewInt(p), 0, new(big.Int)
		for {
			q, r := new(big.Int).QuoRem(d, prime, m)
			if r.Sign() != 0 {
				break
			}
			d, n = q, n+1
		}
		places = max(places, n)
	}
	return places, d.Cmp(big.NewInt(1)) == 0
}

// magnitude returns e with 10^e ≤ q < 10^(e+1), for q > 0.
func magnitude(q *big.Rat) int {
	e := len(q.Num().String()) - len(q.Denom().String())
	for q.Cmp(ratPow10(e)) < 0 {
		e--
	}
	for q.Cmp(ratPow10(e+1)) >= 0 {
		e++
	}
	return e
}

func ratPow10(e int) *big.Rat {
	if e >= 0 {
		return new(big.Rat).SetInt(pow10(e))
	}
	return new(big.Rat).SetFrac(big.NewInt(1), pow10(-e))
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// trimZeros drops trailing zeros after a decimal point, and the point when
// nothing follows it.
func trimZeros(s string) string {
	if !strings.Contains(s, ".") {
		return s
	}
	return strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
}
