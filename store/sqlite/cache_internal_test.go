package sqlite

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestWriterCacheGrowsPastTheLockBytePage checks that the writer starts
// with the small cache on a small file and takes the large one once the
// file reaches the page it grows at, which the test lowers from the
// lock-byte page's to the file's own size.
func TestWriterCacheGrowsPastTheLockBytePage(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "cache.db"), Options{})
	require.NoError(t, err)
	defer s.Close()

	var pageSize int64
	cacheSize := func() int64 {
		var size int64
		require.NoError(t, s.writer.do(ctx, func(ctx context.Context, q querier) error {
			if err := q.queryRow(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
				return err
			}
			return q.queryRow(ctx, "PRAGMA cache_size").Scan(&size)
		}))
		return size
	}
	assert.EqualValues(t, smallWriterCache, cacheSize())
	require.EqualValues(t, 4096, pageSize)
	assert.EqualValues(t, 262145, s.writer.cache.growAt, "the lock-byte page")

	require.NoError(t, s.writer.do(ctx, func(ctx context.Context, q querier) error {
		s.writer.cache.growAt = 2
		s.writer.cache.commits = cacheCheckCommits - 1 // this commit checks
		return nil
	}))
	assert.EqualValues(t, largeWriterCache, cacheSize())
	assert.True(t, s.writer.cache.large)
}
