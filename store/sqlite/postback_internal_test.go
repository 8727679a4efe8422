package sqlite

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// queryPlan returns SQLite's plan of a template, one step a line.
func queryPlan(t *testing.T, db *sql.DB, tpl string) string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), "EXPLAIN QUERY PLAN "+strings.ReplaceAll(tpl, "{{p}}", DefaultTablePrefix),
		placeholders(tpl)...)
	require.NoError(t, err, tpl)
	defer rows.Close()
	var plan []string
	for rows.Next() {
		var id, parent, unused int
		var detail string
		require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
		plan = append(plan, detail)
	}
	require.NoError(t, rows.Err())
	return strings.Join(plan, "\n")
}

// TestClaimsUseAnIndex runs the claims of postbacks and holds, and the
// look-up of failing endpoints that every delivery pass makes, and checks
// that each reads the partial index of the rows it may take, in its order:
// delivered deliveries and handled or captured payments pile up, and a
// claim that scanned them would hold the write lock for as long as they are
// many.
func TestClaimsUseAnIndex(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "claims.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()
	now := time.Now()
	_, err = s.ClaimDeliveries(ctx, payments.DeliveryClaim{Owner: "a", Now: now, Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	_, err = s.ClaimHolds(ctx, payments.HoldClaim{Owner: "a", Now: now, Before: now.Add(time.Hour), Lease: time.Minute, Limit: 10})
	require.NoError(t, err)
	_, err = s.FailingSince(ctx)
	require.NoError(t, err)

	want := map[string]string{ // a template's words → the index its plan must use
		"UPDATE {{p}}postback_deliveries SET lease_owner": "USING INDEX " + DefaultTablePrefix + "postback_deliveries_pending",
		"UPDATE {{p}}payments SET hold_owner":             "USING INDEX " + DefaultTablePrefix + "payments_holds",
		"MIN(m.created_at)":                               "USING INDEX " + DefaultTablePrefix + "postback_deliveries_pending",
	}
	found := map[string]string{}
	for _, c := range []*stmtCache{s.writer.stmts, s.reads} {
		c.mu.Lock()
		for tpl := range c.stmts {
			for words := range want {
				if strings.Contains(tpl, words) {
					found[words] = tpl
				}
			}
		}
		c.mu.Unlock()
	}
	require.Len(t, found, len(want))
	db, err := sql.Open("sqlite", path+"?"+writerParams(time.Second))
	require.NoError(t, err)
	defer db.Close()
	for words, tpl := range found {
		plan := queryPlan(t, db, tpl)
		assert.Contains(t, plan, want[words], "%s\n%s", tpl, plan)
		assert.NotContains(t, plan, "TEMP B-TREE FOR ORDER BY", "%s\n%s", tpl, plan)
		// SQLite names a table by its alias in a plan: the queries call
		// the deliveries d.
		for _, scan := range []string{"SCAN " + DefaultTablePrefix + "postback_deliveries", "SCAN d", "SCAN " + DefaultTablePrefix + "payments"} {
			assert.NotContains(t, strings.Split(plan, "\n"), scan, "a scan of the whole table")
		}
	}
}

// TestPostbackStatements counts what postbacks add to a webhook's Commit:
// nothing when the batch has them off; with them on, one look-up of the
// endpoints, and then each message an endpoint wants and one statement for
// the deliveries of them all, however many endpoints want them, and nothing
// for a message no endpoint wants.
func TestPostbackStatements(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "count.db"), Options{})
	require.NoError(t, err)
	defer s.Close()

	commitBatch := func(b *payments.Batch) []string {
		var statements []string
		err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
			statements = nil
			q := countingQuerier{tx, &statements}
			plan, err := b.Plan(ctx, lookup{s: s, q: q})
			if err != nil {
				return err
			}
			return s.persist(ctx, q, b, plan, nil)
		})
		require.NoError(t, err)
		return statements
	}
	commit := func(ref string, postbacks bool) []string {
		b := testCharge(ref, "acct", 500)
		b.Postbacks = postbacks
		return commitBatch(b)
	}
	ledger := []string{"INSERT", "INSERT"} // entry with its sync task, balance

	assert.Equal(t, ledger, commit("ch_1", false), "postbacks off")
	assert.Equal(t, append(ledger, "SELECT"), commit("ch_2", true), "no endpoint: nothing queued")

	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_entries", URL: "https://merchant.example/",
		Events: []payments.EventType{payments.EventEntryRecorded}}))
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_off", URL: "https://merchant.example/off",
		DisabledAt: time.Now(), DisabledReason: "host"}))
	assert.Equal(t, ledger, commit("ch_3", false), "postbacks off, whatever the endpoints")
	assert.Equal(t, append(ledger, "SELECT", "INSERT", "INSERT"), commit("ch_4", true),
		"the endpoints; the entry's message and its one delivery")

	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_all", URL: "https://merchant.example/all"}))
	assert.Equal(t, append(ledger, "SELECT", "INSERT", "INSERT"), commit("ch_5", true),
		"one message, its deliveries to both endpoints in one statement")
	list, _, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 3, "ch_4's to ep_entries, ch_5's to both")
	assert.Equal(t, []string{"ep_entries", "ep_entries", "ep_all"},
		[]string{list[0].EndpointID, list[1].EndpointID, list[2].EndpointID}, "in endpoint order")
	for _, d := range list {
		assert.Equal(t, payments.DeliveryPending, d.State)
		assert.True(t, d.NextAttempt.Equal(d.Message.CreatedAt), "due when its message was made")
	}
	assert.Equal(t, list[1].Message.ID, list[2].Message.ID)

	two := func(a, b string, postbacks bool) *payments.Batch {
		batch := testCharge(a, "acct", 500)
		batch.Entries = append(batch.Entries, testCharge(b, "acct", 500).Entries...)
		batch.Postbacks = postbacks
		return batch
	}
	ledger = commitBatch(two("ch_6", "ch_7", false))
	assert.Equal(t, append(ledger, "SELECT", "INSERT", "INSERT", "INSERT"), commitBatch(two("ch_8", "ch_9", true)),
		"two messages, and their four deliveries in one statement")
	list, _, err = s.Deliveries(ctx, payments.DeliveryFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 7)
	queued := list[3:]
	assert.Equal(t, []string{"ep_entries", "ep_all", "ep_entries", "ep_all"},
		[]string{queued[0].EndpointID, queued[1].EndpointID, queued[2].EndpointID, queued[3].EndpointID},
		"in message order, then endpoint order")
	assert.Equal(t, queued[0].Message.ID, queued[1].Message.ID)
	assert.Equal(t, queued[2].Message.ID, queued[3].Message.ID)
	assert.NotEqual(t, queued[0].Message.ID, queued[2].Message.ID)
}

// TestPostbackToAnIDThatIsNotUTF8 queues a delivery to an endpoint whose
// id is bytes that are not UTF-8: the id is stored as given, and the batch
// that fans out to it commits.
func TestPostbackToAnIDThatIsNotUTF8(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "bytes.db"), Options{})
	require.NoError(t, err)
	defer s.Close()
	id := "ep\xff\xfe"
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: id, URL: "https://merchant.example/"}))
	b := testCharge("ch_1", "acct", 500)
	b.Postbacks = true
	_, err = s.Commit(ctx, b)
	require.NoError(t, err)
	list, _, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 10})
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, id, list[0].EndpointID)
}
