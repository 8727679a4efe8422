package sqlite_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) payments.Store {
		s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "payments.db"), sqlite.Options{})
		require.NoError(t, err)
		return s
	})
}
