package main

import (
	"context"
	"database/sql"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/webhook"
)

// A prefilled store holds cfg.prefill journaled notifications, each with
// its payment, its entry and its done sync task, over 1000 accounts'
// balances, as a store that has ingested that many webhooks holds them.
// Building one through the Service would take hours at 10 million, so one
// real webhook is ingested and its rows are then copied N times by bulk
// SQL in the store's own tables, the columns that must differ (ids, keys,
// accounts, times) rewritten, every other column copied: the copy follows
// whatever schema the store's migrations made. SQLite files and PostgreSQL
// schemas are kept between runs, named by the number of rows and of
// migrations; the runs add their own rows to them.

const prefillChunk = 500_000

// openPrefilled opens the store of the named kind with cfg.prefill rows;
// a store without prefill is a fresh, empty one.
func openPrefilled(ctx context.Context, name string, cfg serverConfig) (payments.Store, string, func(), error) {
	if cfg.prefill == 0 {
		return openStore(ctx, name)
	}
	n := cfg.prefill
	switch name {
	case "memory":
		s := memory.New()
		if err := prefillMemory(ctx, s, n); err != nil {
			return nil, "", nil, err
		}
		return s, "memory store", func() { _ = s.Close() }, nil
	case "sqlite":
		migrations, err := sqlite.Migrations("")
		if err != nil {
			return nil, "", nil, err
		}
		path := filepath.Join(cfg.cache, fmt.Sprintf("sqlite-v%d-n%d.db", len(migrations), n))
		if _, err := os.Stat(path); err != nil {
			if err := buildSQLite(ctx, path, n); err != nil {
				return nil, "", nil, fmt.Errorf("prefill %s: %w", path, err)
			}
		}
		s, err := sqlite.Open(ctx, path, sqlite.Options{})
		if err != nil {
			return nil, "", nil, err
		}
		return s, sqliteLabel, func() { _ = s.Close() }, nil
	case "postgres":
		dsn := os.Getenv("PAYMENTS_POSTGRES_DSN")
		migrations, err := postgres.Migrations(postgres.Options{})
		if err != nil {
			return nil, "", nil, err
		}
		schema := fmt.Sprintf("ingestbench_v%d_n%d", len(migrations), n)
		if err := buildPostgres(ctx, dsn, schema, n); err != nil {
			return nil, "", nil, fmt.Errorf("prefill %s: %w", schema, err)
		}
		s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			return nil, "", nil, err
		}
		return s, postgresLabel, func() { _ = s.Close() }, nil
	}
	return nil, "", nil, fmt.Errorf("unknown target %q", name)
}

// ingestTemplate records one webhook in store through the Service and
// settles its sync task, as a host's BalanceService would have: the rows
// the bulk copy starts from.
func ingestTemplate(ctx context.Context, store payments.Store) error {
	svc, err := payments.New(store, payments.WithGateway(gatewaytest.NewFake(secret)))
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	ev := gatewaytest.Event{ID: "evt_template", Type: "payment.succeeded", PaymentID: "pi_template",
		Account: "acct-0", Amount: "1.00", Currency: "USD"}
	wr := gatewaytest.NewFake(secret).Request(ev, time.Now())
	req := httptest.NewRequest(http.MethodPost, webhookPath, strings.NewReader(string(wr.Body)))
	req.Header = wr.Header
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		return fmt.Errorf("template webhook answered %d: %s", rec.Code, rec.Body)
	}
	tasks, err := store.ClaimSync(ctx, payments.SyncClaim{Owner: "prefill", Now: time.Now(), Lease: time.Minute, Limit: 10})
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if err := store.SettleSync(ctx, payments.SyncSettlement{EntryID: t.Entry.ID, Owner: "prefill", State: payments.SyncDone}); err != nil {
			return err
		}
	}
	return nil
}

// clone is one bulk copy of a table's template row: every column not in
// set is copied from t, the template.
type clone struct {
	table   string            // qualified table name
	columns []string          // the table's columns, in order
	set     map[string]string // column → expression over t and the source
	skip    map[string]bool   // columns left to their defaults
	from    string            // the source of the copies, joined with t
	where   string            // selects the template row t, and the source's range
}

func (c clone) sql() string {
	var cols, exprs []string
	for _, col := range c.columns {
		if c.skip[col] {
			continue
		}
		cols = append(cols, col)
		if e, ok := c.set[col]; ok {
			exprs = append(exprs, e)
		} else {
			exprs = append(exprs, "t."+col)
		}
	}
	return fmt.Sprintf("INSERT INTO %s (%s) SELECT %s FROM %s AS t, %s WHERE %s",
		c.table, strings.Join(cols, ", "), strings.Join(exprs, ", "), c.table, c.from, c.where)
}

// prefillMemory fills a memory store through its API: it keeps everything
// in maps, so its speed does not depend on how the rows came.
func prefillMemory(ctx context.Context, s payments.Store, n int) error {
	now := time.Now()
	for start := 0; start < n; start += 1000 {
		b := &payments.Batch{Gateway: "fake", Now: now}
		for i := start; i < min(start+1000, n); i++ {
			b.Entries = append(b.Entries, payments.Entry{Kind: payments.KindCharge, GatewayRef: "pf_" + strconv.Itoa(i),
				Account: "acct-" + strconv.Itoa(i%1000), Amount: payments.Money{Amount: 100, Currency: "USD"}})
			if err := s.AppendNotification(ctx, &payments.Notification{ID: "ntf_pf_" + strconv.Itoa(i), Gateway: "fake",
				ReceivedAt: now, Verified: true, Outcome: payments.OutcomeRecorded, Body: []byte(`{"id":"evt"}`)}); err != nil {
				return err
			}
		}
		if _, err := s.Commit(ctx, b); err != nil {
			return err
		}
	}
	return nil
}

// buildSQLite makes the prefilled file at path, building it beside it
// first so that an interrupted build leaves nothing that looks done.
func buildSQLite(ctx context.Context, path string, n int) error {
	began := time.Now()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	tmp := path + ".building"
	for _, suffix := range []string{"", "-wal", "-shm"} {
		_ = os.Remove(tmp + suffix)
	}
	s, err := sqlite.Open(ctx, tmp, sqlite.Options{})
	if err != nil {
		return err
	}
	err = ingestTemplate(ctx, s)
	if cerr := s.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	db, err := sql.Open("sqlite", tmp+"?_pragma=synchronous(OFF)&_pragma=cache_size(-262144)&_pragma=temp_store(MEMORY)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if err := fillSQLite(ctx, db, n); err != nil {
		return err
	}
	if _, err := db.ExecContext(ctx, "PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		return err
	}
	if err := db.Close(); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ingestbench: built %s in %s\n", path, time.Since(began).Round(time.Second))
	return os.Rename(tmp, path)
}

func fillSQLite(ctx context.Context, db *sql.DB, n int) error {
	const p = sqlite.DefaultTablePrefix
	columns := func(table string) ([]string, error) {
		rows, err := db.QueryContext(ctx, "SELECT name FROM pragma_table_info(?)", table)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		var out []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				return nil, err
			}
			out = append(out, c)
		}
		return out, rows.Err()
	}
	var hasSync int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_schema WHERE name = ?", p+"sync_tasks").Scan(&hasSync); err != nil {
		return err
	}
	var payID, entryID, notID string
	for q, dest := range map[string]*string{"payments": &payID, "entries": &entryID, "notifications": &notID} {
		if err := db.QueryRowContext(ctx, "SELECT id FROM "+p+q).Scan(dest); err != nil {
			return fmt.Errorf("template %s: %w", q, err)
		}
	}
	// Ids the library issues carry their time in front: the copies keep
	// the template's time and number the rest, so they sort before every
	// later row, as older rows do.
	issued := func(col string) string {
		return "substr(t." + col + ", 1, length(t." + col + ") - 20) || printf('%020x', s.i)"
	}
	ago := func(col string) string { return "t." + col + " - (" + strconv.Itoa(n) + " - s.i) * 100" }
	tables := []clone{
		{table: p + "payments", from: "s", where: "t.id = '" + payID + "'", set: map[string]string{
			"id": issued("id"), "gateway_id": "'pf_' || s.i", "account": "'acct-' || (s.i % 1000)",
			"created_at": ago("created_at"), "updated_at": ago("updated_at")}},
		{table: p + "entries", from: "s", where: "t.id = '" + entryID + "'", skip: map[string]bool{"seq": true}, set: map[string]string{
			"id": "'ent_' || lower(hex(randomblob(16)))", "gateway_ref": "'pf_' || s.i", "gateway_payment_id": "'pf_' || s.i",
			"payment_id": "'" + payID[:len(payID)-20] + "' || printf('%020x', s.i)",
			"account":    "'acct-' || (s.i % 1000)", "occurred_at": ago("occurred_at"), "recorded_at": ago("recorded_at")}},
		{table: p + "notifications", from: "s", where: "t.id = '" + notID + "'", skip: map[string]bool{"seq": true}, set: map[string]string{
			"id": issued("id"), "event_id": "'pf_' || s.i", "received_at": ago("received_at")}},
	}
	for i := range tables {
		var err error
		if tables[i].columns, err = columns(tables[i].table); err != nil {
			return err
		}
	}
	sync := clone{table: p + "sync_tasks", from: p + "entries AS e", set: map[string]string{"entry_seq": "e.seq"}}
	if hasSync > 0 {
		var err error
		if sync.columns, err = columns(sync.table); err != nil {
			return err
		}
	}
	for lo := 1; lo <= n; lo += prefillChunk {
		hi := min(lo+prefillChunk-1, n)
		series := fmt.Sprintf("WITH RECURSIVE s(i) AS (SELECT %d UNION ALL SELECT i + 1 FROM s WHERE i < %d) ", lo, hi)
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		var before int64
		if err := tx.QueryRowContext(ctx, "SELECT max(seq) FROM "+p+"entries").Scan(&before); err != nil {
			return err
		}
		for _, c := range tables {
			if _, err := tx.ExecContext(ctx, series+c.sql()); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("%s: %w", c.table, err)
			}
		}
		if hasSync > 0 {
			sync.where = fmt.Sprintf("t.entry_seq = (SELECT seq FROM %sentries WHERE id = '%s') AND e.seq > %d", p, entryID, before)
			if _, err := tx.ExecContext(ctx, sync.sql()); err != nil {
				_ = tx.Rollback()
				return fmt.Errorf("%s: %w", sync.table, err)
			}
		}
		if err := tx.Commit(); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "ingestbench: prefilled %d of %d\n", hi, n)
	}
	_, err := db.ExecContext(ctx, `DELETE FROM `+p+`balances;
		INSERT INTO `+p+`balances (account, currency, amount, entries, updated_at)
		SELECT account, currency, sum(amount), count(*), max(recorded_at) FROM `+p+`entries GROUP BY account, currency`)
	return err
}

// buildPostgres makes the prefilled schema unless it exists, building it
// under another name first so that an interrupted build leaves nothing
// that looks done.
func buildPostgres(ctx context.Context, dsn, schema string, n int) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT FROM pg_namespace WHERE nspname = $1)", schema).Scan(&exists); err != nil || exists {
		return err
	}
	began := time.Now()
	tmp := schema + "_building"
	if _, err := conn.Exec(ctx, "DROP SCHEMA IF EXISTS "+tmp+" CASCADE"); err != nil {
		return err
	}
	s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: tmp})
	if err != nil {
		return err
	}
	err = ingestTemplate(ctx, s)
	_ = s.Close()
	if err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "SET synchronous_commit = off"); err != nil {
		return err
	}
	if err := fillPostgres(ctx, conn, tmp, n); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, "ALTER SCHEMA "+tmp+" RENAME TO "+schema); err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "ingestbench: built schema %s in %s\n", schema, time.Since(began).Round(time.Second))
	return nil
}

func fillPostgres(ctx context.Context, conn *pgx.Conn, schema string, n int) error {
	p := schema + "." + postgres.DefaultTablePrefix
	columns := func(table string) ([]string, error) {
		rows, err := conn.Query(ctx, `SELECT column_name FROM information_schema.columns
			WHERE table_schema = $1 AND table_name = $2 AND is_identity = 'NO' AND is_generated = 'NEVER'
			ORDER BY ordinal_position`, schema, postgres.DefaultTablePrefix+table)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, pgx.RowTo[string])
	}
	var payID, entryID, notID string
	for q, dest := range map[string]*string{"payments": &payID, "entries": &entryID, "notifications": &notID} {
		if err := conn.QueryRow(ctx, "SELECT id FROM "+p+q).Scan(dest); err != nil {
			return fmt.Errorf("template %s: %w", q, err)
		}
	}
	issued := func(col string) string { return "left(t." + col + ", -20) || lpad(to_hex(s.i), 20, '0')" }
	ago := func(col string) string {
		return "t." + col + " - (" + strconv.Itoa(n) + " - s.i) * interval '100 microseconds'"
	}
	entryIDOf := "'ent_' || md5(s.i::text)"
	tables := []clone{
		{table: p + "payments", where: "t.id = '" + payID + "'", set: map[string]string{
			"id": issued("id"), "gateway_id": "'pf_' || s.i", "account": "'acct-' || (s.i % 1000)",
			"created_at": ago("created_at"), "updated_at": ago("updated_at")}},
		{table: p + "entries", where: "t.id = '" + entryID + "'", set: map[string]string{
			"id": entryIDOf, "gateway_ref": "'pf_' || s.i", "gateway_payment_id": "'pf_' || s.i",
			"payment_id": "left('" + payID + "', -20) || lpad(to_hex(s.i), 20, '0')",
			"account":    "'acct-' || (s.i % 1000)", "occurred_at": ago("occurred_at"), "recorded_at": ago("recorded_at")}},
		{table: p + "notifications", where: "t.id = '" + notID + "'", set: map[string]string{
			"id": issued("id"), "event_id": "'pf_' || s.i", "received_at": ago("received_at")}},
	}
	var hasSync bool
	if err := conn.QueryRow(ctx, "SELECT to_regclass($1) IS NOT NULL", p+"sync").Scan(&hasSync); err != nil {
		return err
	}
	if hasSync {
		// By seq: the outbox is indexed by entry id only while a task is
		// open (migration 0009), and the template's task is done.
		var seq int64
		if err := conn.QueryRow(ctx, "SELECT seq FROM "+p+"sync WHERE entry_id = $1", entryID).Scan(&seq); err != nil {
			return fmt.Errorf("the template's sync task: %w", err)
		}
		tables = append(tables, clone{table: p + "sync", where: "t.seq = " + strconv.FormatInt(seq, 10),
			set: map[string]string{"entry_id": entryIDOf}})
	}
	for i := range tables {
		var err error
		if tables[i].columns, err = columns(strings.TrimPrefix(tables[i].table, p)); err != nil {
			return err
		}
	}
	for lo := 1; lo <= n; lo += prefillChunk {
		hi := min(lo+prefillChunk-1, n)
		for _, c := range tables {
			c.from = fmt.Sprintf("generate_series(%d, %d) AS s (i)", lo, hi)
			if _, err := conn.Exec(ctx, c.sql()); err != nil {
				return fmt.Errorf("%s: %w", c.table, err)
			}
		}
		fmt.Fprintf(os.Stderr, "ingestbench: prefilled %d of %d\n", hi, n)
	}
	if _, err := conn.Exec(ctx, `DELETE FROM `+p+`balances`); err != nil {
		return err
	}
	if _, err := conn.Exec(ctx, `INSERT INTO `+p+`balances (account, currency, amount, entries, updated_at)
		SELECT account, currency, sum(amount), count(*), max(recorded_at) FROM `+p+`entries GROUP BY account, currency`); err != nil {
		return err
	}
	for _, t := range []string{"payments", "entries", "notifications", "balances", "sync"} {
		if _, err := conn.Exec(ctx, "VACUUM ANALYZE "+p+t); err != nil && t != "sync" {
			return err
		}
	}
	return nil
}
