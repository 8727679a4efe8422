package sqlite

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// childTestVar names the test a child process of the test binary runs.
const childTestVar = "PAYMENTS_SQLITE_CHILD_TEST"

// inChild reports whether this process is the child the test runs in. In
// the parent it runs the test binary again with only this test, waits for
// it, fails when it fails, and reports false: the test's body is for the
// child. A test that changes what belongs to the whole process, such as a
// resource limit, runs so.
func inChild(t *testing.T) bool {
	t.Helper()
	if os.Getenv(childTestVar) == t.Name() {
		return true
	}
	cmd := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^"+t.Name()+"$", "-test.v")
	cmd.Env = append(os.Environ(), childTestVar+"="+t.Name())
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the child running %s failed: %v\n%s", t.Name(), err, out)
	}
	if testing.Verbose() {
		t.Logf("the child's output:\n%s", out)
	}
	return false
}

// setFileSizeLimit sets RLIMIT_FSIZE: a write that would take a file past
// limit bytes fails with EFBIG (SIGXFSZ, which the Go runtime ignores).
func setFileSizeLimit(t *testing.T, limit uint64) {
	t.Helper()
	var lim syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &lim))
	lim.Cur = min(limit, lim.Max)
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &lim))
}

// TestWritesRecoverFromAFileSizeLimit fills a log that the checkpointer
// has not copied yet, then lets no file grow (a full disk): every write
// fails, and none is acknowledged. Then it allows room for the database
// file but not for the log to go on past its end: the store must
// checkpoint the log and start it over by itself, without a restart, and
// every write succeeds again. Last the limit is lifted. What the store
// acknowledged is there, and what failed is not.
func TestWritesRecoverFromAFileSizeLimit(t *testing.T) {
	if !inChild(t) {
		return
	}
	var unlimited syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_FSIZE, &unlimited))
	defer func() { require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &unlimited)) }()

	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "limit.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer func() { require.NoError(t, s.Close()) }()

	var (
		mu            sync.Mutex
		acked, failed []string
		next          atomic.Int64
	)
	write := func() error {
		ref := fmt.Sprint("ch_", next.Add(1))
		_, err := s.Commit(ctx, testCharge(ref, "acct", 1))
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			failed = append(failed, ref)
		} else {
			acked = append(acked, ref)
		}
		return err
	}
	for range 60 {
		require.NoError(t, write())
	}
	frames, copied := walStatus(t, s)
	require.Less(t, frames, checkpointFrames, "the checkpointer has not started copying")
	require.Less(t, copied, frames)
	logEnd := int64(32 + frames*(4096+24)) // header, then frames of a page each
	dbFile, err := os.Stat(path)
	require.NoError(t, err)

	setFileSizeLimit(t, uint64(dbFile.Size()))
	for range 5 {
		err := write()
		require.Error(t, err, "no file may grow")
		assert.True(t, isIOError(err), "%v", err)
	}

	// Room for the database file, and for half the log. Writers run side
	// by side, so that a failing commit may be a whole group's.
	setFileSizeLimit(t, uint64(logEnd/2))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 15 {
				assert.NoError(t, write(), "a write after room came back")
			}
		})
	}
	wg.Wait()
	require.False(t, t.Failed())
	frames, _ = walStatus(t, s)
	assert.Less(t, int64(32+frames*(4096+24)), logEnd/2, "the log started over")

	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_FSIZE, &unlimited))
	for range 10 {
		require.NoError(t, write())
	}
	checkLedger(t, s, acked, failed)
	require.NoError(t, s.Close())

	s, err = Open(ctx, path, Options{})
	require.NoError(t, err)
	checkLedger(t, s, acked, failed)
}

// checkLedger checks that the charges of account "acct" are exactly those
// acknowledged, none of those that failed.
func checkLedger(t *testing.T, s *Store, acked, failed []string) {
	t.Helper()
	ctx := context.Background()
	entries, _, err := s.Entries(ctx, payments.EntryFilter{Account: "acct", Limit: 10_000})
	require.NoError(t, err)
	var refs []string
	for _, e := range entries {
		refs = append(refs, e.GatewayRef)
	}
	assert.ElementsMatch(t, acked, refs, "every acknowledged write, and only those")
	assert.NotEmpty(t, failed)
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(len(acked)), b.Money.Amount)
}
