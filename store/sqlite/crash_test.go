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
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	// Only a child of TestCrashLosingWhatWasNotSynced has the hooks on.
	if err := sqlite.RecordLogSyncsFromEnv(s, path); err != nil {
		_ = s.Close()
		return nil, err
	}
	return s, nil
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

// TestCrashLosingWhatWasNotSynced crashes the store as TestCrash does, and
// after each kill cuts the log back to what the store had synced, as a
// power loss would: every acknowledged notification must survive that. Then
// it does so again with the store acknowledging without flushing the log,
// which a kill alone cannot tell from a store that flushes, and checks that
// the run catches it. Fewer kills than TestCrash: a store that does not
// sync loses acknowledged notifications at nearly every kill.
func TestCrashLosingWhatWasNotSynced(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flush bool
		kills int
	}{
		{"Flushed", true, 8},
		{"NotFlushed", false, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			path, record := filepath.Join(dir, "payments.db"), filepath.Join(dir, "synced")
			env := []string{sqlite.SyncRecordVar + "=" + record}
			if !tc.flush {
				env = append(env, sqlite.NoFlushVar+"=1")
			}
			crashtest.Run(t, crashtest.Config{
				Store:      "sqlite",
				Target:     path,
				Open:       openCrashStore,
				Kills:      tc.kills,
				ChildEnv:   env,
				AfterKill:  func() error { return sqlite.LoseUnsyncedLog(path, record) },
				ExpectLoss: !tc.flush,
			})
		})
	}
}
