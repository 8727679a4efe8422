package storetest

import (
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func concurrencyTests() []namedTest {
	return []namedTest{
		{"DuplicateStorm", testDuplicateStorm},
		{"ConcurrentClaimers", testConcurrentClaimers},
	}
}

// The storm spreads its keys over a few accounts, each with one payment:
// half of the storm's entries carry no account and must be attributed
// through the payment's gateway id.
const stormAccounts = 4

func stormAccount(i int) string { return fmt.Sprintf("acct_storm_%d", i%stormAccounts) }

func stormGatewayID(account string) string { return "pi_" + account }

// stormEntries builds n distinct ledger keys across the storm accounts and
// three currencies; every fifth is a refund. It also returns the account
// each entry belongs to, since half of them do not say.
func stormEntries(n int) (entries []payments.Entry, owners []string) {
	currencies := []payments.Currency{"USD", "JPY", "BTC"}
	for i := range n {
		account := stormAccount(i)
		kind, amount := payments.KindCharge, int64(1_000+37*i)
		if i%5 == 4 {
			kind, amount = payments.KindRefund, -int64(100+i)
		}
		e := movement(kind, fmt.Sprintf("storm_%04d", i), account, amount, currencies[i%len(currencies)])
		if (i/stormAccounts)%2 == 1 {
			e.Account, e.GatewayPaymentID = "", stormGatewayID(account)
		}
		entries = append(entries, e)
		owners = append(owners, account)
	}
	return entries, owners
}

// testDuplicateStorm delivers the same keys from many goroutines at once,
// as a gateway retrying webhooks to several instances does: each key must be
// recorded exactly once, by one of the deliveries, and counted once.
func testDuplicateStorm(f *fixture) {
	workers, keys := 64, 1_000
	if testing.Short() {
		// 64,000 commits take minutes on a disk-backed store under the race
		// detector (SQLite: about two and a half); -short keeps the race but
		// not the volume. The full size is the default.
		workers, keys = 8, 200
	}
	for i := range stormAccounts {
		account := stormAccount(i)
		// Without an amount, so that its entries in three currencies
		// match it.
		p := newPayment("pay_"+account, stormGatewayID(account), account)
		p.Amount = payments.Money{}
		f.createPayment(p)
	}
	entries, owners := stormEntries(keys)

	var recorded, duplicates atomic.Int64
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 0x5707))
			for _, i := range rng.Perm(keys) {
				res, err := f.s.Commit(f.ctx, batchAt(at(time.Second), entries[i]))
				if err != nil {
					errs[w] = fmt.Errorf("worker %d, entry %s: %w", w, entries[i].GatewayRef, err)
					return
				}
				recorded.Add(int64(len(res.Entries)))
				duplicates.Add(int64(len(res.Duplicates)))
			}
		})
	}
	wg.Wait()
	require.NoError(f.t, errors.Join(errs...))

	assert.EqualValues(f.t, keys, recorded.Load(), "deliveries that recorded an entry")
	assert.EqualValues(f.t, keys*(workers-1), duplicates.Load(), "deliveries reported as duplicates")
	assertStormLedger(f, entries, owners)
}

// assertStormLedger checks the ledger holds each storm entry once, with
// balances summed independently of the store.
func assertStormLedger(f *fixture, entries []payments.Entry, owners []string) {
	f.t.Helper()
	type key struct {
		account  string
		currency payments.Currency
	}
	wantBalances := map[key]payments.Balance{}
	var wantIDs []string
	for i, e := range entries {
		k := key{owners[i], e.Amount.Currency}
		b := wantBalances[k]
		b.Money.Amount += e.Amount.Amount
		b.Entries++
		wantBalances[k] = b
		wantIDs = append(wantIDs, payments.EntryID(gateway, e.Kind, e.GatewayRef))
	}

	stored := f.entries(payments.EntryFilter{})
	assert.Equal(f.t, sortedIDs(wantIDs), sortedIDs(entryIDs(stored)), "each key recorded once")
	for k, want := range wantBalances {
		assertBalance(f, k.account, payments.Money{Amount: want.Money.Amount, Currency: k.currency}, want.Entries)
	}
	assert.Equal(f.t, sortedIDs(wantIDs), sortedIDs(taskIDs(f.tasks(""))), "one sync task per entry")
}

// testConcurrentClaimers runs several sync loops against one outbox: every
// task must be handed out exactly once while the leases last.
func testConcurrentClaimers(f *fixture) {
	const claimers, total = 8, 500
	want := f.queue(at(0), "claim", total)

	claimed := make([][]string, claimers)
	errs := make([]error, claimers)
	var wg sync.WaitGroup
	for c := range claimers {
		wg.Go(func() {
			claimed[c], errs[c] = claimUntilEmpty(f, fmt.Sprintf("svc_%d", c), total)
		})
	}
	wg.Wait()
	require.NoError(f.t, errors.Join(errs...))

	owners := map[string][]string{}
	for c, ids := range claimed {
		for _, id := range ids {
			owners[id] = append(owners[id], fmt.Sprintf("svc_%d", c))
		}
	}
	for id, by := range owners {
		assert.Len(f.t, by, 1, "task %s handed to %v", id, by)
	}
	assert.Equal(f.t, sortedIDs(want), slices.Sorted(maps.Keys(owners)), "every task claimed, none skipped")
	assert.ElementsMatch(f.t, want, taskIDs(f.tasks(payments.SyncDone)), "every claimer settled its own tasks")
}

// claimUntilEmpty is one sync loop: it claims small batches and settles
// each task done until nothing is due. maxRounds stops a store that hands
// out the same tasks forever.
func claimUntilEmpty(f *fixture, owner string, maxRounds int) ([]string, error) {
	var ids []string
	for range maxRounds {
		tasks, err := f.s.ClaimSync(f.ctx, payments.SyncClaim{Owner: owner, Now: at(time.Minute), Lease: time.Hour, Limit: 7})
		if err != nil {
			return ids, fmt.Errorf("%s: claim: %w", owner, err)
		}
		if len(tasks) == 0 {
			return ids, nil
		}
		for _, t := range tasks {
			ids = append(ids, t.Entry.ID)
			s := payments.SyncSettlement{EntryID: t.Entry.ID, Owner: owner, State: payments.SyncDone, Attempts: t.Attempts + 1}
			if err := f.s.SettleSync(f.ctx, s); err != nil {
				return ids, fmt.Errorf("%s: settle %s: %w", owner, t.Entry.ID, err)
			}
		}
	}
	return ids, fmt.Errorf("%s: still claiming after %d rounds", owner, maxRounds)
}
