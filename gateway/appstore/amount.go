package appstore

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/payrail/payments"
)

// milliunitsPerUnit: Apple states prices in milliunits of the currency,
// "one unit of the currency equals 1000 milliunits"
// (https://developer.apple.com/documentation/appstoreservernotifications/price).
const milliunitsPerUnit = 3 // decimal places

// fromMilliunits converts a price in milliunits of currency exactly into
// its minor units: 1990 milliunits of USD (exponent 2) are 199 cents, 990
// milliunits of JPY (exponent 0) are refused, as is anything beyond int64.
func fromMilliunits(milliunits int64, currency string) (payments.Money, error) {
	c, err := payments.ParseCurrency(currency)
	if err != nil {
		return payments.Money{}, err
	}
	if milliunits < 0 {
		return payments.Money{}, fmt.Errorf("appstore: negative price %d milliunits of %s: %w", milliunits, c, payments.ErrInvalidInput)
	}
	exp, _ := c.Exponent()
	minor := milliunits
	switch {
	case exp < milliunitsPerUnit:
		div := pow10(milliunitsPerUnit - exp)
		if milliunits%div != 0 {
			return payments.Money{}, fmt.Errorf("appstore: price %d milliunits of %s is not a whole number of its minor units: %w",
				milliunits, c, payments.ErrInvalidInput)
		}
		minor = milliunits / div
	case exp > milliunitsPerUnit:
		mul := pow10(exp - milliunitsPerUnit)
		if milliunits > math.MaxInt64/mul {
			return payments.Money{}, fmt.Errorf("appstore: price %d milliunits of %s is out of range: %w", milliunits, c, payments.ErrInvalidInput)
		}
		minor = milliunits * mul
	}
	return payments.Money{Amount: minor, Currency: c}, nil
}

// pow10 is 10^n for the small n of currency exponents.
func pow10(n int) int64 {
	p := int64(1)
	for range n {
		p *= 10
	}
	return p
}

// priceOf is what the transaction charged: its price when Apple signed one
// (quantity included: "the price value shows the total amount of the
// transaction for the quantity the customer purchased"), else the
// configured price of its product times its quantity. A zero amount is a
// transaction nothing was paid for (a free trial, a free offer).
func (g *Gateway) priceOf(tx *Transaction) (payments.Money, string, error) {
	if tx.HasPrice {
		m, err := fromMilliunits(tx.Price, tx.Currency)
		if err != nil {
			return payments.Money{}, "", fmt.Errorf("appstore: transaction %s: %w", tx.TransactionID, err)
		}
		return m, "", nil
	}
	unit, ok := g.cfg.Prices[tx.ProductID]
	if !ok {
		return payments.Money{}, "", fmt.Errorf("appstore: transaction %s of product %q carries no price, and Config.Prices has none for it: %w",
			tx.TransactionID, tx.ProductID, payments.ErrInvalidInput)
	}
	quantity := int64(max(tx.Quantity, 1))
	if unit.Amount > math.MaxInt64/quantity {
		return payments.Money{}, "", fmt.Errorf("appstore: transaction %s: %d × %s is out of range: %w", tx.TransactionID, quantity, unit, payments.ErrInvalidInput)
	}
	total := payments.Money{Amount: unit.Amount * quantity, Currency: unit.Currency}
	return total, fmt.Sprintf("priced from Config.Prices: %d × %s", quantity, unit), nil
}

// share is pct thousandths of a percent of amount (Apple's
// revocationPercentage: 100000 is all of it), computed in integers and
// rounded half up to the nearest minor unit: Apple rounds the percentage
// itself to three decimals
// (https://developer.apple.com/documentation/appstoreservernotifications/revocationpercentage),
// so a third refunded of 2.97 reads 33.333% and is 0.99, not 0.98999.
// exact reports whether no rounding was needed.
func share(amount int64, pct int64) (part int64, exact bool) {
	const whole = 100000
	hi, lo := bits.Mul64(uint64(amount), uint64(pct))
	// amount < 2^63 and pct <= whole < 2^17, so hi < whole and Div64
	// cannot overflow.
	q, r := bits.Div64(hi, lo, whole)
	if 2*r >= whole {
		q++
	}
	return int64(q), r == 0
}
