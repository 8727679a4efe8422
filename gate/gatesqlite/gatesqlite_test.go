package gatesqlite_test

import (
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/gatesqlite"
	"github.com/payrail/payments/gate/gatetest"
)

func TestConformance(t *testing.T) {
	gatetest.Run(t, func(t *testing.T) gatetest.Stores {
		path := filepath.Join(t.TempDir(), "gate.db")
		open := func(t *testing.T) *gatesqlite.Store {
			s, err := gatesqlite.Open(t.Context(), path, gatesqlite.Options{})
			require.NoError(t, err)
			t.Cleanup(func() { require.NoError(t, s.Close()) })
			return s
		}
		s := open(t)
		return gatetest.Stores{Merchants: s, Records: s, Peer: func(t *testing.T) gate.RecordStore { return open(t) }}
	})
}
