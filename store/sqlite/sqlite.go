// Package sqlite is the embedded default payments.Store: one SQLite file, a
// pure-Go driver (modernc.org/sqlite, no cgo), nothing to run beside the host.
//
// Durability: the file is in WAL mode, and a Commit returns nil only once
// its transaction is in the WAL and the WAL is fsynced, so it survives a
// crash or a power loss. All writes go through one connection (SQLite
// allows one writer at a time anyway); concurrent writes are grouped into
// one transaction, a failing write rolls back alone while the others
// commit, and the fsync that makes a group durable overlaps the next
// group's work. Reads may see a transaction up to one fsync before its
// writer is told it is durable, as with any group commit. A background connection copies the
// WAL back into the file, so the writer never stops for it. Reads use a
// separate pool of read-only connections and never wait for the writer.
//
// Disk failures: a write that fails on the disk (full, a file-size limit,
// an I/O error) fails with nothing of it written, and the store goes on
// taking writes, copying the WAL back first so that it can start over;
// once the disk has room, writes succeed again without a restart. A failed
// fsync of the WAL is different: what was written since the last good sync
// may be lost whatever a later fsync reports, so the store then refuses
// every write until it is reopened.
//
// Several processes may open the same file: SQLite's own locking serializes
// their writes (waiting up to Options.BusyTimeout), and the leases of
// ClaimSync, ClaimDeliveries and ClaimHolds are taken inside write
// transactions, so no task, postback delivery or hold is leased twice. The
// file must be on a local disk: SQLite's locking does not work over network
// filesystems.
//
// Besides a payments.Store, a Store is a payments.PostbackStore, which
// queues a batch's postbacks in the transaction that records the batch, and
// a payments.HoldStore.
//
// The schema is created by numbered migrations applied on Open; a host that
// runs migrations with its own tool gets them from Migrations and sets
// Options.SkipMigrations.
package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrail/payments"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver
)

// DefaultTablePrefix is prepended to every table name when Options leaves
// TablePrefix empty, so the store's tables sit apart from the host's own
// tables in a shared file.
const DefaultTablePrefix = "payments_"

const (
	defaultBusyTimeout = 5 * time.Second
	defaultMaxReaders  = 4
)

// Options configure Open. The zero value is a sensible default.
type Options struct {
	// TablePrefix is prepended to every table and index name; empty means
	// DefaultTablePrefix. It must be letters, digits and underscores, and
	// must not change once the file holds data.
	TablePrefix string
	// SkipMigrations leaves the schema alone on Open, for hosts that apply
	// Migrations with their own tool. Open then only checks that the
	// tables exist under TablePrefix; keeping them current is the host's
	// job.
	SkipMigrations bool
	// BusyTimeout is how long a write waits for another process holding
	// the file's write lock before failing; 0 means 5 seconds.
	BusyTimeout time.Duration
	// MaxReaders caps the read-only connections; 0 means 4.
	MaxReaders int
}

// Store is a payments.Store in one SQLite file. It is safe for concurrent
// use; Close it to release the file. Times it returns are in UTC, to the
// microsecond, whatever location and precision they were given in.
type Store struct {
	reader       *sql.DB       // read-only pool
	reads        *stmtCache    // statements prepared on the read pool
	writer       *writer       // the one write connection, with group commit
	checkpointer *checkpointer // copies the WAL into the file in the background
	once         sync.Once
}

var (
	_ payments.Store  = (*Store)(nil)
	_ payments.Pinger = (*Store)(nil)
)

// errClosed is returned by every call on a closed Store.
var errClosed = errors.New("sqlite: store is closed")

// Open opens, creating it if needed, the SQLite database at path and applies
// pending migrations unless opts.SkipMigrations is set. path is a file
// name; ":memory:" is refused because the store's separate reader and writer
// connections would each see a different empty database (use store/memory
// for an in-memory store). ctx bounds the migrations only.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.Contains(path, "?") || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("sqlite: open %q: want a plain file path: %w", path, payments.ErrInvalidInput)
	}
	prefix := opts.TablePrefix
	if prefix == "" {
		prefix = DefaultTablePrefix
	}
	if !validPrefix(prefix) {
		return nil, fmt.Errorf("sqlite: table prefix %q: want letters, digits and underscores: %w", prefix, payments.ErrInvalidInput)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = defaultBusyTimeout
	}
	readers := opts.MaxReaders
	if readers <= 0 {
		readers = defaultMaxReaders
	}
	wdb, err := openWriteDB(ctx, path, busy)
	if err != nil {
		return nil, err
	}
	migrateOrCheck := migrate
	if opts.SkipMigrations {
		migrateOrCheck = checkSchema
	}
	if err := migrateOrCheck(ctx, wdb, prefix); err != nil {
		wdb.Close()
		return nil, err
	}
	rdb, err := sql.Open("sqlite", path+"?"+readerParams(busy))
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	rdb.SetMaxOpenConns(readers)
	rdb.SetMaxIdleConns(readers)
	ckpt, err := startCheckpointer(ctx, path, busy)
	if err != nil {
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	w, err := startWriter(ctx, wdb, prefix, path+"-wal", ckpt.committed, ckpt.halt)
	if err != nil {
		_ = ckpt.close()
		wdb.Close()
		rdb.Close()
		return nil, err
	}
	return &Store{reader: rdb, reads: newStmtCache(prefix, rdb.PrepareContext), writer: w, checkpointer: ckpt}, nil
}

// openWriteDB opens the single write connection and checks that WAL mode
// took: on a filesystem without shared memory SQLite silently keeps its
// rollback journal, and the store's concurrency assumptions would not hold.
func openWriteDB(ctx context.Context, path string, busy time.Duration) (*sql.DB, error) {
	db, err := sql.Open("sqlite", path+"?"+writerParams(busy))
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	// One connection: SQLite admits one writer at a time, and a second
	// connection of ours would only wait on the first one's lock.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxIdleTime(0)
	db.SetConnMaxLifetime(0)
	var mode string
	if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		db.Close()
		return nil, fmt.Errorf("sqlite: open %s: journal mode is %q, not wal", path, mode)
	}
	return db, nil
}

// writerParams are the write connection's settings:
//   - journal_mode=WAL lets readers proceed while a write is in progress;
//   - synchronous=NORMAL: COMMIT appends to the WAL without syncing it,
//     and the writer's syncer fsyncs the WAL before any caller hears that
//     its write succeeded (see writer), so an acknowledged commit
//     survives power loss while the next group runs during the fsync.
//     Checkpoints still sync the WAL before copying it and the database
//     file after, and the WAL header when the log starts over;
//   - busy_timeout waits for another process's write lock instead of
//     failing at once;
//   - foreign_keys enforces the postback tables' references;
//   - temp_store=MEMORY keeps the savepoint journal of each batch in a
//     group commit in memory; on disk it cost a write per page touched;
//   - cache_size is set by the writer, by the file's size (cache.go);
//   - wal_autocheckpoint only bounds the log: the checkpointer copies it
//     in the background long before (see checkpoint.go);
//   - _txlock=immediate takes the write lock at BEGIN, so a transaction
//     never fails half-way with SQLITE_BUSY when it first writes.
func writerParams(busy time.Duration) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout("+busyMillis(busy)+")")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(NORMAL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Add("_pragma", "temp_store(MEMORY)")
	v.Add("_pragma", "mmap_size(17179869184)")
	v.Add("_pragma", "wal_autocheckpoint("+strconv.Itoa(walLimitFrames)+")")
	v.Set("_txlock", "immediate")
	return v.Encode()
}

// readerParams make the read pool's connections read-only, so that no
// code path can write outside the writer's serialized transactions.
func readerParams(busy time.Duration) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout("+busyMillis(busy)+")")
	v.Set("_query_only", "1")
	return v.Encode()
}

// busyMillis rounds up, so that a timeout under a millisecond still waits.
func busyMillis(d time.Duration) string {
	return strconv.FormatInt((d + time.Millisecond - 1).Milliseconds(), 10)
}

func validPrefix(p string) bool {
	for i, r := range p {
		switch {
		case r == '_', r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// Ping implements payments.Pinger: it reads the file's schema page, so it
// fails when the file is unreadable, not only when the Store is closed.
func (s *Store) Ping(ctx context.Context) error {
	q, err := s.read()
	if err != nil {
		return err
	}
	var n int
	if err := q.queryRow(ctx, "SELECT COUNT(*) FROM sqlite_schema").Scan(&n); err != nil {
		return fmt.Errorf("sqlite: ping: %w", err)
	}
	return nil
}

// Close waits for writes in progress, then closes every connection. Calls
// on a closed Store fail; Close itself may be called more than once.
func (s *Store) Close() error {
	var err error
	s.once.Do(func() {
		werr := s.writer.close()
		cerr := s.checkpointer.close()
		s.reads.close()
		err = errors.Join(werr, cerr, s.reader.Close())
	})
	return err
}

// read returns the read pool, or errClosed once the Store is closed.
func (s *Store) read() (querier, error) {
	if s.writer.stopped() {
		return nil, errClosed
	}
	return s.reads, nil
}
