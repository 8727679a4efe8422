package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/sqlite"
)

// openStore opens a store in a fresh file that is closed with the test.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "payments.db"), sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func charge(ref, account string, amount int64) payments.Entry {
	return payments.Entry{
		Gateway: "fake", Kind: payments.KindCharge, GatewayRef: ref, Account: account,
		Amount: payments.Money{Amount: amount, Currency: "USD"},
	}
}

func TestOpenRefusesWhatIsNotAFile(t *testing.T) {
	for _, path := range []string{"", ":memory:", "file::memory:?cache=shared", "db?mode=ro"} {
		_, err := sqlite.Open(context.Background(), path, sqlite.Options{})
		assert.ErrorIs(t, err, payments.ErrInvalidInput, "path %q", path)
	}
	_, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlite.Options{TablePrefix: "bad-prefix"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}

func TestMigrationsAreVersionedAndPrefixed(t *testing.T) {
	ms, err := sqlite.Migrations("shop_")
	require.NoError(t, err)
	require.NotEmpty(t, ms)
	for i, m := range ms {
		assert.Equal(t, i+1, m.Version)
		assert.NotEmpty(t, m.Name)
		assert.Contains(t, m.SQL, "shop_")
		assert.NotContains(t, m.SQL, "{{p}}")
	}

	path := filepath.Join(t.TempDir(), "shared.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "shop_"})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	s, err = sqlite.Open(ctx, path, sqlite.Options{TablePrefix: "shop_"}) // a second Open finds nothing to do
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	defer db.Close()
	var version int
	require.NoError(t, db.QueryRow(`SELECT MAX(version) FROM shop_schema_migrations`).Scan(&version))
	assert.Equal(t, len(ms), version)
	var tables int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name LIKE 'shop\_%' ESCAPE '\'`).Scan(&tables))
	assert.Equal(t, 10, tables, "schema_migrations, the four of the ledger (sync tasks are on entries), the four of postbacks, cursors")
}

func TestSkipMigrationsWithHostAppliedSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "host.db")
	_, err := sqlite.Open(context.Background(), path, sqlite.Options{SkipMigrations: true})
	require.Error(t, err, "no schema yet")

	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	ms, err := sqlite.Migrations("")
	require.NoError(t, err)
	require.Greater(t, len(ms), 1)
	_, err = db.Exec(ms[0].SQL)
	require.NoError(t, err)
	_, err = sqlite.Open(context.Background(), path, sqlite.Options{SkipMigrations: true})
	require.ErrorContains(t, err, "resolved_by", "a later migration skipped")
	// Each later migration skipped shows by what it adds.
	require.Len(t, ms, 8, "a new migration adds a step below")
	for _, m := range ms[1:4] {
		_, err := db.Exec(m.SQL)
		require.NoError(t, err)
	}
	for _, step := range []struct {
		version int
		missing string
	}{{5, "entries.settled_currency"}, {6, "postback_endpoints.events"}, {7, "cursors.value"}, {8, "entries.sync_state"}} {
		_, err = sqlite.Open(context.Background(), path, sqlite.Options{SkipMigrations: true})
		require.ErrorContains(t, err, step.missing, "migration %d skipped", step.version)
		_, err = db.Exec(ms[step.version-1].SQL)
		require.NoError(t, err)
	}
	require.NoError(t, db.Close())

	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{SkipMigrations: true})
	require.NoError(t, err)
	defer s.Close()
	_, err = s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Entries: []payments.Entry{charge("ch_1", "acct", 500)}})
	require.NoError(t, err)
}

// TestUpgradeFromTheFirstSchema opens a file that holds the first
// migration's schema, a payment, a journal row, an entry with its sync task
// and its balance: Open applies the rest, the payment reads back as version
// 1, the row as a delivery with no replay, unresolved, and its body whole,
// the entry without a conversion, and the balance settled in nothing.
func TestUpgradeFromTheFirstSchema(t *testing.T) {
	path := filepath.Join(t.TempDir(), "old.db")
	ms, err := sqlite.Migrations("")
	require.NoError(t, err)
	db, err := sql.Open("sqlite", path)
	require.NoError(t, err)
	for _, stmt := range []string{
		`CREATE TABLE payments_schema_migrations (version INTEGER NOT NULL PRIMARY KEY,
			name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT`,
		ms[0].SQL,
		`INSERT INTO payments_schema_migrations VALUES (1, 'init', 0)`,
		`INSERT INTO payments_notifications (id, gateway, received_at, verified, outcome)
			VALUES ('ntf_old', 'fake', 0, 1, 'parked')`,
		`INSERT INTO payments_payments (id, gateway, gateway_id, status, created_at, updated_at)
			VALUES ('pay_old', 'fake', 'pi_old', 'pending', 0, 0)`,
		`INSERT INTO payments_entries (seq, id, gateway, kind, gateway_ref, account, amount, currency, occurred_at, recorded_at)
			VALUES (1, 'ent_old', 'fake', 'charge', 'ch_old', 'acct', 700, 'EUR', 0, 0)`,
		`INSERT INTO payments_sync_tasks (entry_seq, state, next_attempt) VALUES (1, 'pending', 0)`,
		`INSERT INTO payments_balances (account, currency, amount, entries, updated_at) VALUES ('acct', 'EUR', 700, 1, 0)`,
	} {
		_, err := db.Exec(stmt)
		require.NoError(t, err, stmt)
	}
	require.NoError(t, db.Close())

	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	n, err := s.Notification(ctx, "ntf_old")
	require.NoError(t, err)
	assert.Empty(t, n.ReplayOf)
	assert.Empty(t, n.ResolvedBy)
	assert.Zero(t, n.BodyLen)
	assert.Empty(t, n.BodySHA256)
	assert.Empty(t, n.Source, "a delivery")
	p, err := s.Payment(ctx, "pay_old")
	require.NoError(t, err)
	assert.EqualValues(t, 1, p.Version)
	parked, _, err := s.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	require.NoError(t, err)
	require.Len(t, parked, 1)
	assert.Equal(t, "ntf_old", parked[0].ID)

	entries, _, err := s.Entries(ctx, payments.EntryFilter{Account: "acct"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Nil(t, entries[0].Settlement, "recorded without a conversion")
	unsettled, _, err := s.Entries(ctx, payments.EntryFilter{Unsettled: true})
	require.NoError(t, err)
	assert.Empty(t, unsettled)
	tasks, err := s.ClaimSync(ctx, payments.SyncClaim{Owner: "svc", Now: time.Now(), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	require.Len(t, tasks, 1)
	assert.Nil(t, tasks[0].Entry.Settlement)
	b, err := s.Balance(ctx, "acct", "EUR")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 700, Currency: "EUR"}, b.Money)
	assert.Equal(t, payments.Money{}, b.Settled, "settled in nothing")
	_, err = s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Entries: []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: "ch_new", Account: "acct", Amount: payments.Money{Amount: 300, Currency: "EUR"},
		Settlement: &payments.Conversion{Money: payments.Money{Amount: 330, Currency: "USD"}, Rate: "1.1", Source: "fixed"},
	}}})
	require.NoError(t, err)
	b, err = s.Balance(ctx, "acct", "EUR")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 1000, Currency: "EUR"}, b.Money)
	assert.Equal(t, payments.Money{Amount: 330, Currency: "USD"}, b.Settled, "an old balance takes its first conversion")
}

// TestNotificationPagesSplitEqualTimes pages through rows received at the
// same instant with pages that end among them, under each filter: the
// cursor's tie-break on the journal's order loses and repeats nothing.
func TestNotificationPagesSplitEqualTimes(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	var want []string
	for i := range 10 {
		id := fmt.Sprintf("ntf_%02d", i)
		require.NoError(t, s.AppendNotification(ctx, &payments.Notification{ID: id, Gateway: "fake",
			ReceivedAt: now.Add(time.Duration(i/5) * time.Second), Outcome: payments.OutcomeParked}))
		want = append([]string{id}, want...) // newest first, the last journaled first among equals
	}
	for _, f := range []payments.NotificationFilter{{}, {Gateway: "fake"}, {Outcome: payments.OutcomeParked},
		{Outcome: payments.OutcomeParked, Unresolved: true}} {
		var got []string
		for f.Limit = 3; ; {
			page, next, err := s.Notifications(ctx, f)
			require.NoError(t, err)
			for _, n := range page {
				got = append(got, n.ID)
			}
			if next == "" {
				break
			}
			f.After = next
		}
		assert.Equal(t, want, got, "filter %+v", f)
	}
}

func TestCommittedDataSurvivesReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "durable.db")
	ctx := context.Background()
	s, err := sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	n := &payments.Notification{ID: "ntf_1", Gateway: "fake", ReceivedAt: time.Now(), Body: []byte{0, 1, 0xff},
		Header: map[string][]string{"Stripe-Signature": {"t=1,v1=abc"}}, Verified: true}
	_, err = s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Notification: n,
		Entries: []payments.Entry{charge("ch_1", "acct", 1250)}})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	s, err = sqlite.Open(ctx, path, sqlite.Options{})
	require.NoError(t, err)
	defer s.Close()
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1250), b.Money.Amount)
	got, err := s.Notification(ctx, "ntf_1")
	require.NoError(t, err)
	assert.Equal(t, n.Body, got.Body, "the raw body byte for byte")
	assert.Equal(t, n.Header, got.Header)
	assert.Equal(t, payments.OutcomeRecorded, got.Outcome)
}

func TestBalanceOverflowFailsTheBatch(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	_, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(),
		Entries: []payments.Entry{charge("ch_big", "acct", math.MaxInt64)}})
	require.NoError(t, err)
	_, err = s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(),
		Entries: []payments.Entry{charge("ch_more", "acct", 1)}})
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	entries, _, err := s.Entries(ctx, payments.EntryFilter{Account: "acct"})
	require.NoError(t, err)
	assert.Len(t, entries, 1, "the overflowing entry is not recorded")
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64), b.Money.Amount)
}

func TestClosedStoreFails(t *testing.T) {
	s := openStore(t)
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "Close twice")
	ctx := context.Background()
	assert.Error(t, s.Ping(ctx))
	_, err := s.Commit(ctx, &payments.Batch{Gateway: "fake", Now: time.Now(), Entries: []payments.Entry{charge("ch_1", "a", 1)}})
	assert.Error(t, err)
	_, err = s.Payment(ctx, "pay_1")
	assert.Error(t, err)
}

// TestTwoStoresOnOneFileClaimEachTaskOnce stands in for two processes
// sharing the file: their writers contend for SQLite's lock, and no task
// may be leased to both.
func TestTwoStoresOnOneFileClaimEachTaskOnce(t *testing.T) {
	const tasks = 300
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "shared.db")
	var stores []*sqlite.Store
	for range 2 {
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		stores = append(stores, s)
	}
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range tasks {
		_, err := stores[i%2].Commit(ctx, &payments.Batch{Gateway: "fake", Now: now,
			Entries: []payments.Entry{charge(fmt.Sprintf("ch_%d", i), "acct", 10)}})
		require.NoError(t, err)
	}

	claimed := make([][]string, len(stores))
	var wg sync.WaitGroup
	for i, s := range stores {
		wg.Go(func() {
			owner := fmt.Sprintf("proc_%d", i)
			for {
				got, err := s.ClaimSync(ctx, payments.SyncClaim{Owner: owner, Now: now, Lease: time.Hour, Limit: 5})
				if !assert.NoError(t, err) || len(got) == 0 {
					return
				}
				for _, task := range got {
					claimed[i] = append(claimed[i], task.Entry.ID)
				}
			}
		})
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, ids := range claimed {
		for _, id := range ids {
			assert.False(t, seen[id], "task %s claimed twice", id)
			seen[id] = true
		}
	}
	assert.Len(t, seen, tasks)
}

// TestPruneOldestFirst journals rows out of the order they were received
// in, as slow requests do, and prunes one at a time: the oldest received
// goes first, so that a host pruning in steps keeps the newest.
func TestPruneOldestFirst(t *testing.T) {
	s := openStore(t)
	ctx := context.Background()
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, minute := range []int{3, 1, 2} {
		require.NoError(t, s.AppendNotification(ctx, &payments.Notification{ID: fmt.Sprint("ntf_", minute), Gateway: "fake",
			ReceivedAt: now.Add(time.Duration(minute) * time.Minute), Outcome: payments.OutcomeRejected}))
	}
	for _, gone := range []string{"ntf_1", "ntf_2"} {
		n, err := s.PruneNotifications(ctx, payments.NotificationPrune{Outcome: payments.OutcomeRejected, Before: now.Add(time.Hour), Limit: 1})
		require.NoError(t, err)
		assert.Equal(t, 1, n)
		_, err = s.Notification(ctx, gone)
		assert.ErrorIs(t, err, payments.ErrNotFound, gone)
	}
	_, err := s.Notification(ctx, "ntf_3")
	assert.NoError(t, err)
}
