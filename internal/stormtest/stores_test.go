package stormtest

import (
	"math"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/pgtest"
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
		dsn := pgtest.DSN(t)
		s, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: pgtest.Schema(t, dsn)})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}},
}
