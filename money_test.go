package payments_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func TestParseMoney(t *testing.T) {
	tests := []struct {
		amount, currency string
		want             int64
		wantCurrency     payments.Currency
	}{
		{"10.50", "USD", 1050, "USD"},
		{"10.5", "usd", 1050, "USD"},
		{"10", "USD", 1000, "USD"},
		{"0.01", "EUR", 1, "EUR"},
		{"10.500", "USD", 1050, "USD"}, // trailing zeros are exact
		{"-3.25", "USD", -325, "USD"},
		{"1000", "JPY", 1000, "JPY"},
		{"1000.00", "JPY", 1000, "JPY"},
		{"1.234", "KWD", 1234, "KWD"},
		{"0.00041300", "BTC", 41300, "BTC"},
		{"12.3456", "CLF", 123456, "CLF"},
		{"92233720368547758.07", "USD", math.MaxInt64, "USD"},
		{"-92233720368547758.07", "USD", -math.MaxInt64, "USD"},
		{"007.10", "USD", 710, "USD"},
	}
	for _, tt := range tests {
		t.Run(tt.amount+" "+tt.currency, func(t *testing.T) {
			m, err := payments.ParseMoney(tt.amount, tt.currency)
			require.NoError(t, err)
			assert.Equal(t, payments.Money{Amount: tt.want, Currency: tt.wantCurrency}, m)
		})
	}
}

func TestParseMoneyRejects(t *testing.T) {
	tests := []struct{ name, amount, currency string }{
		{"more precision than USD", "10.505", "USD"},
		{"fraction of a yen", "100.5", "JPY"},
		{"more precision than KWD", "1.2345", "KWD"},
		{"overflow", "92233720368547758.08", "USD"},
		{"far overflow", "99999999999999999999999", "JPY"},
		{"empty", "", "USD"},
		{"lone point", ".", "USD"},
		{"no whole part", ".5", "USD"},
		{"no fraction digits", "10.", "USD"},
		{"plus sign", "+1", "USD"},
		{"double minus", "--1", "USD"},
		{"exponent", "1e3", "USD"},
		{"space", " 1", "USD"},
		{"thousands separator", "1,000", "USD"},
		{"two points", "1.2.3", "USD"},
		{"unknown currency", "1", "XXQ"},
		{"empty currency", "1", ""},
		{"NaN", "NaN", "USD"},
		{"unicode digit", "١", "USD"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := payments.ParseMoney(tt.amount, tt.currency)
			assert.ErrorIs(t, err, payments.ErrInvalidInput)
		})
	}
}

func TestMoneyDecimalRoundTrips(t *testing.T) {
	tests := []struct {
		m    payments.Money
		want string
	}{
		{payments.Money{Amount: 1050, Currency: "USD"}, "10.50"},
		{payments.Money{Amount: 5, Currency: "USD"}, "0.05"},
		{payments.Money{Amount: -5, Currency: "USD"}, "-0.05"},
		{payments.Money{Amount: 0, Currency: "USD"}, "0.00"},
		{payments.Money{Amount: 1000, Currency: "JPY"}, "1000"},
		{payments.Money{Amount: 1, Currency: "KWD"}, "0.001"},
		{payments.Money{Amount: 41300, Currency: "BTC"}, "0.00041300"},
		{payments.Money{Amount: math.MaxInt64, Currency: "USD"}, "92233720368547758.07"},
		{payments.Money{Amount: math.MinInt64, Currency: "JPY"}, "-9223372036854775808"},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.m.Decimal())
		if tt.m.Amount == math.MinInt64 {
			continue // below -MaxInt64, which is the parser's floor
		}
		back, err := payments.ParseMoney(tt.m.Decimal(), string(tt.m.Currency))
		require.NoError(t, err)
		assert.Equal(t, tt.m, back)
	}
	assert.Equal(t, "10.50 USD", payments.Money{Amount: 1050, Currency: "USD"}.String())
}

func TestMoneyArithmetic(t *testing.T) {
	a := payments.Money{Amount: 1050, Currency: "USD"}
	sum, err := a.Add(payments.Money{Amount: -50, Currency: "USD"})
	require.NoError(t, err)
	assert.Equal(t, int64(1000), sum.Amount)

	_, err = a.Add(payments.Money{Amount: 1, Currency: "EUR"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = payments.Money{Amount: math.MaxInt64, Currency: "USD"}.Add(payments.Money{Amount: 1, Currency: "USD"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = payments.Money{Amount: math.MinInt64, Currency: "USD"}.Add(payments.Money{Amount: -1, Currency: "USD"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)

}

func TestCurrencyExponents(t *testing.T) {
	for code, want := range map[string]int{"USD": 2, "EUR": 2, "JPY": 0, "KRW": 0, "KWD": 3, "BHD": 3, "CLF": 4, "BTC": 8, "USDT": 8} {
		exp, ok := payments.Currency(code).Exponent()
		assert.True(t, ok, code)
		assert.Equal(t, want, exp, code)
	}
	_, ok := payments.Currency("usd").Exponent()
	assert.False(t, ok, "codes are canonical upper case; ParseCurrency normalizes")
	c, err := payments.ParseCurrency("usd")
	require.NoError(t, err)
	assert.Equal(t, payments.Currency("USD"), c)
}

func FuzzParseMoney(f *testing.F) {
	for _, s := range []string{"10.50", "-0.01", "1e3", "92233720368547758.07", "0.00041300", "1.", ""} {
		f.Add(s, "USD")
		f.Add(s, "BTC")
		f.Add(s, "JPY")
	}
	f.Fuzz(func(t *testing.T, amount, currency string) {
		m, err := payments.ParseMoney(amount, currency)
		if err != nil {
			return
		}
		back, err := payments.ParseMoney(m.Decimal(), string(m.Currency))
		if err != nil || back != m {
			t.Fatalf("%q %s parsed to %v, which formats as %q and parses back to %v, %v", amount, currency, m, m.Decimal(), back, err)
		}
	})
}
