package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/internal/pgtest"
	"github.com/payrail/payments/store/postgres"
)

// TestPostgres runs the operator's round on PostgreSQL, the store named in
// DATABASE_URL: migrate, find the parked money, attribute it, see the
// balance, export the ledger.
func TestPostgres(t *testing.T) {
	dsn := pgtest.DSN(t)
	schema := pgtest.Schema(t, dsn)
	env := map[string]string{"DATABASE_URL": dsn}
	var m struct {
		Store   string `json:"store"`
		Version int    `json:"schema_version"`
	}
	ok(t, runWith(t, env, nil, "migrate", "--schema", schema, "--json"), &m)
	assert.Equal(t, "postgres", m.Store)
	assert.Positive(t, m.Version)

	store, err := postgres.Open(t.Context(), dsn, postgres.Options{Schema: schema, SkipMigrations: true})
	require.NoError(t, err)
	l := &ledger{fake: gatewaytest.NewFake(fakeSecret), ids: map[string]string{}}
	l.seed(t, store)
	require.NoError(t, store.Close())

	var page journalPage
	ok(t, runWith(t, env, nil, "journal", "--schema", schema, "--outcome", "recorded", "--json"), &page)
	assert.Equal(t, []string{"ev_r", "ev_b", "ev_a"}, l.events(page.Notifications))
	ok(t, runWith(t, env, nil, "parked", "--schema", schema, "--json"), &page)
	require.Len(t, page.Notifications, 1)

	fake := []payments.Gateway{l.fake}
	ok(t, runWith(t, env, fake, "attribute", page.Notifications[0].ID, "--account", "acct-p", "--schema", schema), nil)
	var b balancesDoc
	ok(t, runWith(t, env, nil, "balances", "--postgres", dsn, "--schema", schema, "--account", "acct-p", "--json"), &b)
	require.Len(t, b.Balances, 1)
	assert.Equal(t, "7.00", b.Balances[0].Amount)

	r := runWith(t, env, nil, "entries", "--schema", schema, "--format", "jsonl")
	ok(t, r, nil)
	entries := parseJSONL(t, r.stdout)
	assert.Len(t, entries, 4, "two charges, a refund and the attributed charge")
}
