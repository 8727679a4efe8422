package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrail/payments"
)

// The group's writes are multi-row statements over unnest of one array per
// column. Each keeps the order of its arrays (WITH ORDINALITY ... ORDER BY
// n), which are sorted in the order rows must be locked in.

// insertPayments inserts payments; onConflict is empty, or DO NOTHING.
func insertPayments(onConflict string) string {
	return `INSERT INTO {payments} (` + paymentColumns + `)
	SELECT id, gateway, gateway_id, account, amount, currency, reference, status,
		redirect_url, capture_before, metadata::jsonb, created_at, updated_at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::text[], $7::text[], $8::text[],
		$9::text[], $10::timestamptz[], $11::text[], $12::timestamptz[], $13::timestamptz[])
		WITH ORDINALITY AS r (id, gateway, gateway_id, account, amount, currency, reference, status,
			redirect_url, capture_before, metadata, created_at, updated_at, n)
	ORDER BY n ` + onConflict
}

// insertEntries inserts entries; onConflict is empty, or DO NOTHING
// RETURNING the ids inserted.
func insertEntries(onConflict string) string {
	return `INSERT INTO {entries} (` + entryColumns + `)
	SELECT id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account, amount, currency, reference,
		occurred_at, recorded_at
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::bigint[],
		$9::text[], $10::text[], $11::timestamptz[], $12::timestamptz[])
		WITH ORDINALITY AS r (id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account, amount,
			currency, reference, occurred_at, recorded_at, n)
	ORDER BY n ` + onConflict
}

// addToBalances adds each balance's sum in one upsert. Separate
// transactions would add the entries one by one and fail the one that takes
// the balance beyond int64, so the upsert also computes the balance at the
// highest and the lowest point of that sequence (highest and lowest are the
// extreme running sums): bigint arithmetic raises numeric_value_out_of_range
// when either leaves int64, which fails the group, and its batches then find
// out one by one which of them overflows.
const addToBalances = `WITH r AS (
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::timestamptz[], $6::bigint[], $7::bigint[])
			WITH ORDINALITY AS r (account, currency, amount, entries, updated_at, lowest, highest, n)
	)
	INSERT INTO {balances} AS b (account, currency, amount, entries, updated_at)
	SELECT account, currency, amount, entries, updated_at FROM r ORDER BY n
	ON CONFLICT (account, currency) DO UPDATE
	SET amount = b.amount + excluded.amount, entries = b.entries + excluded.entries, updated_at = excluded.updated_at
	WHERE (SELECT b.amount + r.highest >= b.amount + r.lowest
		FROM r WHERE r.account = excluded.account AND r.currency = excluded.currency)`

const queueSyncTasks = `INSERT INTO {sync} (entry_id, state, next_attempt, lease_owner, lease_until)
	SELECT entry_id, 'pending', next_attempt, lease_owner, lease_until
	FROM unnest($1::text[], $2::timestamptz[], $3::text[], $4::timestamptz[])
		WITH ORDINALITY AS r (entry_id, next_attempt, lease_owner, lease_until, n)
	ORDER BY n`

// journal has no ON CONFLICT: a taken notification id fails the group, and
// the batch that carries it then fails alone with ErrConflict.
const journal = `INSERT INTO {notifications} (` + notificationColumns + `)
	SELECT id, gateway, received_at, remote_addr, header::jsonb, body, verified, outcome, event_id, event_type, detail
	FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::bytea[], $7::boolean[],
		$8::text[], $9::text[], $10::text[], $11::text[])
		WITH ORDINALITY AS r (id, gateway, received_at, remote_addr, header, body, verified, outcome,
			event_id, event_type, detail, n)
	ORDER BY n`

// included returns the batches that take part in the group.
func (g *groupTx) included() []*groupBatch {
	var out []*groupBatch
	for _, gb := range g.batches {
		if gb.included() {
			out = append(out, gb)
		}
	}
	return out
}

// writeRows are the group's payments and entries, each once, in the order
// their rows are locked in.
type writeRows struct {
	created, updated []*payments.Payment
	entries          []payments.Entry
}

func (g *groupTx) rows() writeRows {
	var r writeRows
	for _, gb := range g.included() {
		r.created = append(r.created, gb.created...)
		r.updated = append(r.updated, gb.updated...)
		seen := map[string]bool{}
		for _, e := range gb.entries {
			if !seen[e.ID] {
				seen[e.ID] = true
				r.entries = append(r.entries, e)
			}
		}
	}
	byID := func(a, b *payments.Payment) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(r.created, byID)
	slices.SortFunc(r.updated, byID)
	slices.SortFunc(r.entries, func(a, b payments.Entry) int { return cmp.Compare(a.ID, b.ID) })
	return r
}

// queueWrites queues the statements that write r, the payments it creates
// first and the entries last. Unless skipExisting, a payment or an entry
// that exists fails the statement, and with it the transaction.
func (g *groupTx) queueWrites(batch *pgx.Batch, r writeRows, skipExisting bool) (created *int64, inserted map[string]bool, err error) {
	created, inserted = new(int64), map[string]bool{}
	if len(r.created) > 0 {
		args, err := paymentInsertArgs(r.created)
		if err != nil {
			return nil, nil, err
		}
		onConflict := ""
		if skipExisting {
			onConflict = "ON CONFLICT DO NOTHING"
		}
		batch.Queue(g.s.sql(insertPayments(onConflict)), args...).Exec(func(tag pgconn.CommandTag) error {
			*created = tag.RowsAffected()
			return nil
		})
	}
	// One UPDATE per payment: rows to update are few, and a join with
	// their arrays is what the note on paymentsByKeys warns of.
	for _, p := range r.updated {
		batch.Queue(g.s.sql(updatePaymentQuery), updatePaymentArgs(p)...)
	}
	if len(r.entries) == 0 {
		return created, inserted, nil
	}
	if !skipExisting {
		batch.Queue(g.s.sql(insertEntries("")), entryArgs(r.entries)...)
		for _, e := range r.entries {
			inserted[e.ID] = true // or the transaction fails
		}
		return created, inserted, nil
	}
	batch.Queue(g.s.sql(insertEntries("ON CONFLICT (id) DO NOTHING RETURNING id")), entryArgs(r.entries)...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			inserted[id] = true
		}
		return rows.Err()
	})
	return created, inserted, nil
}

// commitAsNew writes the whole group and commits in one round trip, taking
// every payment it creates and every entry it records as new, which they
// nearly always are: that one of them exists after all, a gateway's retry
// or a payment created meanwhile, is found by its insert failing, which
// rolls the group back with errExists, for writeAndCommit to run it again.
func (g *groupTx) commitAsNew(ctx context.Context) error {
	batch := &pgx.Batch{}
	_, inserted, err := g.queueWrites(batch, g.rows(), false)
	if err != nil {
		return err
	}
	for _, gb := range g.included() {
		if err := gb.sortEntries(inserted, nil); err != nil {
			return err
		}
	}
	err = g.writeRestAndCommit(ctx, batch)
	if pgCode(err) == codeUniqueViolation {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	return err
}

// writeAndCommit writes the group's payments and entries, skipping those
// that exist; sorts each batch's entries into new ones and duplicates,
// reading the duplicates' stored rows back; then writes the rest and
// commits. It takes one round trip more than commitAsNew.
func (g *groupTx) writeAndCommit(ctx context.Context) error {
	r := g.rows()
	batch := &pgx.Batch{}
	created, inserted, err := g.queueWrites(batch, r, true)
	if err != nil {
		return err
	}
	if batch.Len() > 0 {
		if err := g.send(ctx, batch); err != nil {
			return fmt.Errorf("postgres: write payments and entries: %w", err)
		}
	}
	if *created < int64(len(r.created)) {
		// Another transaction created one of the payments since the group
		// looked: merging into it is the transaction-per-batch path's job.
		return errRedoAlone
	}
	recorded, err := g.recordedEntries(ctx, r.entries, inserted)
	if err != nil {
		return err
	}
	g.sawExisting = len(recorded) > 0
	for _, gb := range g.included() {
		if err := gb.sortEntries(inserted, recorded); err != nil {
			return err
		}
	}
	return g.writeRestAndCommit(ctx, &pgx.Batch{})
}

// recordedEntries reads back the entries that were recorded before.
func (g *groupTx) recordedEntries(ctx context.Context, entries []payments.Entry, inserted map[string]bool) (map[string]payments.Entry, error) {
	var ids []string
	for _, e := range entries {
		if !inserted[e.ID] {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := g.conn.Query(ctx, g.s.sql(`SELECT e.* FROM unnest($1::text[]) AS k (id)
		CROSS JOIN LATERAL (SELECT `+entryColumns+` FROM {entries} WHERE id = k.id LIMIT 1) AS e`), ids)
	if err != nil {
		return nil, fmt.Errorf("postgres: read recorded entries: %w", err)
	}
	list, err := collect(rows, scanEntry)
	if err != nil {
		return nil, fmt.Errorf("postgres: read recorded entries: %w", err)
	}
	recorded := make(map[string]payments.Entry, len(list))
	for _, e := range list {
		recorded[e.ID] = e
	}
	return recorded, nil
}

// sortEntries files the batch's entries, in batch order, as new or as
// duplicates of what is stored. An entry that contradicts what is stored
// fails the batch with ErrConflict after its payments were written, so the
// group is redone a transaction per batch, where that batch fails alone.
func (gb *groupBatch) sortEntries(inserted map[string]bool, recorded map[string]payments.Entry) error {
	fresh := map[string]payments.Entry{}
	for _, e := range gb.entries {
		if _, dup := fresh[e.ID]; inserted[e.ID] && !dup {
			fresh[e.ID] = e
			gb.res.Entries = append(gb.res.Entries, e)
			continue
		}
		old, ok := fresh[e.ID]
		if !ok {
			old, ok = recorded[e.ID]
		}
		if !ok || !old.SameMovement(&e) {
			return errRedoAlone
		}
		gb.res.Duplicates = append(gb.res.Duplicates, old)
	}
	gb.outcome = payments.OutcomeDuplicate
	if !gb.res.Empty() {
		gb.outcome = payments.OutcomeRecorded
	}
	return nil
}

// writeRestAndCommit adds the new entries to their balances, queues their
// sync tasks, journals the notifications and commits, after what batch
// holds already.
func (g *groupTx) writeRestAndCommit(ctx context.Context, batch *pgx.Batch) error {
	balanceArgs, err := g.balanceArgs()
	if err != nil {
		return err
	}
	if balanceArgs != nil {
		batch.Queue(g.s.sql(addToBalances), balanceArgs...)
	}
	if args := g.syncArgs(); args != nil {
		batch.Queue(g.s.sql(queueSyncTasks), args...)
	}
	journalArgs, err := g.journalArgs()
	if err != nil {
		return err
	}
	if journalArgs != nil {
		batch.Queue(g.s.sql(journal), journalArgs...)
	}
	batch.Queue("COMMIT").Exec(func(tag pgconn.CommandTag) error {
		if tag.String() != "COMMIT" {
			return errRedoAlone // the server rolled back instead
		}
		return nil
	})
	err = g.send(ctx, batch)
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &pgErr), errors.Is(err, errRedoAlone):
		return fmt.Errorf("postgres: commit group: %w", err)
	}
	return fmt.Errorf("postgres: commit group: %w: %w", errUncertain, err)
}

// balanceArgs sums the group's new entries by balance, with the extreme
// running sums addToBalances checks; nil when there are none. Sums that
// leave int64 by themselves are left to the transaction-per-batch path.
func (g *groupTx) balanceArgs() ([]any, error) {
	// sum walks a balance's entries in the order separate transactions
	// would add them, keeping the lowest and highest running sums.
	type sum struct {
		account                          string
		currency                         payments.Currency
		amount, entries, lowest, highest int64
		updatedAt                        time.Time
	}
	type key struct {
		account  string
		currency payments.Currency
	}
	byKey := map[key]*sum{}
	var sums []*sum
	for _, gb := range g.included() {
		for _, e := range gb.res.Entries {
			k := key{e.Account, e.Amount.Currency}
			s, ok := byKey[k]
			if !ok {
				s = &sum{account: e.Account, currency: e.Amount.Currency}
				byKey[k] = s
				sums = append(sums, s)
			}
			amount, err := payments.AddAmounts(s.amount, e.Amount.Amount)
			if err != nil {
				return nil, errRedoAlone
			}
			s.amount, s.entries, s.updatedAt = amount, s.entries+1, gb.now
			s.lowest, s.highest = min(s.lowest, amount), max(s.highest, amount)
		}
	}
	if len(sums) == 0 {
		return nil, nil
	}
	slices.SortFunc(sums, func(a, b *sum) int {
		return cmp.Or(cmp.Compare(a.account, b.account), cmp.Compare(a.currency, b.currency))
	})
	return []any{
		column(sums, func(s *sum) string { return s.account }),
		column(sums, func(s *sum) string { return string(s.currency) }),
		column(sums, func(s *sum) int64 { return s.amount }),
		column(sums, func(s *sum) int64 { return s.entries }),
		column(sums, func(s *sum) time.Time { return s.updatedAt }),
		column(sums, func(s *sum) int64 { return s.lowest }),
		column(sums, func(s *sum) int64 { return s.highest }),
	}, nil
}

// syncArgs are the sync tasks of the group's new entries, leased to each
// batch's SyncOwner when it has one; nil when there are none.
func (g *groupTx) syncArgs() []any {
	type task struct {
		entryID    string
		due        time.Time
		owner      string
		leaseUntil *time.Time
	}
	var tasks []task
	for _, gb := range g.included() {
		var owner string
		var until *time.Time
		if gb.b.SyncOwner != "" {
			owner, until = gb.b.SyncOwner, nullTime(gb.b.SyncLeaseUntil)
		}
		for _, e := range gb.res.Entries {
			tasks = append(tasks, task{e.ID, gb.now, owner, until})
		}
	}
	if len(tasks) == 0 {
		return nil
	}
	return []any{
		column(tasks, func(t task) string { return t.entryID }),
		column(tasks, func(t task) time.Time { return t.due }),
		column(tasks, func(t task) string { return t.owner }),
		column(tasks, func(t task) *time.Time { return t.leaseUntil }),
	}
}

// journalArgs are the group's notifications with their outcomes; nil when
// there are none.
func (g *groupTx) journalArgs() ([]any, error) {
	type row struct {
		n       *payments.Notification
		header  *string // JSON
		outcome payments.Outcome
	}
	var rows []row
	for _, gb := range g.included() {
		n := gb.b.Notification
		if n == nil {
			continue
		}
		r := row{n: n, outcome: gb.outcome}
		if n.Header != nil {
			b, err := json.Marshal(n.Header)
			if err != nil {
				return nil, fmt.Errorf("postgres: encode headers of notification %s: %w", n.ID, err)
			}
			h := string(b)
			r.header = &h
		}
		rows = append(rows, r)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return []any{
		column(rows, func(r row) string { return r.n.ID }),
		column(rows, func(r row) string { return r.n.Gateway }),
		column(rows, func(r row) time.Time { return r.n.ReceivedAt }),
		column(rows, func(r row) string { return r.n.RemoteAddr }),
		column(rows, func(r row) *string { return r.header }),
		column(rows, func(r row) []byte { return r.n.Body }),
		column(rows, func(r row) bool { return r.n.Verified }),
		column(rows, func(r row) string { return string(r.outcome) }),
		column(rows, func(r row) string { return r.n.EventID }),
		column(rows, func(r row) string { return r.n.EventType }),
		column(rows, func(r row) string { return r.n.Detail }),
	}, nil
}

func paymentInsertArgs(ps []*payments.Payment) ([]any, error) {
	metadata := make([]*string, len(ps)) // JSON
	for i, p := range ps {
		b, err := marshalMetadata(p.Metadata)
		if err != nil {
			return nil, err
		}
		if b != nil {
			m := string(b)
			metadata[i] = &m
		}
	}
	return []any{
		column(ps, func(p *payments.Payment) string { return p.ID }),
		column(ps, func(p *payments.Payment) string { return p.Gateway }),
		column(ps, func(p *payments.Payment) string { return p.GatewayID }),
		column(ps, func(p *payments.Payment) string { return p.Account }),
		column(ps, func(p *payments.Payment) int64 { return p.Amount.Amount }),
		column(ps, func(p *payments.Payment) string { return string(p.Amount.Currency) }),
		column(ps, func(p *payments.Payment) string { return p.Reference }),
		column(ps, func(p *payments.Payment) string { return string(p.Status) }),
		column(ps, func(p *payments.Payment) string { return p.RedirectURL }),
		column(ps, func(p *payments.Payment) *time.Time { return nullTime(p.CaptureBefore) }),
		metadata,
		column(ps, func(p *payments.Payment) time.Time { return p.CreatedAt }),
		column(ps, func(p *payments.Payment) time.Time { return p.UpdatedAt }),
	}, nil
}

func entryArgs(es []payments.Entry) []any {
	return []any{
		column(es, func(e payments.Entry) string { return e.ID }),
		column(es, func(e payments.Entry) string { return e.Gateway }),
		column(es, func(e payments.Entry) string { return string(e.Kind) }),
		column(es, func(e payments.Entry) string { return e.GatewayRef }),
		column(es, func(e payments.Entry) string { return e.GatewayPaymentID }),
		column(es, func(e payments.Entry) string { return e.PaymentID }),
		column(es, func(e payments.Entry) string { return e.Account }),
		column(es, func(e payments.Entry) int64 { return e.Amount.Amount }),
		column(es, func(e payments.Entry) string { return string(e.Amount.Currency) }),
		column(es, func(e payments.Entry) string { return e.Reference }),
		column(es, func(e payments.Entry) time.Time { return e.OccurredAt }),
		column(es, func(e payments.Entry) time.Time { return e.RecordedAt }),
	}
}

// column is one column of a multi-row statement's rows, as an array
// parameter.
func column[R, V any](rows []R, value func(R) V) []V {
	out := make([]V, len(rows))
	for i, r := range rows {
		out[i] = value(r)
	}
	return out
}
