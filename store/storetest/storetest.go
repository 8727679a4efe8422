// Package storetest is the conformance suite every payments.Store runs. A
// store's test file hands Run a constructor of fresh, empty stores:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) payments.Store { return memory.New() })
//	}
//
// The suite is the contract: each rule documented on payments.Store and
// payments.Batch is checked by a subtest named after it, so a new store is
// done when Run passes with the race detector on.
//
// Times in the suite are truncated to microseconds, the precision SQL stores
// keep, and compared by instant, never by ==. Times a store returns may be in
// any location.
package storetest

import (
	"testing"

	"github.com/payrail/payments"
)

// Run runs the conformance suite against stores made by newStore; each
// subtest gets a fresh, empty store. The suite closes every store it is given
// (and checks Close succeeds); newStore registers with t.Cleanup whatever else
// must be released, such as a database file.
//
// Under -short the concurrency tests run a smaller load; run the full suite
// before calling a store done.
func Run(t *testing.T, newStore func(t *testing.T) payments.Store) {
	groups := []struct {
		name  string
		tests []namedTest
	}{
		{"Payments", paymentTests()},
		{"Status", statusTests()},
		{"Ledger", ledgerTests()},
		{"Atomicity", atomicityTests()},
		{"Balances", balanceTests()},
		{"Entries", entryQueryTests()},
		{"Journal", journalTests()},
		{"Attribution", attributionTests()},
		{"Pages", pageTests()},
		{"Review", reviewTests()},
		{"Settlement", settlementTests()},
		{"Postbacks", postbackTests()},
		{"Holds", holdTests()},
		{"Cursors", cursorTests()},
		{"Sync", syncTests()},
		{"Concurrency", concurrencyTests()},
	}
	for _, g := range groups {
		t.Run(g.name, func(t *testing.T) {
			for _, tc := range g.tests {
				t.Run(tc.name, func(t *testing.T) {
					tc.run(newFixture(t, newStore))
				})
			}
		})
	}
}

// namedTest is one subtest of the suite.
type namedTest struct {
	name string
	run  func(f *fixture)
}
