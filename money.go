package payments

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Currency is an upper-case currency code: an ISO 4217 code or one of the
// crypto codes the library declares an exponent for.
type Currency string

// Exponent returns the number of decimal places of the currency's minor unit
// (JPY 0, USD 2, KWD 3) and whether the code is known.
func (c Currency) Exponent() (int, bool) {
	if e, ok := nonTwoDecimalISO[c]; ok {
		return e, true
	}
	if _, ok := twoDecimalISO[c]; ok {
		return 2, true
	}
	e, ok := cryptoExponents[c]
	return e, ok
}

// ParseCurrency validates a currency code, accepting lower case as gateways
// send it ("usd" from Stripe), and returns it in canonical upper case.
func ParseCurrency(code string) (Currency, error) {
	c := Currency(strings.ToUpper(code))
	if _, ok := c.Exponent(); !ok {
		return "", fmt.Errorf("payments: unknown currency %q: %w", code, ErrInvalidInput)
	}
	return c, nil
}

// Money is an exact amount: an integer count of the currency's minor units
// (cents for USD, yen for JPY, satoshi for BTC). It never passes through a
// float. The zero Money has no currency and is not valid for recording.
type Money struct {
	// Amount in minor units; negative for money leaving (refunds,
	// chargebacks) in ledger entries.
	Amount   int64
	Currency Currency
}

// NewMoney builds Money from minor units, validating the currency code.
func NewMoney(amountMinor int64, currency string) (Money, error) {
	c, err := ParseCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	return Money{Amount: amountMinor, Currency: c}, nil
}

// ParseMoney parses a decimal string such as "10.50", "10.5", "1000" or
// "-3.25" exactly into minor units of currency. Trailing zeros beyond the
// currency's exponent are accepted ("10.500" USD is 1050) because the value is
// still exact; a non-zero digit beyond it ("10.505" USD) is an error, never a
// rounding. Signs other than a leading '-', exponents, spaces, thousands
// separators and values beyond int64 minor units are errors.
func ParseMoney(amount, currency string) (Money, error) {
	c, err := ParseCurrency(currency)
	if err != nil {
		return Money{}, err
	}
	exp, _ := c.Exponent()
	minor, err := parseMinor(amount, exp)
	if err != nil {
		return Money{}, fmt.Errorf("payments: amount %q in %s: %w", amount, c, err)
	}
	return Money{Amount: minor, Currency: c}, nil
}

// parseMinor is ParseMoney's arithmetic: digits are accumulated in uint64 so
// every step can be checked against the int64 range before it happens.
func parseMinor(s string, exp int) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	body := strings.TrimPrefix(s, "-")
	whole, frac, hasPoint := strings.Cut(body, ".")
	if whole == "" || (hasPoint && frac == "") {
		return 0, fmt.Errorf("not a decimal number: %w", ErrInvalidInput)
	}
	if !allDigits(whole) || !allDigits(frac) {
		return 0, fmt.Errorf("not a decimal number: %w", ErrInvalidInput)
	}
	if len(frac) > exp {
		if strings.Trim(frac[exp:], "0") != "" {
			return 0, fmt.Errorf("more than %d decimal places: %w", exp, ErrInvalidInput)
		}
		frac = frac[:exp]
	}
	digits := whole + frac + strings.Repeat("0", exp-len(frac))
	var v uint64
	for i := 0; i < len(digits); i++ {
		d := uint64(digits[i] - '0')
		if v > (math.MaxInt64-d)/10 {
			return 0, fmt.Errorf("out of range: %w", ErrInvalidInput)
		}
		v = v*10 + d
	}
	if neg {
		return -int64(v), nil
	}
	return int64(v), nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// Decimal formats the amount as a decimal string with exactly the currency's
// number of decimals ("10.50", "-0.05", "1000" for JPY), the form gateways
// expect in their APIs. An unknown currency formats as its minor units.
func (m Money) Decimal() string {
	exp, _ := m.Currency.Exponent()
	digits := strconv.FormatUint(absUint(m.Amount), 10)
	sign := ""
	if m.Amount < 0 {
		sign = "-"
	}
	if exp == 0 {
		return sign + digits
	}
	if len(digits) <= exp {
		digits = strings.Repeat("0", exp-len(digits)+1) + digits
	}
	return sign + digits[:len(digits)-exp] + "." + digits[len(digits)-exp:]
}

func absUint(v int64) uint64 {
	if v < 0 {
		return uint64(-(v + 1)) + 1 // math.MinInt64 has no positive int64
	}
	return uint64(v)
}

// String formats as "10.50 USD".
func (m Money) String() string { return m.Decimal() + " " + string(m.Currency) }

// Add returns m+o. Different currencies and int64 overflow are errors.
func (m Money) Add(o Money) (Money, error) {
	if m.Currency != o.Currency {
		return Money{}, fmt.Errorf("payments: add %s to %s: %w", o.Currency, m.Currency, ErrInvalidInput)
	}
	sum, ok := addInt64(m.Amount, o.Amount)
	if !ok {
		return Money{}, fmt.Errorf("payments: add %s to %s: overflow: %w", o, m, ErrInvalidInput)
	}
	return Money{Amount: sum, Currency: m.Currency}, nil
}

// addInt64 adds with overflow detection, so that balances stay exact.
func addInt64(a, b int64) (int64, bool) {
	s := a + b
	if (b > 0 && s < a) || (b < 0 && s > a) {
		return 0, false
	}
	return s, true
}
