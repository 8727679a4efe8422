package postgres_test

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// TestPostbackQueriesUseIndexes fills the postback tables and the payments
// with enough rows that reading a whole table is the worst plan, nearly
// every delivery delivered and nearly every payment captured, as they are
// in a live database, over many endpoints (with a few, reading an
// endpoint's deliveries through the seq index is the better plan), and checks that the claims, FailingSince and the
// listings of deliveries, planned generically as prepared statements are,
// read the indexes of migration 0006.
func TestPostbackQueriesUseIndexes(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	s := openStore(t, dsn, schema)
	t.Cleanup(func() { _ = s.Close() })
	ctx := t.Context()
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(ctx)

	table := func(name string) string { return pgx.Identifier{schema, "payments_" + name}.Sanitize() }
	const rows = 50000
	n := strconv.Itoa(rows)
	for _, fill := range []string{
		`INSERT INTO ` + table("postback_endpoints") + ` (id, url, secrets, events, created_at)
		SELECT 'ep_' || i, 'https://merchant.example/', ARRAY['whsec_x'], ARRAY[]::text[], now() FROM generate_series(1, 500) AS i`,
		`INSERT INTO ` + table("postback_messages") + ` (id, event_type, payment_id, body, created_at)
		SELECT 'msg_' || lpad(i::text, 8, '0'), 'entry.recorded', 'pay_' || i, '\x7b7d'::bytea, now() - (` + n + ` - i) * interval '1 second'
		FROM generate_series(1, ` + n + `) AS i`,
		`INSERT INTO ` + table("postback_deliveries") + ` (message_id, endpoint_id, state, attempts, next_attempt, created_at)
		SELECT 'msg_' || lpad(i::text, 8, '0'), 'ep_' || (i % 500 + 1),
			CASE WHEN i > ` + n + ` - 100 THEN 'pending' WHEN i % 1000 = 0 THEN 'failed' ELSE 'delivered' END,
			CASE WHEN i % 2 = 0 THEN 1 ELSE 0 END,
			now() - (` + n + ` - i) * interval '1 second', now() - (` + n + ` - i) * interval '1 second'
		FROM generate_series(1, ` + n + `) AS i`,
		`INSERT INTO ` + table("payments") + ` (id, gateway, gateway_id, status, capture_before, created_at, updated_at)
		SELECT 'pay_' || i, 'stripe', 'pi_' || i, CASE WHEN i % 100 = 0 THEN 'authorized' ELSE 'succeeded' END,
			CASE WHEN i % 100 = 0 THEN now() + i * interval '1 second' END, now(), now()
		FROM generate_series(1, ` + n + `) AS i`,
		`ANALYZE ` + table("postback_endpoints") + `, ` + table("postback_messages") + `, ` + table("postback_deliveries") + `, ` + table("payments"),
	} {
		_, err := conn.Exec(ctx, fill)
		require.NoError(t, err, fill)
	}

	seqCursor := cursor.EncodeSeq(rows / 2)
	for _, c := range []struct {
		f     payments.DeliveryFilter
		index string
	}{
		{payments.DeliveryFilter{}, "postback_deliveries_seq_key"},
		{payments.DeliveryFilter{State: payments.DeliveryDelivered}, "postback_deliveries_seq_key"},
		{payments.DeliveryFilter{State: payments.DeliveryPending}, "postback_deliveries_pending_idx"},
		{payments.DeliveryFilter{State: payments.DeliveryFailed}, "postback_deliveries_failed_idx"},
		{payments.DeliveryFilter{EndpointID: "ep_7"}, "postback_deliveries_endpoint_idx"},
	} {
		for _, after := range []string{"", seqCursor} {
			c.f.After = after
			q, args := s.DeliveriesSQL(c.f)
			name := fmt.Sprintf("Deliveries %+v", c.f)
			plan := genericPlan(t, conn, q, args)
			assert.Contains(t, plan, " payments_"+c.index+" ", "%s does not read %s:\n%s", name, c.index, plan)
			assert.NotContains(t, plan, "Seq Scan", "%s reads a whole table:\n%s", name, plan)
			assert.NotContains(t, plan, "Sort", "%s sorts instead of reading an index in order:\n%s", name, plan)
			if after != "" {
				assert.Regexp(t, `Index Cond: .*`+regexp.QuoteMeta("seq > $"), plan, "%s does not start its scan at the cursor:\n%s", name, plan)
			}
		}
	}

	// The claims may sort what they leased, a page at most; the endpoints
	// may be read whole, as FailingSince probes each.
	for _, c := range []struct {
		name, query string
		args        []any
		index       string
		table       string // that no Seq Scan may read
	}{
		{"ClaimDeliveries", s.ClaimDeliveriesSQL(), []any{"svc", "2030-01-01T00:00:00Z", "2030-01-01T00:01:00Z", 100},
			"postback_deliveries_due_idx", "payments_postback_deliveries"},
		{"FailingSince", s.FailingSinceSQL(), nil, "postback_deliveries_failing_idx", "payments_postback_deliveries"},
		// A batch's deliveries are found by their keys, however many have
		// been delivered before.
		{"SettleDeliveries", s.SettleDeliveriesSQL(), []any{"{msg_00049950,msg_00049951}", "{ep_451,ep_452}", "{a,a}",
			"{delivered,pending}", "{1,1}", "{2030-01-01T00:00:00Z,2030-01-01T00:01:00Z}", "{204,500}", `{"",""}`,
			"{2030-01-01T00:00:00Z,2030-01-01T00:00:00Z}", "{1000,1000}", `{"\\x",""}`},
			"postback_deliveries_pkey", "payments_postback_deliveries"},
		{"ClaimHolds", s.ClaimHoldsSQL(), []any{"svc", "2000-01-01T00:00:00Z", "2100-01-01T00:00:00Z", "2000-01-01T00:05:00Z", 100},
			"payments_hold_idx", "payments_payments"},
	} {
		var plan string
		if len(c.args) == 0 { // no parameter to plan blind to
			rows, err := conn.Query(ctx, "EXPLAIN "+c.query)
			require.NoError(t, err)
			lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
			require.NoError(t, err)
			plan = strings.Join(lines, "\n")
		} else {
			plan = genericPlan(t, conn, c.query, c.args)
		}
		t.Logf("%s:\n%s", c.name, plan)
		assert.Contains(t, plan, " payments_"+c.index+" ", "%s does not read %s:\n%s", c.name, c.index, plan)
		assert.NotRegexp(t, `Seq Scan on `+regexp.QuoteMeta(c.table)+` `, plan, "%s reads a whole table:\n%s", c.name, plan)
	}
}
