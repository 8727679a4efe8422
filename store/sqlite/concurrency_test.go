package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/sqlite"
)

// loadPlan is a deterministic set of batches whose ledger outcome is known
// without a store: the expected entries by id and the expected balances.
type loadPlan struct {
	batches  []payments.Batch
	entries  map[string]payments.Entry // by id, as first delivered
	balances map[balanceKey]payments.Balance
}

type balanceKey struct {
	account  string
	currency payments.Currency
}

// newLoadPlan builds n batches of one to four entries: about 10% of the
// entries repeat an earlier entry's key (a gateway redelivering it), and
// refunds of earlier charges are interleaved with new charges.
func newLoadPlan(n int, seed uint64) *loadPlan {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	plan := &loadPlan{entries: map[string]payments.Entry{}, balances: map[balanceKey]payments.Balance{}}
	var delivered, charges []payments.Entry
	base := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	for i := range n {
		b := payments.Batch{Gateway: "fake", Now: base.Add(time.Duration(i) * time.Millisecond)}
		b.Notification = &payments.Notification{
			ID: fmt.Sprintf("ntf_load_%d", i), Gateway: "fake", ReceivedAt: b.Now, Body: []byte(fmt.Sprintf(`{"n":%d}`, i)),
		}
		for range 1 + rng.IntN(4) {
			var e payments.Entry
			switch r := rng.IntN(100); {
			case r < 10 && len(delivered) > 0:
				e = delivered[rng.IntN(len(delivered))]
			case r < 35 && len(charges) > 0:
				c := charges[rng.IntN(len(charges))]
				e = payments.Entry{
					Gateway: "fake", Kind: payments.KindRefund, GatewayRef: fmt.Sprintf("re_%d_%d", i, rng.IntN(1<<30)),
					GatewayPaymentID: c.GatewayPaymentID, Account: c.Account,
					Amount: payments.Money{Amount: -(1 + rng.Int64N(c.Amount.Amount)), Currency: c.Amount.Currency},
				}
			default:
				e = payments.Entry{
					Gateway: "fake", Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%d_%d", i, rng.IntN(1<<30)),
					GatewayPaymentID: fmt.Sprintf("pi_%d", i), Account: fmt.Sprintf("acct_%d", rng.IntN(25)),
					Amount: payments.Money{Amount: 1 + rng.Int64N(1_000_000), Currency: []payments.Currency{"USD", "EUR", "JPY"}[rng.IntN(3)]},
				}
				charges = append(charges, e)
			}
			e.ID = payments.EntryID(e.Gateway, e.Kind, e.GatewayRef)
			delivered = append(delivered, e)
			b.Entries = append(b.Entries, e)
			plan.expect(e)
		}
		plan.batches = append(plan.batches, b)
	}
	return plan
}

func (p *loadPlan) expect(e payments.Entry) {
	if _, seen := p.entries[e.ID]; seen {
		return
	}
	p.entries[e.ID] = e
	k := balanceKey{e.Account, e.Amount.Currency}
	b := p.balances[k]
	b.Account, b.Money.Currency = e.Account, e.Amount.Currency
	b.Money.Amount += e.Amount.Amount
	b.Entries++
	p.balances[k] = b
}

// TestConcurrentCommits delivers 2,000 batches from 32 goroutines at once
// and checks the ledger entry by entry and balance by balance against the
// plan. It exercises group commit: many batches share a transaction, and
// duplicates of a key can meet inside one.
func TestConcurrentCommits(t *testing.T) {
	const workers, batches = 32, 2000
	plan := newLoadPlan(batches, 42)
	s := openStore(t)

	start := time.Now()
	recorded, duplicates := deliverConcurrently(t, s, plan, workers)
	t.Logf("%d batches from %d goroutines in %v", batches, workers, time.Since(start))

	delivered := 0
	for _, b := range plan.batches {
		delivered += len(b.Entries)
	}
	require.Len(t, recorded, len(plan.entries), "each key recorded once")
	for id, times := range recorded {
		assert.Equal(t, 1, times, "entry %s reported new more than once", id)
	}
	assert.Equal(t, delivered-len(plan.entries), duplicates, "every repeat reported as a duplicate")
	assertLedger(t, s, plan)
}

// deliverConcurrently commits every batch of the plan once, spread over
// workers goroutines, and counts how often each entry was reported new and
// how many deliveries were reported duplicates.
func deliverConcurrently(t *testing.T, s *sqlite.Store, plan *loadPlan, workers int) (recorded map[string]int, duplicates int) {
	recorded = map[string]int{}
	work := make(chan int)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for i := range work {
				b := plan.batches[i]
				res, err := s.Commit(context.Background(), &b)
				if !assert.NoError(t, err, "batch %d", i) {
					continue
				}
				mu.Lock()
				for _, e := range res.Entries {
					recorded[e.ID]++
				}
				duplicates += len(res.Duplicates)
				mu.Unlock()
			}
		})
	}
	for i := range plan.batches {
		work <- i
	}
	close(work)
	wg.Wait()
	return recorded, duplicates
}

// assertLedger reads back entries, balances, sync tasks and the journal and
// compares them with the plan.
func assertLedger(t *testing.T, s *sqlite.Store, plan *loadPlan) {
	ctx := context.Background()
	stored, _, err := s.Entries(ctx, payments.EntryFilter{Limit: 1 << 20})
	require.NoError(t, err)
	require.Len(t, stored, len(plan.entries))
	for _, e := range stored {
		want, ok := plan.entries[e.ID]
		if assert.True(t, ok, "unexpected entry %s", e.ID) {
			assert.Equal(t, want.Amount, e.Amount, "entry %s", e.ID)
			assert.Equal(t, want.Account, e.Account, "entry %s", e.ID)
		}
	}
	for k, want := range plan.balances {
		got, err := s.Balance(ctx, k.account, k.currency)
		require.NoError(t, err)
		assert.Equal(t, want.Money, got.Money, "balance of %s in %s", k.account, k.currency)
		assert.Equal(t, want.Entries, got.Entries, "entries in balance of %s in %s", k.account, k.currency)
	}
	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending, Limit: 1 << 20})
	require.NoError(t, err)
	assert.Len(t, tasks, len(plan.entries), "one sync task per entry")
	journal, _, err := s.Notifications(ctx, payments.NotificationFilter{Limit: 1 << 20})
	require.NoError(t, err)
	assert.Len(t, journal, len(plan.batches), "one journal row per delivery")
}
