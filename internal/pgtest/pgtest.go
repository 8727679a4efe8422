// Package pgtest gives tests a PostgreSQL server and a schema of their own
// on it. It is imported only from _test.go files.
//
// The server is named by PAYMENTS_POSTGRES_DSN. Without it a test is skipped
// on a developer's machine but fails under CI=true, where a skipped test
// would pass unnoticed.
package pgtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// DSNVar names the environment variable that points the tests at a server.
const DSNVar = "PAYMENTS_POSTGRES_DSN"

// DSN returns the server the test uses, once it has answered a ping. When
// DSNVar is unset it skips t, saying how to run it, or fails t under
// CI=true.
func DSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv(DSNVar)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: CI must run the PostgreSQL tests", DSNVar)
		}
		t.Skipf("PostgreSQL test skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it", DSNVar)
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
		t.Fatalf("PostgreSQL named by %s is unreachable: %v", DSNVar, err)
	}
	return dsn
}

// Schema returns the name of a schema on dsn that no other test uses. It
// does not create it — the payments store creates its schema, and some tests
// create it themselves — but drops it, with everything in it, when the test
// ends. A store opened on it must be closed first: register its Close after
// calling Schema, as cleanups run last-registered first.
func Schema(t testing.TB, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "payments_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		// t.Context is done by now; the drop gets a context of its own.
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

// Config creates a fresh schema on dsn, as Schema names it and dropped the
// same way, and returns dsn's pool config with search_path set to it, for
// code whose tables are unqualified and which takes a pool rather than a
// schema option. Copy the config before each pgxpool.NewWithConfig.
func Config(t testing.TB, dsn string) *pgxpool.Config {
	t.Helper()
	schema := Schema(t, dsn)
	admin, err := pgxpool.New(t.Context(), dsn)
	if err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	_, err = admin.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	admin.Close()
	if err != nil {
		t.Fatalf("create schema %s: %v", schema, err)
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		t.Fatalf("parse %s: %v", DSNVar, err)
	}
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}
