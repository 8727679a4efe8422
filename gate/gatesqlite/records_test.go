package gatesqlite

import (
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
)

// The halves are what SQLite sums: every amount's high 32 bits, signed, and
// its low 32 bits.
func TestJoinHalves(t *testing.T) {
	halves := func(amounts ...int64) (high, low int64) {
		for _, a := range amounts {
			high, low = high+a>>32, low+a&math.MaxUint32
		}
		return high, low
	}
	for _, tc := range []struct {
		name    string
		amounts []int64
		ok      bool
	}{
		{"zero", nil, true},
		{"small", []int64{1050, 1}, true},
		{"max", []int64{math.MaxInt64}, true},
		{"max in parts", []int64{math.MaxInt64 - 1, 1}, true},
		{"min", []int64{math.MinInt64}, true},
		{"negative and positive", []int64{-5, 3}, true},
		{"max plus one", []int64{math.MaxInt64, 1}, false},
		{"max twice", []int64{math.MaxInt64, math.MaxInt64}, false},
		{"min minus one", []int64{math.MinInt64, -1}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var want int64
			for _, a := range tc.amounts {
				want += a
			}
			got, ok := joinHalves(halves(tc.amounts...))
			assert.Equal(t, tc.ok, ok)
			if tc.ok {
				assert.Equal(t, want, got)
			}
		})
	}
}
