package sqlite

import (
	"context"
	"fmt"
)

// The writer's page cache is sized by the database file's size, because of
// how SQLite keeps its page cache in step with the file.
//
// When a b-tree page splits, SQLite renumbers the resulting siblings so
// that their page numbers ascend, and to swap two numbers it parks a page
// for a moment under the number of the lock-byte page: the page holding
// byte 2³⁰ of the file, which never holds data (page 262145 at 4 KiB).
// While the file is smaller than that, the cache has then held a page
// beyond the file's end, and the COMMIT that follows trims the cache to the
// file's size by visiting every page the cache holds. On the writer's
// small, hot files that is nearly every commit, and the trim costs in
// proportion to the cache: with 32 MiB it took 7–8% of the server's CPU
// at peak, all of it on the one writer every write waits for. Once the
// file reaches the lock-byte page, the parked page lies inside it and no
// commit trims anything.
//
// So the writer starts with a small cache, which on a file under 1 GiB
// costs some reads from the operating system's cache instead, and takes
// the large one once the file has grown past the lock-byte page, where its
// hot pages (index interiors, the tails the ledger appends to) are spread
// over far more of the file. The reader pool keeps SQLite's default.
const (
	// smallWriterCache and largeWriterCache are cache_size values, in
	// KiB when negative.
	smallWriterCache = -4096  // 4 MiB
	largeWriterCache = -32768 // 32 MiB
	// cacheCheckCommits is how often, in commits, the writer looks at the
	// file's size while its cache is small: every few seconds at peak.
	cacheCheckCommits = 1024
)

// writerCache is the writer's cache sizing; only the writer's goroutine
// uses it.
type writerCache struct {
	large bool
	// growAt is the page count from which the cache is large: the
	// lock-byte page's number, set by check from the file's page size.
	growAt int64
	// commits counts commits since the last check.
	commits int
}

// check sets the writer's cache size for the file's size now. It runs on
// the write connection between transactions.
func (c *writerCache) check(ctx context.Context, q querier) error {
	c.commits = 0
	if c.large {
		return nil
	}
	if c.growAt == 0 {
		var pageSize int64
		if err := q.queryRow(ctx, "PRAGMA page_size").Scan(&pageSize); err != nil {
			return fmt.Errorf("sqlite: page size: %w", err)
		}
		c.growAt = 1<<30/pageSize + 1
	}
	var pages int64
	if err := q.queryRow(ctx, "PRAGMA page_count").Scan(&pages); err != nil {
		return fmt.Errorf("sqlite: page count: %w", err)
	}
	large := pages >= c.growAt
	size := smallWriterCache
	if large {
		size = largeWriterCache
	}
	if _, err := q.exec(ctx, fmt.Sprintf("PRAGMA cache_size = %d", size)); err != nil {
		return fmt.Errorf("sqlite: cache size: %w", err)
	}
	c.large = large
	return nil
}

// committed counts a commit and checks the file's size every
// cacheCheckCommits of them. A failed check leaves the cache as it was:
// its size changes how fast the writer is, never what it writes.
func (c *writerCache) committed(ctx context.Context, q querier) {
	if c.large {
		return
	}
	if c.commits++; c.commits >= cacheCheckCommits {
		_ = c.check(ctx, q)
	}
}
