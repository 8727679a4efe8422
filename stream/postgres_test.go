package stream_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/internal/pgtest"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/stream"
)

// TestCrossInstancePostgres runs two Services, each with its own pool, on
// one PostgreSQL schema, as two processes of a host would: a webhook that
// Service B records reaches a stream that Service A serves, although A
// never publishes an event for it.
func TestCrossInstancePostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
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
