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
	b := testCharge("ch_1", "", 500)
	b.Entries[0].GatewayPaymentID = "pi_1"
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_1", Account: "acct", Status: payments.StatusSucceeded,
		Amount: payments.Money{Amount: 500, Currency: "USD"}}}
	b.Notification = &payments.Notification{ID: "ntf_1", Gateway: "fake", ReceivedAt: now, Verified: true, Body: []byte(`{}`)}
	b.SyncOwner, b.SyncLeaseUntil = "svc", now.Add(time.Minute)
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
	require.GreaterOrEqual(t, len(templates), 5, "payment, entry, balance, sync task and journal")
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
