package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestIngestStatementsNeedNoTemporaryTables compiles every statement a
// webhook's Commit runs and checks that none builds a temporary b-tree
// each time it runs (OpenEphemeral): a CHECK with an IN list of three
// values did, and cost the writer more than the insert it guarded.
func TestIngestStatementsNeedNoTemporaryTables(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "plan.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()

	now := time.Now()
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_1", URL: "https://merchant.example/", CreatedAt: now}))
	b := testCharge("ch_1", "", 500)
	b.Entries[0].GatewayPaymentID = "pi_1"
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_1", Account: "acct", Status: payments.StatusSucceeded,
		Amount: payments.Money{Amount: 500, Currency: "USD"}}}
	b.Notification = &payments.Notification{ID: "ntf_1", Gateway: "fake", ReceivedAt: now, Verified: true, Body: []byte(`{}`)}
	b.SyncOwner, b.SyncLeaseUntil = "svc", now.Add(time.Minute)
	b.Postbacks = true // the fan-out is part of the ingest path too
	res, err := s.Commit(ctx, b)
	require.NoError(t, err)
	require.Len(t, res.Entries, 1)
	require.Len(t, res.Created, 1)

	// A connection of its own, with the writer's settings: foreign key
	// checks are part of each insert's program.
	db, err := sql.Open("sqlite", path+"?"+writerParams(time.Second))
	require.NoError(t, err)
	defer db.Close()
	s.writer.stmts.mu.Lock()
	var templates []string
	for tpl := range s.writer.stmts.stmts {
		templates = append(templates, tpl)
	}
	s.writer.stmts.mu.Unlock()
	require.GreaterOrEqual(t, len(templates), 8, "payment, entry, balance, sync task, journal, endpoints, message, delivery")
	for _, tpl := range templates {
		if !strings.HasPrefix(strings.TrimSpace(tpl), "INSERT") && !strings.HasPrefix(strings.TrimSpace(tpl), "SELECT") {
			continue
		}
		rows, err := db.QueryContext(ctx, "EXPLAIN "+strings.ReplaceAll(tpl, "{{p}}", DefaultTablePrefix), placeholders(tpl)...)
		require.NoError(t, err, tpl)
		for rows.Next() {
			var addr, p1, p2, p3 int
			var op string
			var p4, p5, comment any
			require.NoError(t, rows.Scan(&addr, &op, &p1, &p2, &p3, &p4, &p5, &comment))
			assert.NotEqual(t, "OpenEphemeral", op, "%s builds a temporary b-tree at step %d", tpl, addr)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
}

// placeholders gives a template's parameters a value each, for EXPLAIN.
func placeholders(tpl string) []any {
	args := make([]any, strings.Count(tpl, "?"))
	for i := range args {
		args[i] = 1
	}
	return args
}

// TestListingsNeedNoSort runs every listing, with and without a cursor and
// under each filter, and checks that SQLite reads each in the order of an
// index instead of sorting the rows it selects: a page must cost its rows,
// not the table's. A filter on a payment must use the index by payment, and
// the listing of entries that wait for a rate the index of those alone.
func TestListingsNeedNoSort(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "listings.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	for i := range 3 {
		b := testCharge(fmt.Sprint("ch_", i), "acct", 100)
		b.Notification = &payments.Notification{ID: fmt.Sprint("ntf_", i), Gateway: "fake", ReceivedAt: b.Now}
		if i == 1 {
			b.Entries[0].Settlement = &payments.Conversion{Money: payments.Money{Currency: "EUR"}}
		}
		_, err := s.Commit(ctx, b)
		require.NoError(t, err)
	}

	for _, f := range []payments.EntryFilter{{}, {Account: "acct"}, {PaymentID: "pay_1"}, {Gateway: "fake"},
		{Unsettled: true}, {Unsettled: true, Gateway: "fake"}} {
		_, next, err := s.Entries(ctx, payments.EntryFilter{Limit: 1})
		require.NoError(t, err)
		f.Limit = 1
		for _, after := range []string{"", next} {
			f.After = after
			_, _, err = s.Entries(ctx, f)
			require.NoError(t, err)
		}
	}
	for _, f := range []payments.NotificationFilter{{}, {Gateway: "fake"}, {Outcome: payments.OutcomeRecorded},
		{Outcome: payments.OutcomeParked, Unresolved: true}} {
		_, next, err := s.Notifications(ctx, payments.NotificationFilter{Limit: 1})
		require.NoError(t, err)
		f.Limit = 1
		for _, after := range []string{"", next} {
			f.After = after
			_, _, err = s.Notifications(ctx, f)
			require.NoError(t, err)
		}
	}
	for _, state := range []payments.SyncState{"", payments.SyncPending, payments.SyncParked} {
		_, next, err := s.SyncTasks(ctx, payments.SyncFilter{Limit: 1})
		require.NoError(t, err)
		for _, after := range []string{"", next} {
			_, _, err = s.SyncTasks(ctx, payments.SyncFilter{State: state, Limit: 1, After: after})
			require.NoError(t, err)
		}
	}

	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_1", URL: "https://merchant.example/"}))
	for _, f := range []payments.DeliveryFilter{{}, {EndpointID: "ep_1"}, {State: payments.DeliveryPending},
		{State: payments.DeliveryFailed}, {State: payments.DeliveryDelivered}, {EndpointID: "ep_1", State: payments.DeliveryFailed}} {
		_, next, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 1})
		require.NoError(t, err)
		f.Limit = 1
		for _, after := range []string{"", next} {
			f.After = after
			_, _, err = s.Deliveries(ctx, f)
			require.NoError(t, err)
		}
	}
	_, err = s.Endpoints(ctx)
	require.NoError(t, err)
	_, err = s.Attempts(ctx, "msg_1", "ep_1")
	require.NoError(t, err)

	s.reads.mu.Lock()
	var templates []string
	for tpl := range s.reads.stmts {
		templates = append(templates, tpl)
	}
	s.reads.mu.Unlock()
	listings := 0
	for _, tpl := range templates {
		if !strings.Contains(tpl, "ORDER BY") {
			continue
		}
		listings++
		query := strings.ReplaceAll(tpl, "{{p}}", DefaultTablePrefix)
		rows, err := s.reader.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, placeholders(tpl)...)
		require.NoError(t, err, tpl)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		assert.NotContains(t, strings.Join(plan, "\n"), "TEMP B-TREE", "%s\n%s", query, plan)
		if strings.Contains(tpl, "payment_id = ?") {
			assert.Contains(t, strings.Join(plan, "\n"), "entries_payment", "%s\n%s", query, plan)
		}
		if strings.Contains(tpl, pendingConversion) {
			assert.Contains(t, strings.Join(plan, "\n"), "entries_unsettled", "%s\n%s", query, plan)
		}
		for _, state := range []string{"pending", "failed"} {
			if strings.Contains(tpl, "d.state = '"+state+"'") && !strings.Contains(tpl, "endpoint_id = ?") {
				assert.Contains(t, strings.Join(plan, "\n"), "postback_deliveries_"+state, "%s\n%s", query, plan)
			}
		}
	}
	assert.GreaterOrEqual(t, listings, 31,
		"entries and journal with and without a cursor, sync tasks by state, deliveries by filter, endpoints, attempts")
}

// TestPruneUsesAnIndex prunes each outcome and checks that SQLite finds
// the rows to delete through an index, oldest first, without sorting:
// recorded and duplicate rows through the index by received_at, the others
// through the partial index by outcome. A scan of the journal would hold
// the write lock for as long as the journal is big.
func TestPruneUsesAnIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "prune.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()
	outcomes := map[payments.Outcome]string{
		payments.OutcomeRecorded: "notifications_received", payments.OutcomeDuplicate: "notifications_received",
		payments.OutcomeIgnored: "notifications_outcome", payments.OutcomeRejected: "notifications_outcome",
		payments.OutcomeParked: "notifications_outcome", payments.OutcomeFailed: "notifications_outcome",
	}
	want := map[string]string{} // template → index
	for outcome, index := range outcomes {
		_, err := s.PruneNotifications(ctx, payments.NotificationPrune{Outcome: outcome, Before: time.Now()})
		require.NoError(t, err)
		s.writer.stmts.mu.Lock()
		for tpl := range s.writer.stmts.stmts {
			if strings.HasPrefix(strings.TrimSpace(tpl), "DELETE") && want[tpl] == "" {
				want[tpl] = index
			}
		}
		s.writer.stmts.mu.Unlock()
	}
	require.Len(t, want, 3, "recorded or duplicate; parked or failed; the other outcomes")

	db, err := sql.Open("sqlite", path+"?"+writerParams(time.Second))
	require.NoError(t, err)
	defer db.Close()
	for tpl, index := range want {
		query := strings.ReplaceAll(tpl, "{{p}}", DefaultTablePrefix)
		rows, err := db.QueryContext(ctx, "EXPLAIN QUERY PLAN "+query, placeholders(tpl)...)
		require.NoError(t, err, tpl)
		var plan []string
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan = append(plan, detail)
		}
		require.NoError(t, rows.Err())
		rows.Close()
		joined := strings.Join(plan, "\n")
		assert.Contains(t, joined, index, "%s\n%s", query, joined)
		assert.NotContains(t, joined, "TEMP B-TREE", "%s\n%s", query, joined)
		assert.NotContains(t, plan, "SCAN "+DefaultTablePrefix+"notifications", "a scan of the whole journal")
	}
}

// countingQuerier counts the statements a write runs.
type countingQuerier struct {
	querier
	statements *[]string
}

func (c countingQuerier) exec(ctx context.Context, tpl string, args ...any) (sql.Result, error) {
	*c.statements = append(*c.statements, strings.Fields(tpl)[0])
	return c.querier.exec(ctx, tpl, args...)
}

func (c countingQuerier) query(ctx context.Context, tpl string, args ...any) (*sql.Rows, error) {
	*c.statements = append(*c.statements, strings.Fields(tpl)[0])
	return c.querier.query(ctx, tpl, args...)
}

func (c countingQuerier) queryRow(ctx context.Context, tpl string, args ...any) scanner {
	*c.statements = append(*c.statements, strings.Fields(tpl)[0])
	return c.querier.queryRow(ctx, tpl, args...)
}

// TestIngestStatements counts what a webhook's Commit costs the writer:
// a new payment with its charge is one look-up and four writes (the sync
// task is written with the entry); its
// redelivery reads the payment and the entry, writes nothing but the
// journal row, and leaves the unchanged payment alone.
func TestIngestStatements(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "count.db"), Options{})
	require.NoError(t, err)
	defer s.Close()

	delivery := func(id string) *payments.Batch {
		b := testCharge("ch_1", "", 500)
		b.Entries[0].GatewayPaymentID = "pi_1"
		b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_1", Account: "acct", Status: payments.StatusSucceeded,
			Amount: payments.Money{Amount: 500, Currency: "USD"}}}
		b.Notification = &payments.Notification{ID: id, Gateway: "fake", ReceivedAt: b.Now, Verified: true}
		return b
	}
	commit := func(b *payments.Batch) (*payments.BatchResult, []string) {
		var statements []string
		var res *payments.BatchResult
		err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
			statements, res = nil, nil
			q := countingQuerier{tx, &statements}
			plan, err := b.Plan(ctx, lookup{s: s, q: q})
			if err != nil {
				return err
			}
			if err := s.persist(ctx, q, b, plan, nil); err != nil {
				return err
			}
			res = &plan.Result
			return nil
		})
		require.NoError(t, err)
		return res, statements
	}

	res, statements := commit(delivery("ntf_1"))
	require.Len(t, res.Created, 1)
	require.Len(t, res.Entries, 1)
	assert.Equal(t, []string{"SELECT", "INSERT", "INSERT", "INSERT", "INSERT"}, statements,
		"payment look-up; payment, entry with its sync task, balance, journal")

	res, statements = commit(delivery("ntf_2"))
	require.Len(t, res.Duplicates, 1)
	assert.Equal(t, payments.OutcomeDuplicate, res.Outcome)
	assert.Equal(t, []string{"SELECT", "INSERT", "SELECT", "INSERT"}, statements,
		"payment look-up; entry (taken), the stored entry, journal")
}
