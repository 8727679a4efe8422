package stormtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
)

// stores are the stores the storm runs against, each opened fresh and
// closed when its subtest ends, with the most deliveries each takes.
var stores = []struct {
	name string
	most int
	open func(t *testing.T) payments.Store
}{
	{"memory", smallDeliveries, func(t *testing.T) payments.Store { return memory.New() }},
	{"sqlite", math.MaxInt, func(t *testing.T) payments.Store {
		s, err := sqlite.Open(t.Context(), filepath.Join(t.TempDir(), "storm.db"), sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
	{"postgres", math.MaxInt, func(t *testing.T) payments.Store {
		dsn := testDSN(t)
		s, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: freshSchema(t, dsn)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}

// dsnVar names the environment variable that points the storm at a
// PostgreSQL server, as for the store's own tests.
const dsnVar = "PAYMENTS_POSTGRES_DSN"

// testDSN returns the server to storm, once it has answered. Without one
// the PostgreSQL storm is skipped on a developer's machine, but fails under
// CI, where a skipped storm would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: CI must storm the PostgreSQL store", dsnVar)
		}
		t.Skipf("PostgreSQL storm skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it", dsnVar)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
		pool.Close()
	}
	if err != nil {
		// The error names host and user; the DSN may hold a password.
		t.Fatalf("PostgreSQL named by %s is unreachable: %v", dsnVar, err)
	}
	return dsn
}

// freshSchema returns the name of a schema no other run uses; it is
// dropped, with everything in it, when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "payments_storm_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
			return
		}
		defer pool.Close()
		if _, err := pool.Exec(ctx, "DROP SCHEMA IF EXISTS "+pgx.Identifier{schema}.Sanitize()+" CASCADE"); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
	})
	return schema
}
