package postgres

import (
	"context"
	"embed"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the Store's schema, identified by its version.
type Migration struct {
	// Version orders migrations; they are applied in increasing order, each
	// once.
	Version int
	// Name is the file's name without its version and extension.
	Name string
	// SQL is the step, with table and index names rendered for the Options
	// it was asked for. It may hold several statements.
	SQL string
}

// Migrations returns every schema migration, oldest first, rendered for
// opts (table prefix and schema). A host that applies them with its own
// migration tool sets Options.SkipMigrations and must apply all of them, in
// order, before using the Store; it must also create opts.Schema if it set
// one. The Store's own version table does not learn of migrations applied
// this way, so such a host keeps applying them itself.
func Migrations(opts Options) ([]Migration, error) {
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	return loadMigrations(opts.names())
}

// loadMigrations reads the embedded files, named NNNN_name.sql.
func loadMigrations(names *strings.Replacer) ([]Migration, error) {
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("postgres: migrations: %w", err)
	}
	var out []Migration
	for _, file := range files {
		base := strings.TrimSuffix(path.Base(file), ".sql")
		num, name, _ := strings.Cut(base, "_")
		version, err := strconv.Atoi(num)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: no version number", file)
		}
		body, err := migrationFiles.ReadFile(file)
		if err != nil {
			return nil, fmt.Errorf("postgres: migration %s: %w", file, err)
		}
		out = append(out, Migration{Version: version, Name: name, SQL: names.Replace(string(body))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	return out, nil
}

// migrate applies the migrations the version table does not list, all in
// one transaction. The transaction first takes an advisory lock, so that
// processes starting at once against one database wait for each other
// instead of racing to create the same tables; the lock is released when
// the transaction ends.
func (s *Store) migrate(ctx context.Context) error {
	steps, err := loadMigrations(s.names)
	if err != nil {
		return err
	}
	// A schema that is up to date needs neither the lock nor any DDL, so a
	// restart does not queue behind other processes, and a role without
	// CREATE rights can open it. An error here (no version table yet) just
	// means there is work to do.
	if applied, err := appliedVersions(ctx, s.pool, s.sql("SELECT version FROM {migrations}")); err == nil && allApplied(steps, applied) {
		return nil
	}
	return s.runTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, "SELECT pg_advisory_xact_lock($1)", s.migrationLockKey()); err != nil {
			return fail("migrate: lock", err)
		}
		if s.opts.Schema != "" {
			if _, err := tx.Exec(ctx, "CREATE SCHEMA IF NOT EXISTS "+pgx.Identifier{s.opts.Schema}.Sanitize()); err != nil {
				return fail("migrate: create schema", err)
			}
		}
		if _, err := tx.Exec(ctx, s.sql(`CREATE TABLE IF NOT EXISTS {migrations} (
			version    INTEGER PRIMARY KEY,
			name       TEXT NOT NULL,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)); err != nil {
			return fail("migrate: version table", err)
		}
		applied, err := appliedVersions(ctx, tx, s.sql("SELECT version FROM {migrations}"))
		if err != nil {
			return err
		}
		for _, m := range steps {
			if applied[m.Version] {
				continue
			}
			if _, err := tx.Exec(ctx, m.SQL); err != nil {
				return fail(fmt.Sprintf("migrate: %04d_%s", m.Version, m.Name), err)
			}
			if _, err := tx.Exec(ctx, s.sql("INSERT INTO {migrations} (version, name) VALUES ($1, $2)"), m.Version, m.Name); err != nil {
				return fail("migrate: record version", err)
			}
		}
		return nil
	})
}

func appliedVersions(ctx context.Context, q querier, query string) (map[int]bool, error) {
	rows, err := q.Query(ctx, query)
	if err != nil {
		return nil, fail("migrate: read versions", err)
	}
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	if err != nil {
		return nil, fail("migrate: read versions", err)
	}
	applied := make(map[int]bool, len(versions))
	for _, v := range versions {
		applied[int(v)] = true
	}
	return applied, nil
}

func allApplied(steps []Migration, applied map[int]bool) bool {
	for _, m := range steps {
		if !applied[m.Version] {
			return false
		}
	}
	return true
}

// migrationLockKey is the advisory lock that serializes migrations. It
// depends on the schema only: stores with different prefixes in one schema
// share it, because CREATE SCHEMA IF NOT EXISTS itself is not safe to race.
func (s *Store) migrationLockKey() int64 {
	h := fnv.New64a()
	h.Write([]byte("github.com/payrail/payments/store/postgres\x00" + s.opts.Schema))
	return int64(h.Sum64())
}
