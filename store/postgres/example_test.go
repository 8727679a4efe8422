package postgres_test

import (
	"context"
	"log"
	"os"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// Open a Store with a pool of its own and hand it to a Service. Several
// processes may do this against one database at once.
func ExampleOpen() {
	ctx := context.Background()
	store, err := postgres.Open(ctx, os.Getenv("DATABASE_URL"), postgres.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	svc, err := payments.New(store)
	if err != nil {
		log.Fatal(err)
	}
	_ = svc // add gateways with options, mount webhook handlers, Run the sync loop
}

// Share the host's pool, with the migrations run by the host's own tool.
func ExampleNew() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, os.Getenv("DATABASE_URL"))
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close() // the host's pool: Store.Close leaves it open

	opts := postgres.Options{Schema: "billing", SkipMigrations: true}
	migrations, err := postgres.Migrations(opts)
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range migrations {
		log.Printf("migration %04d_%s: %d bytes of SQL", m.Version, m.Name, len(m.SQL))
	}

	store, err := postgres.New(ctx, pool, opts)
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
}
