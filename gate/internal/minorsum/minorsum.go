// Package minorsum sums amounts in minor units exactly, so that a report
// store can tell a total beyond int64 from one that only passed beyond it
// on the way: the order rows are summed in must not change the answer.
package minorsum

import "math"

// Sum is an exact sum of int64 amounts, kept as the sums of their high 32
// bits (signed) and their low 32 bits, which stay exact for fewer than 2³¹
// amounts. The zero value is an empty sum.
type Sum struct {
	High, Low int64
}

// Add adds one amount.
func (s *Sum) Add(amount int64) {
	s.High += amount >> 32
	s.Low += amount & math.MaxUint32
}

// Total is the sum, or false when it lies beyond int64.
func (s Sum) Total() (int64, bool) {
	return Join(s.High, s.Low)
}

// Join returns high·2³² + low, or false when that lies beyond int64. It is
// Sum's total from the two halves summed elsewhere (in SQL, say), where
// high is a sum of amounts' high 32 bits, signed, and low of their low 32
// bits, so low ≥ 0.
func Join(high, low int64) (int64, bool) {
	// low's carry moves into high first: a total near math.MinInt64 has
	// a high half below the bound that only the carry brings back.
	high += low >> 32
	low &= math.MaxUint32
	if high > math.MaxInt64>>32 || high < math.MinInt64>>32 {
		return 0, false
	}
	return high<<32 | low, true
}
