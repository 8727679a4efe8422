// Package postgres is a payments.Store on PostgreSQL through pgx. It is the
// store to use when several processes share one ledger: every write is a
// transaction guarded by unique constraints and row locks, and the sync
// outbox, the postback deliveries (payments.PostbackStore) and the hold
// watcher's payments (payments.HoldStore) are claimed with FOR UPDATE SKIP
// LOCKED and a lease, so any number of Services may run against one
// database.
//
// Concurrent Commits share transactions: a group of batches is written with
// a few multi-row statements in pipelined round trips and one WAL flush,
// each batch still failing alone (see Commit).
//
// Open creates its own connection pool; New uses a pool the host already
// has. Either way the Store commits on at most half of the pool's
// connections at once, leaving the rest to reads, and applies the embedded
// schema migrations unless told not to (see Options.SkipMigrations and
// Migrations).
//
// Timestamps are stored with PostgreSQL's microsecond precision and read
// back in UTC.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payrail/payments"
)

// DefaultTablePrefix is the prefix of every table name when Options leaves
// it empty.
const DefaultTablePrefix = "payments_"

// Options configures a Store.
type Options struct {
	// TablePrefix starts the name of every table and index the Store uses:
	// lower-case letters, digits and underscores, at most 32 characters.
	// Empty means DefaultTablePrefix.
	TablePrefix string
	// Schema, when set, qualifies every table name, so the Store works in
	// that schema whatever the connection's search_path; migrations create
	// it when it does not exist. It is quoted, so it is used exactly as
	// written, case included. Empty means the search_path decides.
	Schema string
	// SkipMigrations leaves the schema alone on Open and New, for hosts
	// that apply Migrations with their own migration tool. By default the
	// Store brings the schema up to date before it returns.
	SkipMigrations bool
}

var prefixPattern = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,31}$`)

func (o Options) withDefaults() (Options, error) {
	if o.TablePrefix == "" {
		o.TablePrefix = DefaultTablePrefix
	}
	if !prefixPattern.MatchString(o.TablePrefix) {
		return o, fmt.Errorf("postgres: table prefix %q: want lower-case letters, digits and underscores, at most 32: %w",
			o.TablePrefix, payments.ErrInvalidInput)
	}
	return o, nil
}

// names renders table placeholders such as {payments} in SQL text into the
// quoted, schema-qualified names the Options select. The prefix is
// validated, so it is safe to splice into index names unquoted.
func (o Options) names() *strings.Replacer {
	table := func(name string) string {
		if o.Schema == "" {
			return pgx.Identifier{o.TablePrefix + name}.Sanitize()
		}
		return pgx.Identifier{o.Schema, o.TablePrefix + name}.Sanitize()
	}
	var pairs []string
	for _, name := range []string{"payments", "entries", "balances", "notifications", "sync", "migrations",
		"postback_endpoints", "postback_messages", "postback_deliveries", "postback_attempts", "holds", "cursors"} {
		pairs = append(pairs, "{"+name+"}", table(name))
	}
	// {schema.} qualifies an index name, which DROP INDEX needs when the
	// schema is not on the search path.
	schema := ""
	if o.Schema != "" {
		schema = pgx.Identifier{o.Schema}.Sanitize() + "."
	}
	return strings.NewReplacer(append(pairs, "{prefix}", o.TablePrefix, "{schema.}", schema)...)
}

// Store is a payments.Store on PostgreSQL. It is safe for concurrent use,
// and several Stores, in one process or many, may share one database.
type Store struct {
	pool      *pgxpool.Pool
	ownsPool  bool
	opts      Options
	names     *strings.Replacer
	rendered  sync.Map // query template → SQL, see sql
	committer *committer
	closed    atomic.Bool
	closeOnce sync.Once
}

var (
	_ payments.Store         = (*Store)(nil)
	_ payments.Pinger        = (*Store)(nil)
	_ payments.PostbackStore = (*Store)(nil)
	_ payments.HoldStore     = (*Store)(nil)
)

// Open connects to the database at dsn (a postgres:// URL or key=value
// string, as pgx parses it) with a pool of its own, which Close closes.
//
// Pool settings such as pool_max_conns may be given in the DSN. Commits
// use the server's synchronous_commit setting, which must not be off: a
// Commit that returned nil has to survive a crash, because the webhook
// handler acknowledges the gateway on it. Open fails when it is off.
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s, err := New(ctx, pool, opts)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// New returns a Store on a pool the host owns and keeps open: Close leaves
// it alone. Unless opts.SkipMigrations is set, New applies pending
// migrations before it returns. It refuses a database whose
// synchronous_commit is off, as Open does.
func New(ctx context.Context, pool *pgxpool.Pool, opts Options) (*Store, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Store{pool: pool, opts: opts, names: opts.names()}
	if err := s.checkDurable(ctx); err != nil {
		return nil, err
	}
	if !opts.SkipMigrations {
		if err := s.migrate(ctx); err != nil {
			return nil, err
		}
	}
	s.committer = startCommitter(s, committers(pool))
	return s, nil
}

// checkDurable refuses synchronous_commit=off, under which PostgreSQL
// acknowledges a commit before it is on disk and a crash can lose it.
func (s *Store) checkDurable(ctx context.Context) error {
	var setting string
	if err := s.pool.QueryRow(ctx, "SELECT current_setting('synchronous_commit')").Scan(&setting); err != nil {
		return fail("read synchronous_commit", err)
	}
	if setting == "off" {
		return errors.New("postgres: synchronous_commit is off, so a commit could be lost after it was acknowledged; set it to on")
	}
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.usable(); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close makes every later call fail, and closes the pool when Open created
// it. It waits for connections in use to be returned.
func (s *Store) Close() error {
	s.closed.Store(true)
	s.committer.close()
	if s.ownsPool {
		s.closeOnce.Do(s.pool.Close)
	}
	return nil
}

var errClosed = errors.New("postgres: store is closed")

func (s *Store) usable() error {
	if s.closed.Load() {
		return errClosed
	}
	return nil
}

// sql renders the table placeholders of a query. Queries are a fixed set
// of templates, and each group commit renders several long ones, so each is
// rendered once and looked up after that.
func (s *Store) sql(query string) string {
	if rendered, ok := s.rendered.Load(query); ok {
		return rendered.(string)
	}
	rendered := s.names.Replace(query)
	s.rendered.Store(query, rendered)
	return rendered
}
