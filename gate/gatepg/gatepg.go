// Package gatepg keeps a gate's merchants, records and postbacks in
// PostgreSQL through pgx: a gate.MerchantStore, gate.RecordStore and
// gate.ReportStore in one Store, on tables named gate_*, with migrations of
// its own and a gate_daily_totals view for BI tools.
//
// The payments store (store/postgres) does not hand out its pool, so a
// host that keeps everything in one database opens this Store on the same
// DSN (Open), or hands it a pool of its own (New). Several gates on one
// database claim postbacks with FOR UPDATE SKIP LOCKED: a postback is
// leased to one of them at a time.
package gatepg

import (
	"context"
	"embed"
	"errors"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/internal/sqlmigrate"
)

// Store is a gate.MerchantStore (and gate.MerchantAdminStore),
// gate.RecordStore and gate.ReportStore on PostgreSQL. It is safe for
// concurrent use, and several Stores, in one process or many, may share one
// database.
type Store struct {
	pool     *pgxpool.Pool
	ownsPool bool
}

var (
	_ gate.MerchantStore      = (*Store)(nil)
	_ gate.RecordStore        = (*Store)(nil)
	_ gate.ReportStore        = (*Store)(nil)
	_ gate.MerchantAdminStore = (*Store)(nil)
)

// Open connects to dsn with a pool of its own, which Close closes, and
// applies pending migrations. dsn may be the payments store's: the gate's
// tables sit apart by their gate_ prefix. Set search_path in the DSN to put
// them in another schema.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("gatepg: parse dsn: %w", err)
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("gatepg: connect: %w", err)
	}
	s, err := New(ctx, pool)
	if err != nil {
		pool.Close()
		return nil, err
	}
	s.ownsPool = true
	return s, nil
}

// New returns a Store on a pool the host owns (Close leaves it open) and
// applies pending migrations.
func New(ctx context.Context, pool *pgxpool.Pool) (*Store, error) {
	s := &Store{pool: pool}
	if err := s.migrate(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Close closes the pool Open opened; on a Store from New it does nothing.
func (s *Store) Close() error {
	if s.ownsPool {
		s.pool.Close()
	}
	return nil
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
		return nil, fmt.Errorf("gatepg: %w", err)
	}
	out := make([]Migration, len(steps))
	for i, m := range steps {
		out[i] = Migration(m)
	}
	return out, nil
}

// migrationLock is the advisory lock key under which migrations run, so
// that processes starting at once wait for each other instead of racing to
// create the same tables.
const migrationLock = 0x6761746570670001 // "gatepg" and 1

func (s *Store) migrate(ctx context.Context) error {
	steps, err := sqlmigrate.Load(migrationFiles, migrationGlob)
	if err != nil {
		return fmt.Errorf("gatepg: %w", err)
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, int64(migrationLock)); err != nil {
			return fmt.Errorf("gatepg: migrate: lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS gate_schema_migrations (
			version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return fmt.Errorf("gatepg: migrate: version table: %w", err)
		}
		rows, _ := tx.Query(ctx, `SELECT version FROM gate_schema_migrations`)
		versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return fmt.Errorf("gatepg: migrate: read versions: %w", err)
		}
		applied := map[int]bool{}
		for _, v := range versions {
			applied[int(v)] = true
		}
		for _, m := range steps {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fmt.Errorf("gatepg: migration %s: %w", m, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO gate_schema_migrations (version, name) VALUES ($1, $2)`, m.Version, m.Name); err != nil {
				return fmt.Errorf("gatepg: migrate: record version: %w", err)
			}
		}
		return nil
	})
}

// inTx runs fn in one transaction, committed when fn returns nil.
func (s *Store) inTx(ctx context.Context, fn func(tx pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback(context.WithoutCancel(ctx))
		return err
	}
	return tx.Commit(ctx)
}

// isUnique reports a unique violation (SQLSTATE 23505).
func isUnique(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "23505"
}

// isOutOfRange reports a numeric value out of range (SQLSTATE 22003).
func isOutOfRange(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "22003"
}
