package gatepg_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/gatepg"
	"github.com/payrail/payments/gate/gatetest"
)

const dsnVar = "PAYMENTS_POSTGRES_DSN"

// testDSN returns the server the tests use. Without one the tests are
// skipped on a developer's machine, but fail under CI, where a skipped
// store would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: CI must run the PostgreSQL gate store tests", dsnVar)
		}
		t.Skipf("PostgreSQL tests skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run them", dsnVar)
	}
	return dsn
}

// freshSchema creates a schema no other test uses, dropped with everything
// in it when the test ends, and returns dsn's pool config with search_path
// set to it: the gate's tables are unqualified.
func freshSchema(t *testing.T, dsn string) *pgxpool.Config {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "gate_test_" + hex.EncodeToString(b[:])
	admin, err := pgxpool.New(t.Context(), dsn)
	require.NoError(t, err)
	_, err = admin.Exec(t.Context(), "CREATE SCHEMA "+pgx.Identifier{schema}.Sanitize())
	admin.Close()
	require.NoError(t, err)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
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
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["search_path"] = schema
	return cfg
}

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
	dsn := testDSN(t)
	gatetest.Run(t, func(t *testing.T) gatetest.Stores {
		cfg := freshSchema(t, dsn)
		s := open(t, cfg)
		return gatetest.Stores{Merchants: s, Records: s, Peer: func(t *testing.T) gate.RecordStore { return open(t, cfg) }}
	})
}

// The view BI tools read sums what the Go API reports.
func TestDailyTotalsView(t *testing.T) {
	cfg := freshSchema(t, testDSN(t))
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
