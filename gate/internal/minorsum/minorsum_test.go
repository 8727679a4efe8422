package minorsum

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSumIsExact(t *testing.T) {
	for _, tc := range []struct {
		amounts []int64
		want    int64
		ok      bool
	}{
		{nil, 0, true},
		{[]int64{math.MaxInt64}, math.MaxInt64, true},
		{[]int64{math.MinInt64}, math.MinInt64, true},
		{[]int64{math.MaxInt64, 1}, 0, false},
		{[]int64{math.MinInt64, -1}, 0, false},
		{[]int64{math.MinInt64 + 1, -1}, math.MinInt64, true},
		{[]int64{math.MinInt64 + 2, -1, -1}, math.MinInt64, true},
		// Beyond int64 on the way, back within it at the end, in either order.
		{[]int64{math.MaxInt64, 1, -1}, math.MaxInt64, true},
		{[]int64{-1, math.MaxInt64, 1}, math.MaxInt64, true},
		{[]int64{math.MaxInt64, math.MaxInt64, math.MinInt64, math.MinInt64}, -2, true},
	} {
		var s Sum
		for _, a := range tc.amounts {
			s.Add(a)
		}
		got, ok := s.Total()
		assert.Equal(t, tc.ok, ok, "%v", tc.amounts)
		if tc.ok {
			assert.Equal(t, tc.want, got, "%v", tc.amounts)
		}
	}
}

// TestSumMatchesBigInt compares random sums, most of them near the bounds,
// with math/big.
func TestSumMatchesBigInt(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	edge := []int64{math.MaxInt64, math.MinInt64, math.MaxInt64 - 1, math.MinInt64 + 1, 1, -1, 0, 1 << 32, -1 << 32}
	for range 100000 {
		var s Sum
		exact := new(big.Int)
		for range 1 + r.IntN(4) {
			a := int64(r.Uint64())
			if r.IntN(2) == 0 {
				a = edge[r.IntN(len(edge))]
			}
			s.Add(a)
			exact.Add(exact, big.NewInt(a))
		}
		got, ok := s.Total()
		if !assert.Equal(t, exact.IsInt64(), ok, "%s", exact) {
			return
		}
		if ok && !assert.Equal(t, exact.Int64(), got) {
			return
		}
	}
}
