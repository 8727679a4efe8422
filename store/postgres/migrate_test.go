package postgres_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

func TestMigrationsAreNumberedAndRendered(t *testing.T) {
	list, err := postgres.Migrations(postgres.Options{Schema: "tenant one", TablePrefix: "pay_"})
	require.NoError(t, err)
	require.NotEmpty(t, list)
	for i, m := range list {
		if i > 0 {
			assert.Greater(t, m.Version, list[i-1].Version, "versions increase")
		}
		assert.NotContains(t, m.SQL, "{", "every placeholder rendered in %d_%s", m.Version, m.Name)
	}
	assert.Contains(t, list[0].SQL, `"tenant one"."pay_entries"`)

	_, err = postgres.Migrations(postgres.Options{TablePrefix: "Bad-Prefix"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

// TestConcurrentOpen starts several stores on one new schema at once: the
// advisory lock must make all but one wait, and each migration run once.
func TestConcurrentOpen(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			s, err := postgres.Open(context.Background(), dsn, postgres.Options{Schema: schema})
			if assert.NoError(t, err) {
				assert.NoError(t, s.Ping(t.Context()))
				assert.NoError(t, s.Close())
			}
		})
	}
	wg.Wait()

	conn, err := pgx.Connect(t.Context(), dsn)
	require.NoError(t, err)
	defer conn.Close(t.Context())
	var applied int
	require.NoError(t, conn.QueryRow(t.Context(),
		"SELECT count(*) FROM "+pgx.Identifier{schema, "payments_migrations"}.Sanitize()).Scan(&applied))
	list, err := postgres.Migrations(postgres.Options{Schema: schema})
	require.NoError(t, err)
	assert.Equal(t, len(list), applied)
}

// TestHostAppliedMigrations plays a host that runs the migrations with its
// own tool and hands its pool to New: the Store works, and Close leaves the
// host's pool open.
func TestHostAppliedMigrations(t *testing.T) {
	dsn := testDSN(t)
	ctx := t.Context()
	opts := postgres.Options{Schema: freshSchema(t, dsn), TablePrefix: "host_", SkipMigrations: true}
	pool, err := pgxpool.New(ctx, dsn)
	require.NoError(t, err)
	defer pool.Close()

	_, err = pool.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{opts.Schema}.Sanitize())
	require.NoError(t, err)
	list, err := postgres.Migrations(opts)
	require.NoError(t, err)
	for _, m := range list {
		_, err := pool.Exec(ctx, m.SQL)
		require.NoError(t, err, "migration %d_%s", m.Version, m.Name)
	}

	s, err := postgres.New(ctx, pool, opts)
	require.NoError(t, err)
	_, err = s.Commit(ctx, &payments.Batch{Gateway: "hostpay", Now: clock, Entries: []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: "ch_1", Account: "acct", Amount: payments.Money{Amount: 250, Currency: "USD"},
	}}})
	require.NoError(t, err)
	bal, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(250), bal.Money.Amount)

	require.NoError(t, s.Close())
	assert.Error(t, s.Ping(ctx), "a closed Store refuses calls")
	assert.NoError(t, pool.Ping(ctx), "Close leaves a host's pool open")
}

// TestRefusesAsynchronousCommit checks that a Store will not run where an
// acknowledged commit could be lost.
func TestRefusesAsynchronousCommit(t *testing.T) {
	dsn := testDSN(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	defer pool.Close()

	_, err = postgres.New(t.Context(), pool, postgres.Options{Schema: freshSchema(t, dsn)})
	assert.ErrorContains(t, err, "synchronous_commit")
}

// previousVersion makes a schema the way a store of the previous version
// migrated it: every migration but the last, recorded as applied. It
// returns the store's options for that schema, a connection to the
// database, and the name of table name in the schema.
func previousVersion(t *testing.T) (postgres.Options, *pgx.Conn, func(name string) string) {
	t.Helper()
	dsn := testDSN(t)
	ctx := t.Context()
	opts := postgres.Options{Schema: freshSchema(t, dsn)}
	list, err := postgres.Migrations(opts)
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	t.Cleanup(func() { conn.Close(context.Background()) }) //nolint:errcheck // nothing to report
	table := func(name string) string { return pgx.Identifier{opts.Schema, "payments_" + name}.Sanitize() }
	_, err = conn.Exec(ctx, "CREATE SCHEMA "+pgx.Identifier{opts.Schema}.Sanitize())
	require.NoError(t, err)
	_, err = conn.Exec(ctx, "CREATE TABLE "+table("migrations")+
		" (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
	require.NoError(t, err)
	for _, m := range list[:len(list)-1] {
		_, err := conn.Exec(ctx, m.SQL)
		require.NoError(t, err, "migration %d_%s", m.Version, m.Name)
		_, err = conn.Exec(ctx, "INSERT INTO "+table("migrations")+" (version, name) VALUES ($1, $2)", m.Version, m.Name)
		require.NoError(t, err)
	}
	return opts, conn, table
}

// TestUpgradeKeepsDeliveries opens a schema that a store of the previous
// version migrated and journaled a row in: the row reads back as the
// delivery it was, and the schema is at the last version.
func TestUpgradeKeepsDeliveries(t *testing.T) {
	ctx := t.Context()
	opts, conn, table := previousVersion(t)
	_, err := conn.Exec(ctx, "INSERT INTO "+table("notifications")+
		" (id, gateway, received_at, verified, outcome) VALUES ('ntf_old', 'fake', now(), true, 'recorded')")
	require.NoError(t, err)

	s, err := postgres.Open(ctx, testDSN(t), opts)
	require.NoError(t, err)
	defer s.Close() //nolint:errcheck // nothing to report
	n, err := s.Notification(ctx, "ntf_old")
	require.NoError(t, err)
	assert.Empty(t, n.Source, "a delivery")
	list, err := postgres.Migrations(opts)
	require.NoError(t, err)
	var version int
	require.NoError(t, conn.QueryRow(ctx, "SELECT max(version) FROM "+table("migrations")).Scan(&version))
	assert.Equal(t, list[len(list)-1].Version, version)
}

// TestUpgradeKeepsSyncTasks fills the outbox as the previous version keyed
// it, by entry id, and checks that after migration 0009 (keyed by seq)
// every task is still there in its order, open tasks are still found by
// their entry's id, and a done one still refuses to be settled again.
func TestUpgradeKeepsSyncTasks(t *testing.T) {
	ctx := t.Context()
	opts, conn, table := previousVersion(t)
	due := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, task := range []struct{ entry, state string }{
		{"ent_done", "done"}, {"ent_pending", "pending"}, {"ent_parked", "parked"},
	} {
		_, err := conn.Exec(ctx, "INSERT INTO "+table("entries")+
			` (id, gateway, kind, gateway_ref, account, amount, currency, occurred_at, recorded_at)
			VALUES ($1, 'fake', 'charge', $1, 'acct', 100, 'USD', $2, $2)`, task.entry, due)
		require.NoError(t, err)
		_, err = conn.Exec(ctx, "INSERT INTO "+table("sync")+" (entry_id, state, next_attempt) VALUES ($1, $2, $3)",
			task.entry, task.state, due)
		require.NoError(t, err)
	}

	s, err := postgres.Open(ctx, testDSN(t), opts)
	require.NoError(t, err)
	defer s.Close() //nolint:errcheck // nothing to report
	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{})
	require.NoError(t, err)
	var order []string
	for _, task := range tasks {
		order = append(order, task.Entry.ID+" "+string(task.State))
	}
	assert.Equal(t, []string{"ent_done done", "ent_pending pending", "ent_parked parked"}, order)

	claimed, err := s.ClaimSync(ctx, payments.SyncClaim{Owner: "svc", Now: due, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, claimed, 1)
	assert.Equal(t, "ent_pending", claimed[0].Entry.ID)
	require.NoError(t, s.SettleSync(ctx, payments.SyncSettlement{EntryID: "ent_pending", Owner: "svc",
		State: payments.SyncDone, Attempts: 1, NextAttempt: due}))
	require.NoError(t, s.RequeueSync(ctx, "ent_parked", due))
	err = s.SettleSync(ctx, payments.SyncSettlement{EntryID: "ent_done", Owner: "svc", State: payments.SyncDone})
	assert.ErrorIs(t, err, payments.ErrConflict, "a done task is not settled twice")
	err = s.RequeueSync(ctx, "ent_pending", due)
	assert.ErrorIs(t, err, payments.ErrConflict, "a task settled after the upgrade is done")
	err = s.RequeueSync(ctx, "ent_unknown", due)
	assert.ErrorIs(t, err, payments.ErrNotFound)

	pending, _, err := s.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending})
	require.NoError(t, err)
	require.Len(t, pending, 1)
	assert.Equal(t, "ent_parked", pending[0].Entry.ID, "requeued")
}
