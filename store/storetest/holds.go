package storetest

import (
	"fmt"
	"sync"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// holdTests check a payments.HoldStore; a Store that does not implement it
// declares it finds no holds, and the group checks nothing.
func holdTests() []namedTest {
	return []namedTest{
		{"ClaimsHoldsDueBeforeTheirDeadline", testClaimHolds},
		{"SettledHoldIsNotClaimedAgain", testSettleHold},
		{"ConcurrentWatchers", testConcurrentHoldWatchers},
	}
}

func (f *fixture) holdStore() payments.HoldStore {
	f.t.Helper()
	hs, ok := f.s.(payments.HoldStore)
	if !ok {
		f.t.Skip("the Store finds no holds (it is no payments.HoldStore)")
	}
	return hs
}

// hold stores an authorized payment whose capture deadline is at deadline.
func (f *fixture) hold(id string, deadline time.Time, status payments.Status) {
	f.t.Helper()
	p := newPayment(id, "pi_"+id, "acct_1")
	p.Status, p.CaptureBefore = status, deadline
	f.createPayment(p)
}

func claimHolds(f *fixture, hs payments.HoldStore, owner string, now time.Time, margin time.Duration) []string {
	f.t.Helper()
	list, err := hs.ClaimHolds(f.ctx, payments.HoldClaim{Owner: owner, Now: now, Before: now.Add(margin), Lease: lease, Limit: 10})
	require.NoError(f.t, err)
	ids := []string{}
	for _, p := range list {
		ids = append(ids, p.ID)
	}
	return ids
}

func testClaimHolds(f *fixture) {
	hs := f.holdStore()
	f.hold("pay_soon", at(30*time.Minute), payments.StatusAuthorized)
	f.hold("pay_sooner", at(20*time.Minute), payments.StatusAuthorized)
	f.hold("pay_later", at(5*time.Hour), payments.StatusAuthorized)
	f.hold("pay_past", at(-time.Minute), payments.StatusAuthorized)
	f.hold("pay_captured", at(10*time.Minute), payments.StatusSucceeded)
	none := newPayment("pay_nodeadline", "pi_nodeadline", "acct_1")
	none.Status, none.CaptureBefore = payments.StatusAuthorized, time.Time{}
	f.createPayment(none)

	assert.Equal(f.t, []string{"pay_sooner", "pay_soon"}, claimHolds(f, hs, "w1", at(0), time.Hour),
		"authorized, due within the margin, not yet past; earliest first")
	assert.Empty(f.t, claimHolds(f, hs, "w2", at(time.Second), time.Hour), "leased")
	assert.Equal(f.t, []string{"pay_sooner", "pay_soon"}, claimHolds(f, hs, "w2", at(2*lease), time.Hour),
		"an expired lease is claimed again")
}

func testSettleHold(f *fixture) {
	hs := f.holdStore()
	f.hold("pay_1", at(30*time.Minute), payments.StatusAuthorized)
	require.Equal(f.t, []string{"pay_1"}, claimHolds(f, hs, "w1", at(0), time.Hour))
	assert.ErrorIs(f.t, hs.SettleHold(f.ctx, "pay_1", "w2", at(time.Second)), payments.ErrConflict, "not w2's lease")
	require.NoError(f.t, hs.SettleHold(f.ctx, "pay_1", "w1", at(time.Second)))
	assert.Empty(f.t, claimHolds(f, hs, "w3", at(2*lease), time.Hour), "handled once")
}

func testConcurrentHoldWatchers(f *fixture) {
	hs := f.holdStore()
	for i := range 30 {
		f.hold(fmt.Sprintf("pay_%02d", i), at(time.Duration(i+1)*time.Minute), payments.StatusAuthorized)
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			list, err := hs.ClaimHolds(f.ctx, payments.HoldClaim{Owner: fmt.Sprint("w", w), Now: at(0), Before: at(time.Hour), Lease: lease, Limit: 30})
			if err != nil {
				return
			}
			mu.Lock()
			for _, p := range list {
				seen[p.ID]++
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	assert.Len(f.t, seen, 30)
	for id, n := range seen {
		assert.Equal(f.t, 1, n, "%s claimed %d times", id, n)
	}
}
