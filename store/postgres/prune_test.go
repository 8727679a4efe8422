package postgres_test

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestPruneAcrossInstances has two Stores, each with its own pool as two
// processes would have, prune one journal from several goroutines each:
// together they delete every row that may go, each once, and none of the
// parked rows that wait for the host.
func TestPruneAcrossInstances(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	stores := []payments.Store{openStore(t, dsn, schema), openStore(t, dsn, schema)}
	for _, s := range stores {
		t.Cleanup(func() { _ = s.Close() })
	}
	const rows = 300
	for i := range rows {
		outcome := payments.OutcomeRejected
		if i%10 == 0 {
			outcome = payments.OutcomeParked
		}
		require.NoError(t, stores[i%2].AppendNotification(t.Context(), &payments.Notification{
			ID: fmt.Sprintf("ntf_%d", i), Gateway: "prunepay", ReceivedAt: clock.Add(time.Duration(i) * time.Second), Outcome: outcome,
		}))
	}

	var pruned atomic.Int64
	var wg sync.WaitGroup
	for w := range 6 {
		s := stores[w%2]
		outcome := payments.OutcomeRejected
		if w%3 == 0 {
			outcome = payments.OutcomeParked
		}
		wg.Go(func() {
			for {
				n, err := s.PruneNotifications(t.Context(), payments.NotificationPrune{Outcome: outcome, Before: clock.Add(time.Hour), Limit: 7})
				if !assert.NoError(t, err) || n == 0 {
					return
				}
				pruned.Add(int64(n))
			}
		})
	}
	wg.Wait()

	assert.EqualValues(t, rows*9/10, pruned.Load(), "every rejected row, once")
	left, _, err := stores[0].Notifications(t.Context(), payments.NotificationFilter{})
	require.NoError(t, err)
	assert.Len(t, left, rows/10, "the parked rows wait for the host")
	for _, n := range left {
		assert.Equal(t, payments.OutcomeParked, n.Outcome)
	}
}
