package sqlite

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConnectionSettings checks the settings durability and isolation rest
// on, on the connections the store really uses: a DSN parameter the driver
// ignored would otherwise go unnoticed.
func TestConnectionSettings(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "p.db"), Options{BusyTimeout: 1500 * time.Millisecond})
	require.NoError(t, err)
	defer s.Close()

	pragma := func(q querier, name string) string {
		var v string
		require.NoError(t, q.queryRow(ctx, "PRAGMA "+name).Scan(&v), name)
		return v
	}
	var writes map[string]string
	require.NoError(t, s.writer.do(ctx, func(ctx context.Context, q querier) error {
		writes = map[string]string{}
		for _, name := range []string{"journal_mode", "synchronous", "foreign_keys", "busy_timeout", "query_only", "wal_autocheckpoint"} {
			writes[name] = pragma(q, name)
		}
		return nil
	}))
	assert.Equal(t, map[string]string{
		"journal_mode": "wal",
		"synchronous":  "1", // NORMAL: the writer syncs the WAL itself before acknowledging
		"foreign_keys": "1",
		"busy_timeout": "1500",
		"query_only":   "0",
		// Only the bound on the log: the checkpointer copies it first.
		"wal_autocheckpoint": strconv.Itoa(walLimitFrames),
	}, writes)

	var sync string
	require.NoError(t, s.checkpointer.conn.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&sync))
	assert.Equal(t, "2", sync, "the checkpointer syncs the file before the log is reused")

	assert.Equal(t, "wal", pragma(s.reads, "journal_mode"))
	assert.Equal(t, "1", pragma(s.reads, "query_only"), "readers cannot write")
}
