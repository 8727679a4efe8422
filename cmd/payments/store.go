package main

import (
	"context"
	"fmt"
	"os"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
)

// storeFlags name the store, as examples/server's environment does.
type storeFlags struct {
	sqlite, postgres string
	prefix, schema   string
}

// storeKind is which store the flags and environment name, and where; the
// DSN is never printed, as it may hold a password.
type storeKind struct {
	kind, sqlitePath, dsn string
}

func (k storeKind) String() string {
	if k.kind == "sqlite" {
		return "sqlite " + k.sqlitePath
	}
	return "postgres"
}

// resolve picks the store: a flag, else DATABASE_URL, else SQLITE_PATH. There
// is no default file: an operator pointing at the wrong directory should be
// told, not handed a fresh empty ledger.
func (c *cli) resolve(sf storeFlags) (storeKind, error) {
	switch {
	case sf.sqlite != "" && sf.postgres != "":
		return storeKind{}, usagef("--sqlite and --postgres name two stores: pass one")
	case sf.sqlite != "":
		return storeKind{kind: "sqlite", sqlitePath: sf.sqlite}, c.noSchema(sf)
	case sf.postgres != "":
		return storeKind{kind: "postgres", dsn: sf.postgres}, nil
	case c.getenv("DATABASE_URL") != "":
		return storeKind{kind: "postgres", dsn: c.getenv("DATABASE_URL")}, nil
	case c.getenv("SQLITE_PATH") != "":
		return storeKind{kind: "sqlite", sqlitePath: c.getenv("SQLITE_PATH")}, c.noSchema(sf)
	}
	return storeKind{}, usagef("no store: pass --sqlite PATH or --postgres DSN, or set DATABASE_URL or SQLITE_PATH")
}

func (c *cli) noSchema(sf storeFlags) error {
	if sf.schema != "" {
		return usagef("--schema is PostgreSQL's; a SQLite store has none")
	}
	return nil
}

// openStore opens the store. Only migrate passes migrate: every other command
// opens the schema as it is (SkipMigrations), so that an operator's command
// never changes a database under a running host.
func (c *cli) openStore(ctx context.Context, sf storeFlags, migrate bool) (payments.Store, storeKind, error) {
	k, err := c.resolve(sf)
	if err != nil {
		return nil, k, err
	}
	if k.kind == "sqlite" {
		if !migrate {
			// sqlite.Open creates a missing file; a typo must not leave one.
			if _, err := os.Stat(k.sqlitePath); err != nil {
				return nil, k, fmt.Errorf("no store: %w (run 'payments migrate --sqlite %s' to create one)", err, k.sqlitePath)
			}
		}
		s, err := sqlite.Open(ctx, k.sqlitePath, sqlite.Options{TablePrefix: sf.prefix, SkipMigrations: !migrate})
		if err != nil {
			return nil, k, c.openFailed(err, migrate)
		}
		return s, k, nil
	}
	s, err := postgres.Open(ctx, k.dsn, postgres.Options{TablePrefix: sf.prefix, Schema: sf.schema, SkipMigrations: !migrate})
	if err != nil {
		return nil, k, c.openFailed(err, migrate)
	}
	return s, k, nil
}

func (c *cli) openFailed(err error, migrate bool) error {
	if migrate {
		return err
	}
	return fmt.Errorf("%w (if the schema is behind this command, run 'payments migrate')", err)
}

// open opens the store and a Service over it with the cli's gateways; done
// closes both.
func (c *cli) open(ctx context.Context, f *flags) (svc *payments.Service, done func(), err error) {
	store, _, err := c.openStore(ctx, f.store, false)
	if err != nil {
		return nil, nil, err
	}
	svc, err = payments.New(store, payments.WithGateway(c.gateways...))
	if err != nil {
		store.Close()
		return nil, nil, err
	}
	return svc, func() { store.Close() }, nil
}

// migrate applies the store's migrations. Opening a store with migrations on
// is exactly that, and both stores serialize it across processes. The version
// reported is the newest migration this build carries: the stores expose no
// reading of the version a database holds, and Open has applied every one of
// these or failed.
func (c *cli) migrate(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	store, k, err := c.openStore(ctx, f.store, true)
	if err != nil {
		return err
	}
	defer store.Close()
	version, name, err := latestMigration(k, f.store)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, map[string]any{"store": k.kind, "schema_version": version, "migration": name})
	}
	fmt.Fprintf(c.stdout, "%s: schema at version %d (%s)\n", k, version, name)
	return nil
}

func latestMigration(k storeKind, sf storeFlags) (int, string, error) {
	if k.kind == "sqlite" {
		all, err := sqlite.Migrations(sf.prefix)
		if err != nil || len(all) == 0 {
			return 0, "", err
		}
		return all[len(all)-1].Version, all[len(all)-1].Name, nil
	}
	all, err := postgres.Migrations(postgres.Options{TablePrefix: sf.prefix, Schema: sf.schema})
	if err != nil || len(all) == 0 {
		return 0, "", err
	}
	return all[len(all)-1].Version, all[len(all)-1].Name, nil
}
