package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// Migration is one step of the schema, in the order Version gives.
type Migration struct {
	// Version numbers migrations from 1 without gaps; Open records each
	// one it applies in the <prefix>schema_migrations table.
	Version int
	// Name is the file's name without its number, e.g. "init".
	Name string
	// SQL is the migration's statements with the table prefix in place.
	// It holds several statements separated by semicolons.
	SQL string
}

// Migrations returns the schema's migrations, oldest first, with prefix
// (DefaultTablePrefix when empty) in every table name, for a host that runs
// migrations with its own tool. Such a host opens the Store with
// Options.SkipMigrations and the same TablePrefix.
func Migrations(prefix string) ([]Migration, error) {
	if prefix == "" {
		prefix = DefaultTablePrefix
	}
	if !validPrefix(prefix) {
		return nil, fmt.Errorf("sqlite: table prefix %q: want letters, digits and underscores: %w", prefix, payments.ErrInvalidInput)
	}
	files, err := fs.Glob(migrationFiles, "migrations/*.sql")
	if err != nil {
		return nil, fmt.Errorf("sqlite: migrations: %w", err)
	}
	out := make([]Migration, 0, len(files))
	for _, f := range files {
		m, err := readMigration(f, prefix)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("sqlite: migration %d (%s) out of sequence", m.Version, m.Name)
		}
	}
	return out, nil
}

// readMigration reads a file named NNNN_name.sql.
func readMigration(file, prefix string) (Migration, error) {
	num, name, ok := strings.Cut(strings.TrimSuffix(path.Base(file), ".sql"), "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version <= 0 {
		return Migration{}, fmt.Errorf("sqlite: migration file %s is not named NNNN_name.sql", file)
	}
	body, err := migrationFiles.ReadFile(file)
	if err != nil {
		return Migration{}, fmt.Errorf("sqlite: migration %s: %w", file, err)
	}
	return Migration{Version: version, Name: name, SQL: strings.ReplaceAll(string(body), "{{p}}", prefix)}, nil
}

// migrate applies the migrations the database has not recorded yet, all in
// one IMMEDIATE transaction, so two processes opening a new file at once
// apply them once: the second waits for the first and then finds nothing
// to do.
func migrate(ctx context.Context, db *sql.DB, prefix string) error {
	all, err := Migrations(prefix)
	if err != nil {
		return err
	}
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // a no-op after Commit
	versions := prefix + "schema_migrations"
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+versions+` (
		version    INTEGER NOT NULL PRIMARY KEY,
		name       TEXT    NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	var current int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM `+versions).Scan(&current); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	if current > len(all) {
		return fmt.Errorf("sqlite: schema version %d is newer than this library's %d: upgrade the library", current, len(all))
	}
	for _, m := range all[current:] {
		if _, err := tx.ExecContext(ctx, m.SQL); err != nil {
			return fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO `+versions+` (version, name, applied_at) VALUES (?, ?, ?)`,
			m.Version, m.Name, time.Now().UnixMicro()); err != nil {
			return fmt.Errorf("sqlite: migration %d (%s): %w", m.Version, m.Name, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlite: migrate: %w", err)
	}
	return nil
}

// tables are the store's tables, without their prefix.
var tables = []string{"payments", "entries", "balances", "notifications"}

// addedColumns are columns that later migrations add to those tables, one
// per migration at least, so that a skipped migration shows at Open.
var addedColumns = []struct{ table, column string }{
	{"notifications", "resolved_by"}, // 0002
	{"payments", "version"},          // 0003
	{"notifications", "body_sha256"}, // 0003
	{"notifications", "source"},      // 0004
	{"entries", "settled_currency"},  // 0005
	{"balances", "settled_currency"}, // 0005
	// 0006 adds tables too: a column of each table stands for it, as
	// pragma_table_info finds none for a missing table.
	{"postback_endpoints", "events"},  // 0006
	{"postback_messages", "body"},     // 0006
	{"postback_deliveries", "state"},  // 0006
	{"postback_attempts", "response"}, // 0006
	{"payments", "hold_handled_at"},   // 0006
	{"cursors", "value"},              // 0007
	{"entries", "sync_state"},         // 0008
}

// checkSchema reports tables and columns missing under prefix, so that a
// host that migrates on its own learns of a wrong prefix or a skipped
// migration at Open rather than at its first payment.
func checkSchema(ctx context.Context, db *sql.DB, prefix string) error {
	var missing []string
	for _, t := range tables {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM sqlite_schema WHERE type = 'table' AND name = ?`, prefix+t).Scan(&n)
		if err != nil {
			return fmt.Errorf("sqlite: check schema: %w", err)
		}
		if n == 0 {
			missing = append(missing, prefix+t)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sqlite: tables %s missing: apply Migrations(%q) first", strings.Join(missing, ", "), prefix)
	}
	for _, c := range addedColumns {
		var n int
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM pragma_table_info(?) WHERE name = ?`, prefix+c.table, c.column).Scan(&n)
		if err != nil {
			return fmt.Errorf("sqlite: check schema: %w", err)
		}
		if n == 0 {
			missing = append(missing, prefix+c.table+"."+c.column)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("sqlite: columns %s missing: apply every one of Migrations(%q) first", strings.Join(missing, ", "), prefix)
	}
	return nil
}
