package sqlite

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// walStatus reads the log's size and how much of it is copied into the
// database file, without checkpointing.
func walStatus(t *testing.T, s *Store) (frames, copied int) {
	t.Helper()
	var busy int
	require.NoError(t, s.reads.queryRow(context.Background(), "PRAGMA wal_checkpoint(NOOP)").Scan(&busy, &frames, &copied))
	return frames, copied
}

// TestWALStaysBounded writes several times walLimitFrames pages and checks
// that the checkpointer copies the log in the background, and that the log
// starts over instead of growing past its bound.
func TestWALStaysBounded(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "wal.db"), Options{})
	require.NoError(t, err)
	defer s.Close()

	var written, peak, rewinds int
	copiedInBackground := false
	last := 0
	for round := 0; written < 2*walLimitFrames; round++ {
		b := &payments.Batch{Gateway: "fake", Now: time.Now()}
		for i := range 50 {
			b.Entries = append(b.Entries, payments.Entry{
				Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%d_%d", round, i),
				Account: fmt.Sprintf("acct_%d", (round*50+i)*7919%5000), Amount: payments.Money{Amount: 1, Currency: "USD"},
			})
		}
		_, err := s.Commit(ctx, b)
		require.NoError(t, err)
		frames, copied := walStatus(t, s)
		if frames < last {
			rewinds++
			written += last
		}
		if copied > 0 && frames < walLimitFrames {
			copiedInBackground = true
		}
		last, peak = frames, max(peak, frames)
	}
	t.Logf("peak %d frames, %d rewinds", peak, rewinds)
	assert.True(t, copiedInBackground, "the checkpointer copied the log before the writer had to")
	assert.GreaterOrEqual(t, rewinds, 2, "the log started over")
	assert.LessOrEqual(t, peak, walLimitFrames+2000, "the log stays near its bound")
}
