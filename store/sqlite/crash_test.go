package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/crashtest"
	"github.com/payrail/payments/store/sqlite"
)

func openCrashStore(ctx context.Context, path string) (payments.Store, error) {
	return sqlite.Open(ctx, path, sqlite.Options{})
}

// TestCrashChild is the process TestCrash kills; run alone it does nothing.
func TestCrashChild(t *testing.T) { crashtest.Child(t, openCrashStore) }

func TestCrash(t *testing.T) {
	crashtest.Run(t, crashtest.Config{
		Store:  "sqlite",
		Target: filepath.Join(t.TempDir(), "payments.db"),
		Open:   openCrashStore,
	})
}
