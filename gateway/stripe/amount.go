package stripe

import (
	"fmt"
	"math"
	"strings"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// Stripe counts amounts in "the currency's minor unit", but its idea of the
// minor unit is not always ISO 4217's (https://docs.stripe.com/currencies):
//
//   - zero-decimal currencies take whole units; among them MGA, which ISO
//     gives two decimals;
//   - ISK and UGX became zero-decimal but, for backwards compatibility,
//     Stripe still counts them in hundredths that are always 00 ("to charge
//     5 ISK, provide an amount value of 500") while ISO gives them none
//     (https://docs.stripe.com/currencies#special-cases);
//   - HUF and TWD are zero-decimal for payouts only; charges, refunds and
//     events use two decimals, as ISO does;
//   - BHD, JOD, KWD, OMR and TND take three decimals, and Stripe requires
//     the last digit of an amount to be 0
//     (https://docs.stripe.com/currencies).
//
// Every other currency is two-decimal at Stripe. The driver converts between
// Stripe's count and ISO minor units exactly, in integers: a Stripe amount
// that does not convert exactly is an error, never a rounding.
var stripeZeroDecimal = map[payments.Currency]bool{
	"BIF": true, "CLP": true, "DJF": true, "GNF": true, "JPY": true, "KMF": true,
	"KRW": true, "MGA": true, "PYG": true, "RWF": true, "VND": true, "VUV": true,
	"XAF": true, "XOF": true, "XPF": true,
}

var stripeThreeDecimal = map[payments.Currency]bool{
	"BHD": true, "JOD": true, "KWD": true, "OMR": true, "TND": true,
}

// stripeExponent is the number of decimals in Stripe's amounts for c.
func stripeExponent(c payments.Currency) int {
	switch {
	case stripeZeroDecimal[c]:
		return 0
	case stripeThreeDecimal[c]:
		return 3
	}
	return 2
}

// fromStripe converts a non-negative Stripe amount in a lower-case Stripe
// currency to Money in ISO minor units. Its errors are for callers to
// prefix.
func fromStripe(amount int64, currency stripego.Currency) (payments.Money, error) {
	c, err := payments.ParseCurrency(string(currency))
	if err != nil {
		return payments.Money{}, err
	}
	if amount < 0 {
		return payments.Money{}, fmt.Errorf("negative amount %d %s: %w", amount, c, payments.ErrInvalidInput)
	}
	iso, _ := c.Exponent()
	minor, err := rescale(amount, stripeExponent(c), iso)
	if err != nil {
		return payments.Money{}, fmt.Errorf("amount %d %s: %w", amount, c, err)
	}
	return payments.Money{Amount: minor, Currency: c}, nil
}

// toStripe converts a positive Money to Stripe's amount and lower-case
// currency, rejecting amounts Stripe cannot charge: fractions of ISK, UGX
// or MGA, and three-decimal amounts whose last digit is not 0.
func toStripe(m payments.Money) (int64, string, error) {
	iso, ok := m.Currency.Exponent()
	if !ok {
		return 0, "", fmt.Errorf("stripe: unknown currency %q: %w", m.Currency, payments.ErrInvalidInput)
	}
	if m.Amount <= 0 {
		return 0, "", fmt.Errorf("stripe: amount %s must be positive: %w", m, payments.ErrInvalidInput)
	}
	amount, err := rescale(m.Amount, iso, stripeExponent(m.Currency))
	if err != nil {
		return 0, "", fmt.Errorf("stripe: %s cannot be charged at Stripe: %w", m, err)
	}
	if stripeThreeDecimal[m.Currency] && amount%10 != 0 {
		return 0, "", fmt.Errorf("stripe: %s: Stripe requires the last digit of %s amounts to be 0: %w", m, m.Currency, payments.ErrInvalidInput)
	}
	return amount, strings.ToLower(string(m.Currency)), nil
}

// rescale moves a non-negative amount from one number of decimals to
// another: exact division or checked multiplication by a power of ten.
func rescale(amount int64, fromExp, toExp int) (int64, error) {
	switch {
	case fromExp > toExp:
		p := pow10(fromExp - toExp)
		if amount%p != 0 {
			return 0, fmt.Errorf("not a whole number of minor units: %w", payments.ErrInvalidInput)
		}
		return amount / p, nil
	case fromExp < toExp:
		p := pow10(toExp - fromExp)
		if amount > math.MaxInt64/p {
			return 0, fmt.Errorf("out of range: %w", payments.ErrInvalidInput)
		}
		return amount * p, nil
	}
	return amount, nil
}

func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}
