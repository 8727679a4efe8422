package sqlite

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func testCharge(ref, account string, amount int64) *payments.Batch {
	e := payments.Entry{Gateway: "fake", Kind: payments.KindCharge, GatewayRef: ref, Account: account,
		Amount: payments.Money{Amount: amount, Currency: "USD"}}
	e.ID = payments.EntryID(e.Gateway, e.Kind, e.GatewayRef)
	return &payments.Batch{Gateway: "fake", Now: time.Now(), Entries: []payments.Entry{e}}
}

// TestCommitWaitsForTheLogSync checks the durability promise: the write
// is committed (readers see it) before the log is flushed, and Commit does
// not return until the flush, of the log that holds it, has completed.
func TestCommitWaitsForTheLogSync(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "sync.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()

	syncing := make(chan int64, 1)
	release := make(chan struct{})
	s.writer.wal.sync = func(f *os.File) error {
		fi, err := f.Stat()
		assert.NoError(t, err)
		syncing <- fi.Size()
		<-release
		return syncData(f)
	}
	done := make(chan error, 1)
	go func() {
		_, err := s.Commit(ctx, testCharge("ch_1", "acct", 250))
		done <- err
	}()

	var walSize int64
	select {
	case walSize = <-syncing:
	case <-time.After(10 * time.Second):
		t.Fatal("the log was never synced")
	}
	assert.Equal(t, filepath.Join(filepath.Dir(path), "sync.db-wal"), s.writer.wal.f.Name())
	assert.Positive(t, walSize, "the synced file holds the commit's frames")
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(250), b.Money.Amount, "committed before the sync")
	select {
	case err := <-done:
		t.Fatalf("Commit returned (%v) before the log was on disk", err)
	case <-time.After(50 * time.Millisecond):
	}
	close(release)
	require.NoError(t, <-done)
}

// TestFailedLogSyncStopsWrites checks that a write whose log could not be
// flushed is reported as failed, and that the store then refuses writes
// rather than acknowledge anything it cannot promise is on disk, and stops
// checkpointing (see recover.go for why no later sync can undo a failed
// one).
func TestFailedLogSyncStopsWrites(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "broken.db"), Options{})
	require.NoError(t, err)
	defer s.Close()

	errDisk := errors.New("input/output error")
	calls := 0
	s.writer.wal.sync = func(*os.File) error {
		calls++
		return errDisk
	}
	_, err = s.Commit(ctx, testCharge("ch_1", "acct", 100))
	require.ErrorIs(t, err, errDisk)
	assert.Contains(t, err.Error(), "write-ahead log")

	_, err = s.Commit(ctx, testCharge("ch_2", "acct", 100))
	require.ErrorIs(t, err, errDisk, "later writes fail too")
	assert.Equal(t, 1, calls, "a broken store does not write again")
	assert.True(t, s.checkpointer.halted.Load(), "nor copy a log it could not sync")
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(100), b.Money.Amount, "the second write never ran")
}

// TestNoSuccessAfterAFailedLogSync checks the syncer itself: groups that
// were already committed when a flush failed are not acknowledged by a
// later flush that succeeds, because they rest on what the failed flush
// may have lost.
func TestNoSuccessAfterAFailedLogSync(t *testing.T) {
	errDisk := errors.New("input/output error")
	failures := []error{errDisk, nil}
	halts := 0
	w := &writer{toSync: make(chan *committedGroup, 2), syncerEnd: make(chan struct{}), logFailed: func() { halts++ }}
	w.wal = &walSyncer{path: filepath.Join(t.TempDir(), "log"), sync: func(*os.File) error {
		err := failures[0]
		failures = failures[1:]
		return err
	}}
	require.NoError(t, os.WriteFile(w.wal.path, nil, 0o600))
	defer w.wal.close()
	group := func(commits uint64) *writeJob {
		j := &writeJob{done: make(chan error, 1)}
		w.toSync <- &committedGroup{jobs: []*writeJob{j}, results: []error{nil}, commits: commits}
		return j
	}
	go w.syncLoop()
	first := group(1)
	assert.ErrorIs(t, <-first.done, errDisk)
	second := group(2)
	assert.ErrorIs(t, <-second.done, errDisk)
	close(w.toSync)
	<-w.syncerEnd
	assert.Equal(t, 1, halts, "the checkpointer is halted once")
}
