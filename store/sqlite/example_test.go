package sqlite_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/sqlite"
)

// A store in one file: open it (the schema is created on first Open),
// record a charge, and read the balance it moved.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "payments")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	ctx := context.Background()
	store, err := sqlite.Open(ctx, filepath.Join(dir, "payments.db"), sqlite.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()

	charge := payments.Entry{
		Gateway: "stripe", Kind: payments.KindCharge, GatewayRef: "ch_3MtwBwLkdIwHu7ix",
		Account: "user_42", Amount: payments.Money{Amount: 1050, Currency: "USD"},
	}
	for range 2 { // a redelivered webhook records nothing twice
		res, err := store.Commit(ctx, &payments.Batch{Gateway: "stripe", Now: time.Now(), Entries: []payments.Entry{charge}})
		if err != nil {
			log.Fatal(err)
		}
		fmt.Printf("new %d, duplicate %d\n", len(res.Entries), len(res.Duplicates))
	}
	balance, err := store.Balance(ctx, "user_42", "USD")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(balance.Money)
	// Output:
	// new 1, duplicate 0
	// new 0, duplicate 1
	// 10.50 USD
}

// A host that runs its own migration tool takes the schema from
// Migrations and opens the store with SkipMigrations.
func ExampleMigrations() {
	migrations, err := sqlite.Migrations("shop_")
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range migrations {
		fmt.Printf("%04d_%s.sql\n", m.Version, m.Name)
	}
	// Output:
	// 0001_init.sql
	// 0002_replays.sql
	// 0003_versions.sql
	// 0004_notification_sources.sql
	// 0005_settlement.sql
	// 0006_postbacks_and_holds.sql
	// 0007_cursors.sql
	// 0008_ingest.sql
}
