// Package gatetest is the conformance suite every gate.MerchantStore and
// gate.RecordStore pair runs. A store's test file hands Run a constructor
// of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		gatetest.Run(t, func(t *testing.T) gatetest.Stores {
//			return gatetest.Stores{Merchants: gate.NewMemoryMerchants(), Records: gate.NewMemoryRecords()}
//		})
//	}
//
// The suite is the contract: each rule documented on the interfaces is
// checked by a subtest named after it, so a new store is done when Run
// passes with the race detector on. Times are truncated to microseconds,
// the precision SQL stores keep, and compared by instant.
package gatetest

import (
	"crypto/sha256"
	"fmt"
	"testing"
	"time"

	"github.com/payrail/payments/gate"
)

// Stores is one pair of stores under test.
type Stores struct {
	Merchants gate.MerchantStore
	Records   gate.RecordStore
	// Peer, when not nil, opens another handle on the same data, as a
	// second process would (its own connections); the suite claims
	// postbacks through both at once. Without it the suite uses Records
	// from several goroutines only.
	Peer func(t *testing.T) gate.RecordStore
}

// Run runs the suite; every subtest gets fresh, empty stores from
// newStores, which registers with t.Cleanup whatever must be released.
func Run(t *testing.T, newStores func(t *testing.T) Stores) {
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Merchants", merchantTests()},
		{"Records", recordTests()},
		{"Postbacks", postbackTests()},
		{"Reports", reportTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(t, newStores(t))
				})
			}
		})
	}
}

type namedTest struct {
	name string
	run  func(t *testing.T, s Stores)
}

// epoch is the suite's clock: a fixed instant, to the microsecond.
var epoch = time.Date(2026, 3, 14, 9, 26, 53, 589793000, time.UTC)

func hashOf(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }

// hexOf is the first 16 bytes of the SHA-256 of s, in hex.
func hexOf(s string) string { h := hashOf(s); return fmt.Sprintf("%x", h[:16]) }

// sameInstant reports whether two times are the same instant to the
// microsecond, in any location.
func sameInstant(a, b time.Time) bool {
	return a.Truncate(time.Microsecond).Equal(b.Truncate(time.Microsecond))
}
