package postgres_test

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestClaimAcrossInstances has two Stores, each with its own pool as two
// processes would have, claim one outbox from several goroutines each. No
// task may be leased twice, and none may be left behind.
func TestClaimAcrossInstances(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	stores := []payments.Store{openStore(t, dsn, schema), openStore(t, dsn, schema)}
	for _, s := range stores {
		t.Cleanup(func() { _ = s.Close() })
	}
	const perBatch, batches = 3, 200
	for i := range batches {
		b := &payments.Batch{Gateway: "claimpay", Now: clock}
		for k := range perBatch {
			b.Entries = append(b.Entries, payments.Entry{
				Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%d_%d", i, k), Account: "acct",
				Amount: payments.Money{Amount: 100, Currency: "USD"},
			})
		}
		_, err := stores[i%2].Commit(t.Context(), b)
		require.NoError(t, err)
	}

	var (
		mu      sync.Mutex
		claimed = map[string]string{} // entry id → owner
		wg      sync.WaitGroup
	)
	for w := range 8 {
		s, owner := stores[w%2], fmt.Sprintf("instance-%d/worker-%d", w%2, w)
		wg.Go(func() {
			for {
				tasks, err := s.ClaimSync(t.Context(), payments.SyncClaim{Owner: owner, Now: clock.Add(time.Second), Lease: time.Hour, Limit: 7})
				if !assert.NoError(t, err) || len(tasks) == 0 {
					return
				}
				for _, task := range tasks {
					mu.Lock()
					if prev, taken := claimed[task.Entry.ID]; taken {
						t.Errorf("task %s leased to %s and to %s", task.Entry.ID, prev, owner)
					}
					claimed[task.Entry.ID] = owner
					mu.Unlock()
					assert.Equal(t, owner, task.LeaseOwner)
					assert.NoError(t, s.SettleSync(t.Context(), payments.SyncSettlement{
						EntryID: task.Entry.ID, Owner: owner, State: payments.SyncDone, Attempts: 1,
					}))
				}
			}
		})
	}
	wg.Wait()

	assert.Len(t, claimed, perBatch*batches, "every task claimed once")
	done, _, err := stores[0].SyncTasks(t.Context(), payments.SyncFilter{State: payments.SyncDone, Limit: 10_000})
	require.NoError(t, err)
	assert.Len(t, done, perBatch*batches, "every task settled")
}

// TestExpiredLeaseMovesOn checks across two instances that a lease that
// expired is claimed by another owner, and that the first owner can then no
// longer settle it.
func TestExpiredLeaseMovesOn(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	a, b := openStore(t, dsn, schema), openStore(t, dsn, schema)
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx := t.Context()
	_, err := a.Commit(ctx, &payments.Batch{Gateway: "claimpay", Now: clock, Entries: []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: "ch_1", Account: "acct", Amount: payments.Money{Amount: 100, Currency: "USD"},
	}}})
	require.NoError(t, err)

	first, err := a.ClaimSync(ctx, payments.SyncClaim{Owner: "a", Now: clock, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, first, 1)
	none, err := b.ClaimSync(ctx, payments.SyncClaim{Owner: "b", Now: clock.Add(59 * time.Second), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, none, "a live lease is not claimed again")
	second, err := b.ClaimSync(ctx, payments.SyncClaim{Owner: "b", Now: clock.Add(time.Minute), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, second, 1, "an expired lease is claimed")

	err = a.SettleSync(ctx, payments.SyncSettlement{EntryID: first[0].Entry.ID, Owner: "a", State: payments.SyncDone, Attempts: 1})
	assert.ErrorIs(t, err, payments.ErrConflict)
	err = b.SettleSync(ctx, payments.SyncSettlement{EntryID: first[0].Entry.ID, Owner: "b", State: payments.SyncDone, Attempts: 1})
	assert.NoError(t, err)
}
