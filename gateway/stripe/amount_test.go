package stripe

import (
	"math"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

func TestAmountConversion(t *testing.T) {
	tests := []struct {
		name     string
		stripe   int64
		currency stripego.Currency
		minor    int64 // ISO minor units
		code     payments.Currency
	}{
		{"two-decimal", 1050, "usd", 1050, "USD"},
		{"zero-decimal", 500, "jpy", 500, "JPY"},
		{"three-decimal", 5120, "kwd", 5120, "KWD"},
		{"ISK: two decimals at Stripe, none in ISO", 500, "isk", 5, "ISK"},
		{"UGX: two decimals at Stripe, none in ISO", 350000, "ugx", 3500, "UGX"},
		{"MGA: zero-decimal at Stripe, two in ISO", 1000, "mga", 100000, "MGA"},
		{"HUF: two decimals for charges", 150050, "huf", 150050, "HUF"},
		{"TWD: two decimals for charges", 30000, "twd", 30000, "TWD"},
		{"upper case accepted", 1050, "EUR", 1050, "EUR"},
		{"zero", 0, "usd", 0, "USD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := fromStripe(tt.stripe, tt.currency)
			require.NoError(t, err)
			assert.Equal(t, payments.Money{Amount: tt.minor, Currency: tt.code}, m)
			if tt.minor == 0 {
				return
			}
			back, currency, err := toStripe(m)
			require.NoError(t, err)
			assert.Equal(t, tt.stripe, back, "round trip")
			assert.Equal(t, strings.ToLower(string(tt.code)), currency, "Stripe takes lower-case codes")
		})
	}
}

func TestAmountConversionRejects(t *testing.T) {
	from := []struct {
		name     string
		amount   int64
		currency stripego.Currency
	}{
		{"ISK fraction", 550, "isk"},
		{"UGX fraction", 101, "ugx"},
		{"negative", -1, "usd"},
		{"unknown currency", 100, "xyz"},
		{"empty currency", 100, ""},
		{"MGA overflow", math.MaxInt64 / 10, "mga"},
	}
	for _, tt := range from {
		_, err := fromStripe(tt.amount, tt.currency)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, tt.name)
	}
	to := []struct {
		name  string
		money payments.Money
	}{
		{"zero", payments.Money{Amount: 0, Currency: "USD"}},
		{"negative", payments.Money{Amount: -100, Currency: "USD"}},
		{"MGA fraction Stripe cannot charge", payments.Money{Amount: 150, Currency: "MGA"}},
		{"three-decimal amount not ending in 0", payments.Money{Amount: 5124, Currency: "KWD"}},
		{"ISK overflow", payments.Money{Amount: math.MaxInt64 / 10, Currency: "ISK"}},
		{"unknown currency", payments.Money{Amount: 100, Currency: "XYZ"}},
	}
	for _, tt := range to {
		_, _, err := toStripe(tt.money)
		assert.ErrorIs(t, err, payments.ErrInvalidInput, tt.name)
	}
}
