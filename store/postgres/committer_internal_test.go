package postgres

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
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
