package sqlite_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestTaskWaitsForItsRate records an entry that waits for a rate: its sync
// task is stored due in the year 9999, which the microsecond column holds
// exactly and no claim reaches, and SettleEntry makes it due at once, with
// the entry's conversion.
func TestTaskWaitsForItsRate(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	e := charge("ch_wait", "acct", 1000)
	e.Amount.Currency = "EUR"
	e.Settlement = &payments.Conversion{Money: payments.Money{Currency: "USD"}}
	res, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: now, Entries: []payments.Entry{e}})
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)

	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Equal(t, time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC), tasks[0].NextAttempt)
	assert.True(t, tasks[0].Entry.Settlement.Pending())
	claimed, err := s.ClaimSync(ctx, payments.SyncClaim{Owner: "svc",
		Now: time.Date(9998, time.December, 31, 0, 0, 0, 0, time.UTC), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	assert.Empty(t, claimed, "no claim reaches a task that waits for a rate")

	c := payments.Conversion{Money: payments.Money{Amount: 1100, Currency: "USD"}, Rate: "1.1", Source: "ecb", At: now}
	require.NoError(t, s.SettleEntry(ctx, res.Entries[0].ID, c, now.Add(time.Hour)))
	claimed, err = s.ClaimSync(ctx, payments.SyncClaim{Owner: "svc", Now: now.Add(time.Hour), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, now.Add(time.Hour), claimed[0].NextAttempt)
	assert.Equal(t, &c, claimed[0].Entry.Settlement)
	b, err := s.Balance(ctx, "acct", "EUR")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 1100, Currency: "USD"}, b.Settled)
	assert.Equal(t, now.Add(time.Hour), b.UpdatedAt)
}
