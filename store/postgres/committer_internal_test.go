package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func newTestCommitter() *committer {
	return &committer{jobs: make(chan *commitJob), stop: make(chan struct{}), committed: make(chan struct{})}
}

// fillAsync runs fill for a group of size batches and reports, once fill
// has returned, how many batches the group holds.
func fillAsync(c *committer, size int) <-chan int {
	out := make(chan int, 1)
	go func() {
		c.fill(func() int { return size }, func(*commitJob) { size++ })
		out <- size
	}()
	return out
}

// TestFillWaitsForAnEvenGroup: beside a group of four being committed, a
// group of one takes batches until it holds four too.
func TestFillWaitsForAnEvenGroup(t *testing.T) {
	c := newTestCommitter()
	c.committing(4)
	filled := fillAsync(c, 1)
	for range 3 {
		c.jobs <- &commitJob{}
	}
	select {
	case size := <-filled:
		assert.Equal(t, 4, size)
	case <-time.After(10 * time.Second):
		t.Fatal("fill did not return once the group was as large as the one being committed")
	}
}

// TestFillWaitsForOneGroupAtMost: a group that stays small goes once a
// group being committed has been.
func TestFillWaitsForOneGroupAtMost(t *testing.T) {
	c := newTestCommitter()
	c.committing(30)
	c.committing(30)
	filled := fillAsync(c, 1)
	select {
	case <-filled:
		t.Fatal("fill returned while the group was small and nothing was committed")
	case <-time.After(50 * time.Millisecond):
	}
	c.committedGroup(30)
	select {
	case size := <-filled:
		assert.Equal(t, 1, size)
	case <-time.After(10 * time.Second):
		t.Fatal("fill did not return when a group had been committed")
	}
}

// TestFillDoesNotWaitAlone: with nothing being committed, a batch is
// committed at once, whatever the size of its group.
func TestFillDoesNotWaitAlone(t *testing.T) {
	c := newTestCommitter()
	select {
	case size := <-fillAsync(c, 1):
		assert.Equal(t, 1, size)
	case <-time.After(10 * time.Second):
		t.Fatal("fill waited with nothing being committed")
	}
	c.committing(1)
	c.committedGroup(1)
	require.Zero(t, c.groups)
	require.Zero(t, c.batches)
}

// TestBatchKeysOfEntries: entries are keyed by the id the planner gives
// them, whether the caller filled it in or not, so that two batches share
// a key exactly when they record the same entry.
func TestBatchKeysOfEntries(t *testing.T) {
	entry := func(ref string) payments.Entry {
		return payments.Entry{Kind: payments.KindCharge, GatewayRef: ref, Account: "acct", Amount: payments.Money{Amount: 1, Currency: "USD"}}
	}
	withID := entry("ch_1")
	withID.Gateway, withID.ID = "keypay", payments.EntryID("keypay", payments.KindCharge, "ch_1")
	keys := func(entries ...payments.Entry) []string {
		return batchKeys(&payments.Batch{Gateway: "keypay", Entries: entries})
	}
	assert.Equal(t, keys(withID), keys(entry("ch_1")))
	assert.NotEqual(t, keys(entry("ch_1")), keys(entry("ch_2")))
}
