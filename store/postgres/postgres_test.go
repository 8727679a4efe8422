package postgres_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/pgtest"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/storetest"
)

// dsnVar names the environment variable that points the tests at a server;
// crash_test's child process reads it again.
const dsnVar = pgtest.DSNVar

// testDSN returns the server the tests use, once it has answered. Without
// one the tests are skipped on a developer's machine, but fail under CI,
// where a skipped store would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	return pgtest.DSN(t)
}

// freshSchema returns the name of a schema no other test uses; it is dropped,
// with everything in it, when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	return pgtest.Schema(t, dsn)
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
