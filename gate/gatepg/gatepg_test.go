package gatepg_test

import (
	"encoding/hex"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/gatepg"
	"github.com/payrail/payments/gate/gatetest"
	"github.com/payrail/payments/internal/pgtest"
)

// open returns a Store with a pool of its own on cfg, as another process
// would have, closed when the test ends.
func open(t *testing.T, cfg *pgxpool.Config) *gatepg.Store {
	t.Helper()
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg.Copy())
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := gatepg.New(t.Context(), pool)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, s.Close()) })
	return s
}

func TestConformance(t *testing.T) {
	dsn := pgtest.DSN(t)
	gatetest.Run(t, func(t *testing.T) gatetest.Stores {
		cfg := pgtest.Config(t, dsn)
		s := open(t, cfg)
		return gatetest.Stores{Merchants: s, Records: s, Peer: func(t *testing.T) gate.RecordStore { return open(t, cfg) }}
	})
}

// The view BI tools read sums what the Go API reports.
func TestDailyTotalsView(t *testing.T) {
	cfg := pgtest.Config(t, pgtest.DSN(t))
	s := open(t, cfg)
	ctx := t.Context()
	at := time.Date(2026, 3, 14, 23, 30, 0, 0, time.UTC)
	for i, amount := range []string{"10.50", "0.25"} {
		r := &gate.Record{ID: "gp_" + hex.EncodeToString([]byte{byte(i)}) + "000000000000000000000000000000", Merchant: "m1",
			MerchantPaymentID: "order-" + amount, Request: gate.PaymentRequest{Amount: amount, Currency: "USD"}, Gateway: "fake",
			CreatedAt: at}
		require.NoError(t, s.CreateRecord(ctx, r))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg.Copy())
	require.NoError(t, err)
	defer pool.Close()
	var day time.Time
	var status string
	var count, minor int64
	require.NoError(t, pool.QueryRow(ctx, `SELECT day, status, payments, amount_minor FROM gate_daily_totals WHERE merchant_id = 'm1'`).
		Scan(&day, &status, &count, &minor))
	assert.Equal(t, "2026-03-14", day.Format(time.DateOnly), "the UTC day")
	assert.Equal(t, "pending", status)
	assert.Equal(t, int64(2), count)
	assert.Equal(t, int64(1075), minor)
}
