// Package gatesqlite keeps a gate's merchants, records and postbacks in
// SQLite: a gate.MerchantStore, gate.RecordStore and gate.ReportStore in
// one Store, on tables named gate_*, with migrations of its own.
//
// The payments store (store/sqlite) does not hand out its connections, so
// a host that keeps everything in one file opens this Store on the same
// path (Open): SQLite's locking serializes the writers of both, and their
// tables are apart by prefix. Every transaction takes the file's write lock
// when it begins (BEGIN IMMEDIATE), so that a postback claim made by one
// process is never made by another: SQLite has a single writer, and a
// claim reads and leases under it. The file must be on a local disk.
package gatesqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/internal/sqlmigrate"
)

// Store is a gate.MerchantStore (and gate.MerchantAdminStore),
// gate.RecordStore and gate.ReportStore in SQLite. It is safe for
// concurrent use, and by several processes on one file.
type Store struct {
	db     *sql.DB
	ownsDB bool
}

var (
	_ gate.MerchantStore      = (*Store)(nil)
	_ gate.RecordStore        = (*Store)(nil)
	_ gate.ReportStore        = (*Store)(nil)
	_ gate.MerchantAdminStore = (*Store)(nil)
)

// Options configure Open.
type Options struct {
	// BusyTimeout is how long a write waits for another connection or
	// process holding the file's write lock; default 5 seconds.
	BusyTimeout time.Duration
}

// Open opens, creating it if needed, the SQLite file at path with a pool
// of its own (Close closes it) and applies pending migrations. path may be
// the payments store's file. ctx bounds the migrations.
func Open(ctx context.Context, path string, opts Options) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?") || strings.Contains(path, ":memory:") || strings.HasPrefix(path, "file:") {
		return nil, fmt.Errorf("gatesqlite: open %q: want a plain file path: %w", path, payments.ErrInvalidInput)
	}
	busy := opts.BusyTimeout
	if busy <= 0 {
		busy = 5 * time.Second
	}
	db, err := sql.Open("sqlite", path+"?"+DSNParams(busy))
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: open %s: %w", path, err)
	}
	s, err := New(ctx, db)
	if err != nil {
		db.Close()
		return nil, err
	}
	s.ownsDB = true
	return s, nil
}

// DSNParams are the connection settings the Store needs, for a host that
// opens the *sql.DB itself (New): WAL, so that readers do not wait for the
// writer; synchronous FULL, so that a queued postback survives a power
// loss; a busy timeout, so that a writer waits for another process; and
// _txlock=immediate, so that every transaction takes the write lock when
// it begins and a claim never reads what another process is leasing.
func DSNParams(busy time.Duration) string {
	v := url.Values{}
	v.Add("_pragma", "busy_timeout("+strconv.FormatInt(busy.Milliseconds(), 10)+")")
	v.Add("_pragma", "journal_mode(WAL)")
	v.Add("_pragma", "synchronous(FULL)")
	v.Add("_pragma", "foreign_keys(1)")
	v.Set("_txlock", "immediate")
	return v.Encode()
}

// New returns a Store on db, which the host owns (Close leaves it open),
// and applies pending migrations. db must be the "sqlite" driver
// (modernc.org/sqlite) opened with DSNParams.
func New(ctx context.Context, db *sql.DB) (*Store, error) {
	s := &Store{db: db}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the pool Open opened; on a Store from New it does nothing.
func (s *Store) Close() error {
	if !s.ownsDB {
		return nil
	}
	return s.db.Close()
}

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migrationGlob names the migrations in migrationFiles: the embed pattern.
const migrationGlob = "migrations/*.sql"

// Migration is one step of the schema.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Migrations returns the schema's steps, oldest first, for hosts that
// review or apply them with their own tool (New applies them too, and
// records each in gate_schema_migrations).
func Migrations() ([]Migration, error) {
	steps, err := sqlmigrate.Load(migrationFiles, migrationGlob)
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: %w", err)
	}
	out := make([]Migration, len(steps))
	for i, m := range steps {
		out[i] = Migration(m)
	}
	return out, nil
}

// migrate applies the pending migrations, each in its own transaction
// under the write lock, so that processes starting at once apply each once.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := sqlmigrate.Load(migrationFiles, migrationGlob)
	if err != nil {
		return fmt.Errorf("gatesqlite: %w", err)
	}
	if _, err := s.db.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS gate_schema_migrations (
		version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`); err != nil {
		return fmt.Errorf("gatesqlite: migrate: %w", err)
	}
	for _, m := range steps {
		err := s.inTx(ctx, func(tx *sql.Tx) error {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM gate_schema_migrations WHERE version = ?`, m.Version).Scan(&n); err != nil || n > 0 {
				return err
			}
			if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
				return err
			}
			_, err := tx.ExecContext(ctx, `INSERT INTO gate_schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
				m.Version, m.Name, time.Now().UnixMicro())
			return err
		})
		if err != nil {
			return fmt.Errorf("gatesqlite: migration %s: %w", m, err)
		}
	}
	return nil
}

// inTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	return tx.Commit()
}

// isUnique reports a UNIQUE or PRIMARY KEY violation.
func isUnique(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && (se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
}

func micros(t time.Time) int64 { return t.UnixMicro() }

func optionalMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return time.UnixMicro(v.Int64).UTC()
}
