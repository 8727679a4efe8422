package postgres_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/storetest"
)

// dsnVar names the environment variable that points the tests at a server.
const dsnVar = "PAYMENTS_POSTGRES_DSN"

// testDSN returns the server the tests use, once it has answered. Without
// one the tests are skipped on a developer's machine, but fail under CI,
// where a skipped store would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if ci {
			t.Fatalf("CI=true but %s is not set: CI must run the PostgreSQL store tests", dsnVar)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them", dsnVar)
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

// freshSchema returns the name of a schema no other test uses; it is dropped,
// with everything in it, when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "payments_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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

// openStore opens a Store on schema with its own pool; the caller closes it.
func openStore(t *testing.T, dsn, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: schema})
	require.NoError(t, err, "Open")
	return s
}

// newStore opens a Store on a fresh schema, closed when the test ends.
func newStore(t *testing.T) *postgres.Store {
	t.Helper()
	dsn := testDSN(t)
	s := openStore(t, dsn, freshSchema(t, dsn))
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConformance(t *testing.T) {
	dsn := testDSN(t)
	storetest.Run(t, func(t *testing.T) payments.Store {
		// The suite closes the store; the schema goes after it, as cleanups
		// run last-registered first.
		return openStore(t, dsn, freshSchema(t, dsn))
	})
}
