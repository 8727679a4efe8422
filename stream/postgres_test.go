package stream_test

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

	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/stream"
)

// dsnVar names the environment variable that points the tests at a
// PostgreSQL server, as for the store's own tests.
const dsnVar = "PAYMENTS_POSTGRES_DSN"

// testDSN returns the server the test uses, once it has answered. Without
// one the test is skipped on a developer's machine, but fails under CI,
// where a skipped test would pass unnoticed.
func testDSN(t *testing.T) string {
	t.Helper()
	dsn := os.Getenv(dsnVar)
	if dsn == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true but %s is not set: CI must run the cross-instance stream test", dsnVar)
		}
		t.Skipf("PostgreSQL test skipped: set %s=postgres://postgres@127.0.0.1:5432/test?sslmode=disable to run it", dsnVar)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	pool, err := pgxpool.New(ctx, dsn)
	if err == nil {
		err = pool.Ping(ctx)
		pool.Close()
	}
	if err != nil {
		// The error names host and user; the DSN may hold a password.
		t.Fatalf("PostgreSQL named by %s is unreachable: %v", dsnVar, err)
	}
	return dsn
}

// freshSchema returns the name of a schema no other test uses; it is
// dropped, with everything in it, when the test ends.
func freshSchema(t *testing.T, dsn string) string {
	t.Helper()
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "payments_stream_" + hex.EncodeToString(b[:])
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
	return schema
}

// TestCrossInstancePostgres runs two Services, each with its own pool, on
// one PostgreSQL schema, as two processes of a host would: a webhook that
// Service B records reaches a stream that Service A serves, although A
// never publishes an event for it.
func TestCrossInstancePostgres(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	open := func() *postgres.Store {
		s, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: schema})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	const poll = 100 * time.Millisecond
	a := newInstance(t, open(), stream.Options{PollInterval: poll}, nil)
	b := newInstance(t, open(), stream.Options{PollInterval: poll}, nil)
	p := a.checkout(t)

	c, _ := openStream(t, nil, a.streamURL(p.ID, token(p.ID)), nil)
	require.NotNil(t, c)
	assert.Equal(t, "pending", decodeStatus(t, c.next(t, 5*time.Second)).Status)

	b.postWebhook(t, p, "payment.succeeded")
	posted := time.Now()
	ev := c.next(t, 5*time.Second)
	got := decodeStatus(t, ev)
	assert.Equal(t, "succeeded", got.Status)
	assert.True(t, got.Final)
	assert.Less(t, time.Since(posted), 20*poll, "seen within a few poll intervals")
	stored, err := b.svc.Payment(t.Context(), p.ID)
	require.NoError(t, err)
	assert.Equal(t, stored.Version, got.Version, "the version B recorded")
	c.ended(t, 5*time.Second)
}
