package postgres_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestResultIsAsStored commits with nanosecond clocks and checks that what
// Commit returns equals what later reads return, PostgreSQL keeping only
// microseconds.
func TestResultIsAsStored(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	now := time.Date(2025, time.March, 14, 9, 26, 53, 123_456_789, time.FixedZone("CET", 3600))
	res, err := s.Commit(ctx, &payments.Batch{
		Gateway: "nanopay", Now: now,
		Payments: []payments.PaymentUpdate{{
			GatewayID: "pi_1", Account: "acct", Status: payments.StatusAuthorized,
			CaptureBefore: now.Add(time.Hour + time.Nanosecond),
		}},
		Entries: []payments.Entry{{
			Kind: payments.KindCharge, GatewayRef: "ch_1", GatewayPaymentID: "pi_1",
			Amount: payments.Money{Amount: 100, Currency: "USD"}, OccurredAt: now.Add(-time.Nanosecond),
		}},
	})
	require.NoError(t, err)
	require.Len(t, res.Created, 1)
	require.Len(t, res.Entries, 1)

	stored, err := s.PaymentByGatewayID(ctx, "nanopay", "pi_1")
	require.NoError(t, err)
	assert.Equal(t, res.Created[0], *stored)
	entries, _, err := s.Entries(ctx, payments.EntryFilter{})
	require.NoError(t, err)
	assert.Equal(t, res.Entries, entries)
}
