package postgres_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// TestListingsUseIndexes fills the ledger, the journal and the outbox with
// enough rows that reading a whole table is the worst plan, and checks
// that every listing, planned as the Store's prepared statements are (a
// generic plan, blind to its parameters' values), reads an index instead;
// and, but for the listing of pending tasks, reads it in the listing's
// order rather than sorting. A listing whose filter has no index of its own
// reads the listing's ordered index and skips what does not match. A page
// after the first starts its index scan at its cursor, so that reading page
// n does not cost reading the n-1 pages before it. Pruning the journal
// reads an index as a listing does.
func TestListingsUseIndexes(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	s := openStore(t, dsn, schema)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	table := func(name string) string { return pgx.Identifier{schema, "payments_" + name}.Sanitize() }
	// A hundred entries per account, and a payment's two: a listing of an
	// account's entries, or of its next page, should read them in index
	// order, whereas sorting a payment's is as good.
	const rows = 50000
	for _, fill := range []string{
		`INSERT INTO ` + table("entries") + ` (id, gateway, kind, gateway_ref, payment_id, account, amount, currency, occurred_at, recorded_at)
		SELECT 'ent_' || md5(i::text), (ARRAY['stripe', 'paypal', 'payeer', 'anypay', 'appstore'])[i % 5 + 1], 'charge', 'ch_' || i,
			CASE WHEN i % 10 = 0 THEN '' ELSE 'pay_' || (i / 2) END, 'acct-' || (i % 500), 100, 'USD',
			now() - (` + strconv.Itoa(rows) + ` - i) * interval '1 second', now() - (` + strconv.Itoa(rows) + ` - i) * interval '1 second'
		FROM generate_series(1, ` + strconv.Itoa(rows) + `) AS i`,
		`INSERT INTO ` + table("notifications") + ` (id, gateway, received_at, verified, outcome)
		SELECT 'ntf_' || lpad(to_hex(i), 12, '0'), (ARRAY['stripe', 'paypal', 'payeer', 'anypay', 'appstore'])[i % 5 + 1],
			now() - (` + strconv.Itoa(rows) + ` - i) * interval '1 second', true,
			CASE WHEN i % 100 = 0 THEN 'rejected' WHEN i % 97 = 0 THEN 'parked' WHEN i % 7 = 0 THEN 'duplicate' ELSE 'recorded' END
		FROM generate_series(1, ` + strconv.Itoa(rows) + `) AS i`,
		`INSERT INTO ` + table("sync") + ` (entry_id, state, next_attempt)
		SELECT id, CASE WHEN n % 1000 = 0 THEN 'parked' WHEN n > ` + strconv.Itoa(rows-100) + ` THEN 'pending' ELSE 'done' END, recorded_at
		FROM (SELECT id, recorded_at, row_number() OVER (ORDER BY recorded_at) AS n FROM ` + table("entries") + `) AS e`,
		`ANALYZE ` + table("entries") + `, ` + table("notifications") + `, ` + table("sync"),
	} {
		_, err := conn.Exec(ctx, fill)
		require.NoError(t, err, fill)
	}

	type listing struct {
		name  string
		query string
		args  []any
		index string // the index the listing reads
		// sorted allows the plan to sort what it read from index: the
		// rows a payment's entries or a claim, a handful.
		sorted bool
		// cursor is the condition of a page after the first, which the
		// index scan must start at rather than filter rows by.
		cursor string
	}
	// Cursors in the middle of each listing, as the Store issues them.
	middle := time.Now().Add(-rows / 2 * time.Second)
	entryCursor := cursor.Encode(cursor.Key{At: middle, ID: "ent_" + strings.Repeat("8", 32)})
	notificationCursor := cursor.Encode(cursor.Key{At: middle, ID: strconv.Itoa(rows / 2)})
	taskCursor := cursor.EncodeSeq(rows / 2)

	var listings []listing
	for _, c := range []struct {
		f     payments.EntryFilter
		index string
	}{
		{payments.EntryFilter{}, "entries_recorded_idx"},
		{payments.EntryFilter{Account: "acct-7"}, "entries_account_idx"},
		{payments.EntryFilter{PaymentID: "pay_7"}, "entries_payment_idx"},
		{payments.EntryFilter{Gateway: "paypal"}, "entries_recorded_idx"},
		{payments.EntryFilter{Account: "acct-7", Gateway: "paypal"}, "entries_account_idx"},
		{payments.EntryFilter{Account: "acct-7", PaymentID: "pay_7", Gateway: "paypal"}, "entries_payment_idx"},
	} {
		for _, after := range []string{"", entryCursor} {
			c.f.After = after
			q, args := s.EntriesSQL(c.f)
			l := listing{name: fmt.Sprintf("Entries %+v", c.f), query: q, args: args, index: c.index, sorted: c.f.PaymentID != ""}
			if after != "" {
				l.cursor = "recorded_at, id) > ROW("
			}
			listings = append(listings, l)
		}
	}
	for _, c := range []struct {
		f     payments.NotificationFilter
		index string
	}{
		{payments.NotificationFilter{}, "notifications_received_idx"},
		{payments.NotificationFilter{Gateway: "paypal"}, "notifications_received_idx"},
		{payments.NotificationFilter{Outcome: payments.OutcomeRecorded}, "notifications_received_idx"},
		{payments.NotificationFilter{Outcome: payments.OutcomeDuplicate}, "notifications_received_idx"},
		{payments.NotificationFilter{Outcome: payments.OutcomeRejected}, "notifications_outcome_idx"},
		{payments.NotificationFilter{Gateway: "paypal", Outcome: payments.OutcomeParked}, "notifications_outcome_idx"},
		{payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true}, "notifications_outcome_idx"},
		{payments.NotificationFilter{Unresolved: true}, "notifications_received_idx"},
	} {
		for _, after := range []string{"", notificationCursor} {
			c.f.After = after
			q, args := s.NotificationsSQL(c.f)
			l := listing{name: fmt.Sprintf("Notifications %+v", c.f), query: q, args: args, index: c.index}
			if after != "" {
				l.cursor = "received_at, seq) < ROW("
			}
			listings = append(listings, l)
		}
	}
	for st, index := range map[payments.SyncState]string{
		"": "sync_pkey", payments.SyncDone: "sync_pkey",
		payments.SyncPending: "sync_pending_idx", payments.SyncParked: "sync_parked_idx",
	} {
		for _, after := range []string{"", taskCursor} {
			q, args := s.SyncTasksSQL(payments.SyncFilter{State: st, After: after})
			l := listing{name: fmt.Sprintf("SyncTasks %q after %q", st, after), query: q, args: args, index: index}
			if after != "" {
				l.cursor = "(seq > $"
			}
			listings = append(listings, l)
		}
	}
	listings = append(listings, listing{name: "ClaimSync", query: s.ClaimSyncSQL(),
		args: []any{"svc", "2030-01-01T00:00:00Z", "2030-01-01T00:01:00Z", 100}, index: "sync_due_idx", sorted: true})
	// Open tasks are found by entry id in the index that holds only them,
	// never by a scan of an outbox as large as the ledger.
	listings = append(listings,
		listing{name: "SettleSync", query: s.SettleSyncSQL(),
			args: []any{"ent_1", "svc", "done", 1, "2030-01-01T00:00:00Z", ""}, index: "sync_open_idx"},
		listing{name: "RequeueSync", query: s.RequeueSyncSQL(), args: []any{"ent_1", "2030-01-01T00:00:00Z"}, index: "sync_open_idx"},
		listing{name: "task state", query: s.TaskStateSQL(), args: []any{"ent_1"}, index: "sync_open_idx"})

	// Pruning the journal reads the index a listing of the outcome reads,
	// oldest rows first, and deletes what it found by primary key.
	for outcome, index := range map[payments.Outcome]string{
		payments.OutcomeRecorded: "notifications_received_idx", payments.OutcomeDuplicate: "notifications_received_idx",
		payments.OutcomeRejected: "notifications_outcome_idx", payments.OutcomeIgnored: "notifications_outcome_idx",
		payments.OutcomeParked: "notifications_outcome_idx", payments.OutcomeFailed: "notifications_outcome_idx",
	} {
		q, args := s.PruneNotificationsSQL(payments.NotificationPrune{Outcome: outcome, Before: middle})
		name := fmt.Sprintf("PruneNotifications %s", outcome)
		listings = append(listings, listing{name: name, query: q, args: args, index: index})
		assert.Contains(t, genericPlan(t, conn, q, args), " payments_notifications_pkey ", "%s does not delete by primary key", name)
	}

	for _, l := range listings {
		plan := genericPlan(t, conn, l.query, l.args)
		t.Logf("%s:\n%s", l.name, plan)
		assert.Contains(t, plan, " payments_"+l.index+" ", "%s does not read %s:\n%s", l.name, l.index, plan)
		assert.NotContains(t, plan, "Seq Scan", "%s reads a whole table:\n%s", l.name, plan)
		if !l.sorted {
			assert.NotContains(t, plan, "Sort", "%s sorts instead of reading an index in order:\n%s", l.name, plan)
		}
		if l.cursor != "" {
			assert.Regexp(t, `Index Cond: .*`+regexp.QuoteMeta(l.cursor), plan, "%s does not start its scan at the cursor:\n%s", l.name, plan)
		}
	}
}

// genericPlan returns the plan PostgreSQL makes for query as a prepared
// statement when it does not plan for the values it is given.
func genericPlan(t *testing.T, conn *pgx.Conn, query string, args []any) string {
	t.Helper()
	ctx := t.Context()
	tx, err := conn.Begin(ctx)
	require.NoError(t, err)
	defer tx.Rollback(ctx) //nolint:errcheck // read only
	_, err = tx.Exec(ctx, "SET LOCAL plan_cache_mode = force_generic_plan")
	require.NoError(t, err)
	_, err = tx.Exec(ctx, "PREPARE listing AS "+query)
	require.NoError(t, err, query)
	// A prepared statement outlives the transaction.
	defer tx.Exec(ctx, "DEALLOCATE listing") //nolint:errcheck // the transaction's end reports a failure
	literals := make([]string, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case int:
			literals[i] = strconv.Itoa(v)
		case int64:
			literals[i] = strconv.FormatInt(v, 10)
		case time.Time:
			literals[i] = "'" + v.Format(time.RFC3339Nano) + "'"
		case string:
			literals[i] = "'" + strings.ReplaceAll(v, "'", "''") + "'"
		default:
			t.Fatalf("argument %d of %s: no literal for %T", i, query, a)
		}
	}
	rows, err := tx.Query(ctx, "EXPLAIN EXECUTE listing("+strings.Join(literals, ", ")+")", pgx.QueryExecModeSimpleProtocol)
	require.NoError(t, err)
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	require.NoError(t, err)
	return strings.Join(lines, "\n")
}
