package appstore_test

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/appstore"
)

func TestFromMilliunits(t *testing.T) {
	for _, tc := range []struct {
		milliunits int64
		currency   string
		want       string // "" for refused
	}{
		{10990, "USD", "10.99 USD"},
		{990, "usd", "0.99 USD"},
		{0, "USD", "0.00 USD"},
		{10995, "USD", ""}, // half a cent
		{480000, "JPY", "480 JPY"},
		{480500, "JPY", ""},
		{1234, "KWD", "1.234 KWD"},
		{1, "BHD", "0.001 BHD"},
		{1500, "CLF", "1.5000 CLF"}, // exponent 4
		{math.MaxInt64, "CLF", ""},  // beyond int64 in minor units
		{math.MaxInt64 / 10 * 10, "USD", "9223372036854775.80 USD"},
		{-10, "USD", ""},
		{10990, "XYZ", ""},
		{10990, "", ""},
	} {
		got, err := appstore.FromMilliunitsForTest(tc.milliunits, tc.currency)
		if tc.want == "" {
			assert.ErrorIs(t, err, payments.ErrInvalidInput, "%d %s", tc.milliunits, tc.currency)
			continue
		}
		require.NoError(t, err, "%d %s", tc.milliunits, tc.currency)
		assert.Equal(t, tc.want, got.String())
	}
}

func TestShare(t *testing.T) {
	for _, tc := range []struct {
		amount, pct, want int64
		exact             bool
	}{
		{1099, 100000, 1099, true},
		{1099, 50000, 550, false}, // 549.5 rounds half up
		{1000, 40000, 400, true},
		{297, 33333, 99, false}, // 98.99901: one of three, as Apple rounds the percentage
		{1099, 15, 0, false},    // 0.16485
		{1099, 67932, 747, false},
		{math.MaxInt64, 100000, math.MaxInt64, true},
		{math.MaxInt64, 99999, 9223279803134407259, false},
		{0, 50000, 0, true},
	} {
		got, exact := appstore.ShareForTest(tc.amount, tc.pct)
		assert.Equal(t, tc.want, got, "%d × %d", tc.amount, tc.pct)
		assert.Equal(t, tc.exact, exact, "%d × %d", tc.amount, tc.pct)
	}
}
