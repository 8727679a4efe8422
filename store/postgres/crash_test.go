package postgres_test

import (
	"context"
	"os"
	"testing"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/crashtest"
	"github.com/payrail/payments/store/postgres"
)

// openCrashStore opens the schema on the server named by dsnVar, which the
// child inherits from the test that checked it with testDSN.
func openCrashStore(ctx context.Context, schema string) (payments.Store, error) {
	return postgres.Open(ctx, os.Getenv(dsnVar), postgres.Options{Schema: schema})
}

// TestCrashChild is the process TestCrash kills; run alone it does nothing.
func TestCrashChild(t *testing.T) { crashtest.Child(t, openCrashStore) }

func TestCrash(t *testing.T) {
	dsn := testDSN(t)
	crashtest.Run(t, crashtest.Config{Store: "postgres", Target: freshSchema(t, dsn), Open: openCrashStore})
}
