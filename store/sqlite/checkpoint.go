package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"sync/atomic"
	"time"
)

// WAL checkpoints copy committed pages from the write-ahead log back into
// the database file, so that the log can start over instead of growing.
// SQLite runs them on the connection that commits, once the log holds
// wal_autocheckpoint frames: the writer would stop taking writes while it
// copies thousands of pages and syncs the database file twice. Instead a
// checkpointer on a connection of its own copies them in the background,
// while the writer goes on committing, and the writer's own automatic
// checkpoint is kept only as the bound on the log's size.
const (
	// checkpointFrames is how many frames the log holds beyond what was
	// copied before the checkpointer copies them: SQLite's own default
	// wal_autocheckpoint, which keeps each pass a few megabytes.
	checkpointFrames = 1000
	// walLimitFrames is the writer's wal_autocheckpoint. A background
	// checkpoint cannot let the log start over while the writer keeps
	// appending to it, so under sustained load the log grows until it
	// holds this many frames; the writer then copies the few frames the
	// checkpointer has not, and its next transaction rewinds the log. The
	// log thus stays under about walLimitFrames pages (4 KiB each), unless
	// a reader holds an old snapshot for that long, as with SQLite's own
	// checkpoints.
	walLimitFrames = 10000
)

// checkpointer runs PASSIVE checkpoints from its own connection when the
// writer has committed enough. A PASSIVE checkpoint takes no lock that the
// writer or the readers wait for: it copies what no reader still needs, and
// leaves the rest to the next pass.
type checkpointer struct {
	// halted is set once the log could not be synced: its frames are
	// not to be copied any more (see recover.go).
	halted atomic.Bool
	db     *sql.DB
	conn   *sql.Conn
	status *sql.Stmt // the log's size, without checkpointing
	run    *sql.Stmt // a PASSIVE checkpoint
	wake   chan struct{}
	stop   chan struct{}
	exited chan struct{}
}

// startCheckpointer opens the checkpointer's connection to path and starts
// it; the writer wakes it up after each commit.
func startCheckpointer(ctx context.Context, path string, busy time.Duration) (*checkpointer, error) {
	db, err := sql.Open("sqlite", path+"?"+checkpointerParams(busy))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	c := &checkpointer{db: db, wake: make(chan struct{}, 1), stop: make(chan struct{}), exited: make(chan struct{})}
	if err := c.prepare(ctx); err != nil {
		c.closeConn()
		return nil, err
	}
	go c.loop()
	return c, nil
}

func (c *checkpointer) prepare(ctx context.Context) error {
	var err error
	if c.conn, err = c.db.Conn(ctx); err != nil {
		return fmt.Errorf("sqlite: checkpoint connection: %w", err)
	}
	// NOOP reports the log's size and how much of it is copied, and does
	// nothing else.
	if c.status, err = c.conn.PrepareContext(ctx, "PRAGMA wal_checkpoint(NOOP)"); err != nil {
		return fmt.Errorf("sqlite: prepare checkpoint: %w", err)
	}
	if c.run, err = c.conn.PrepareContext(ctx, "PRAGMA wal_checkpoint(PASSIVE)"); err != nil {
		return fmt.Errorf("sqlite: prepare checkpoint: %w", err)
	}
	return nil
}

// checkpointerParams are the checkpointer connection's settings:
// synchronous=FULL syncs the database file after each checkpoint, before
// the log may be rewound over what was copied; a lower setting could lose
// acknowledged commits on power loss.
func checkpointerParams(busy time.Duration) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout("+busyMillis(busy)+")")
	v.Add("_pragma", "synchronous(FULL)")
	return v.Encode()
}

// committed tells the checkpointer that the log has grown. It never blocks
// the writer: a wake-up already pending covers this one.
func (c *checkpointer) committed() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// halt stops the checkpointer for good, without waiting for a pass in
// progress: the writer calls it when the log could not be synced.
func (c *checkpointer) halt() { c.halted.Store(true) }

func (c *checkpointer) loop() {
	defer close(c.exited)
	for {
		select {
		case <-c.wake:
		case <-c.stop:
			return
		}
		if c.halted.Load() {
			continue
		}
		// A failed checkpoint loses nothing: the frames stay in the log,
		// the next pass tries again, and the writer's own checkpoint
		// still bounds the log. Only commits wake the checkpointer, so
		// while writes fail it waits: the writer then checkpoints the
		// log itself (recoverGroup).
		_ = c.checkpoint(context.Background())
	}
}

// checkpoint copies the log into the database file when it holds at least
// checkpointFrames frames that are not copied yet.
func (c *checkpointer) checkpoint(ctx context.Context) error {
	var busy, frames, copied int
	if err := c.status.QueryRowContext(ctx).Scan(&busy, &frames, &copied); err != nil {
		return err
	}
	if frames-copied < checkpointFrames {
		return nil
	}
	return c.run.QueryRowContext(ctx).Scan(&busy, &frames, &copied)
}

// close stops the checkpointer, waiting for a pass in progress.
func (c *checkpointer) close() error {
	close(c.stop)
	<-c.exited
	return c.closeConn()
}

func (c *checkpointer) closeConn() error {
	for _, st := range []*sql.Stmt{c.status, c.run} {
		if st != nil {
			_ = st.Close()
		}
	}
	if c.conn != nil {
		_ = c.conn.Close()
	}
	return c.db.Close()
}
