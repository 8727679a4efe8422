package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrail/payments"
)

// journal has no ON CONFLICT: a taken notification id fails the group, and
// the batch that carries it then fails alone with ErrConflict.
var journal = `INSERT INTO {notifications} (` + notificationColumns + `)
	SELECT id, gateway, received_at, remote_addr, header::jsonb, body, body_len, body_sha256, verified, outcome,
		event_id, event_type, detail, replay_of, source, resolved_by
	FROM ` + arrayRows("r", "$1::text[] id", "$2::text[] gateway", "$3::timestamptz[] received_at",
	"$4::text[] remote_addr", "$5::text[] header", "$6::bytea[] body", "$7::bigint[] body_len",
	"$8::text[] body_sha256", "$9::boolean[] verified", "$10::text[] outcome", "$11::text[] event_id",
	"$12::text[] event_type", "$13::text[] detail", "$14::text[] replay_of", "$15::text[] source",
	"$16::text[] resolved_by") + `
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

// rows are the payments the group's plans create and update and the
// entries they record, each once (batches in a group touch disjoint rows),
// in the order their rows are locked in.
func (g *groupTx) rows() (created, updated []payments.Payment, entries []payments.Entry) {
	for _, gb := range g.included() {
		created = append(created, gb.plan.Created...)
		updated = append(updated, gb.plan.Updated...)
		entries = append(entries, gb.plan.Entries...)
	}
	byID := func(a, b payments.Payment) int { return cmp.Compare(a.ID, b.ID) }
	slices.SortFunc(created, byID)
	slices.SortFunc(updated, byID)
	slices.SortFunc(entries, byEntryID)
	return created, updated, entries
}

// writes is what the statements queueWrites queued learn once they have
// run.
type writes struct {
	created  int64           // payments inserted
	inserted map[string]bool // entries inserted, by id
}

// queueWrites queues the statements that insert created, write updated
// back and insert entries, in that order, each sorted by id. Unless
// skipExisting, a payment or an entry that exists fails the statement, and
// with it the transaction.
func (s *Store) queueWrites(batch *pgx.Batch, created, updated []payments.Payment, entries []payments.Entry, skipExisting bool) (*writes, error) {
	w := &writes{inserted: map[string]bool{}}
	if len(created) > 0 {
		args, err := paymentInsertArgs(created)
		if err != nil {
			return nil, err
		}
		onConflict := ""
		if skipExisting {
			onConflict = "ON CONFLICT DO NOTHING"
		}
		batch.Queue(s.sql(insertPayments(onConflict)), args...).Exec(func(tag pgconn.CommandTag) error {
			w.created = tag.RowsAffected()
			return nil
		})
	}
	// One UPDATE per payment: rows to update are few, and a join with
	// their arrays is what the note on paymentsByKeys warns of.
	for i := range updated {
		batch.Queue(s.sql(updatePaymentQuery), updatePaymentArgs(&updated[i])...)
	}
	if len(entries) == 0 {
		return w, nil
	}
	if !skipExisting {
		batch.Queue(s.sql(insertEntries("")), entryArgs(entries)...)
		for _, e := range entries {
			w.inserted[e.ID] = true // or the transaction fails
		}
		return w, nil
	}
	batch.Queue(s.sql(insertEntries("ON CONFLICT (id) DO NOTHING RETURNING id")), entryArgs(entries)...).Query(func(rows pgx.Rows) error {
		for rows.Next() {
			var id string
			if err := rows.Scan(&id); err != nil {
				return err
			}
			w.inserted[id] = true
		}
		return rows.Err()
	})
	return w, nil
}

// commitAsNew writes the whole group and commits in one round trip, taking
// every payment it creates and every entry it records as new, which they
// nearly always are: that one of them exists after all, a gateway's retry
// or a payment created meanwhile, is found by its insert failing, which
// rolls the group back with errExists, for writeAndCommit to run it again.
func (g *groupTx) commitAsNew(ctx context.Context) error {
	batch := &pgx.Batch{}
	created, updated, entries := g.rows()
	if _, err := g.s.queueWrites(batch, created, updated, entries, false); err != nil {
		return err
	}
	for _, gb := range g.included() {
		if err := gb.plan.Settle(nil); err != nil {
			return errRedoAlone
		}
	}
	err := g.writeRestAndCommit(ctx, batch)
	if pgCode(err) == codeUniqueViolation {
		return fmt.Errorf("%w: %w", errExists, err)
	}
	return err
}

// writeAndCommit writes the group's payments and entries, skipping those
// that exist; reads back the entries recorded before and settles each plan
// with them; then writes the rest and commits. It takes one round trip
// more than commitAsNew.
//
// An entry that contradicts what is stored fails its batch's Settle with
// ErrConflict after the group's payments were written, so the group is
// redone a transaction per batch, where that batch fails alone.
func (g *groupTx) writeAndCommit(ctx context.Context) error {
	created, updated, entries := g.rows()
	batch := &pgx.Batch{}
	w, err := g.s.queueWrites(batch, created, updated, entries, true)
	if err != nil {
		return err
	}
	if batch.Len() > 0 {
		if err := g.send(ctx, batch); err != nil {
			return fmt.Errorf("postgres: write payments and entries: %w", err)
		}
	}
	if w.created < int64(len(created)) {
		// Another transaction created one of the payments since the group
		// looked: planning from it is the transaction-per-batch path's job.
		return errRedoAlone
	}
	recorded, err := g.s.recordedEntries(ctx, g.conn, entries, w.inserted)
	if err != nil {
		return err
	}
	g.sawExisting = len(recorded) > 0
	for _, gb := range g.included() {
		if err := gb.plan.Settle(recorded); err != nil {
			return errRedoAlone
		}
	}
	return g.writeRestAndCommit(ctx, &pgx.Batch{})
}

// writeRestAndCommit adds the settled plans' balance changes, queues their
// sync tasks and postbacks, journals their notifications, resolves the
// rows they replay and commits, after what batch holds already.
func (g *groupTx) writeRestAndCommit(ctx context.Context, batch *pgx.Batch) error {
	changes, err := g.balanceChanges()
	if err != nil {
		return err
	}
	if len(changes) > 0 {
		batch.Queue(g.s.sql(addOrOverflow), balanceArgs(changes, false)...)
	}
	var tasks []payments.SyncTask
	for _, gb := range g.included() {
		tasks = append(tasks, gb.plan.Tasks...)
	}
	if len(tasks) > 0 {
		batch.Queue(g.s.sql(queueSyncTasks), syncArgs(tasks)...)
	}
	var msgs []payments.Message
	for _, gb := range g.included() {
		msgs = append(msgs, gb.plan.Messages...)
	}
	g.s.queueMessages(batch, msgs)
	journalArgs, err := g.journalArgs()
	if err != nil {
		return err
	}
	if journalArgs != nil {
		batch.Queue(g.s.sql(journal), journalArgs...)
	}
	g.queueResolves(batch)
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

// balanceChanges combines the plans' changes of each balance, in group
// order, as separate transactions would apply them one after the other
// (BalanceChange.Then). Changes whose combined running sums leave int64 by
// themselves are left to the transaction-per-batch path, as are balances
// that the stored amount makes overflow (see addOrOverflow).
func (g *groupTx) balanceChanges() ([]payments.BalanceChange, error) {
	type key struct {
		account  string
		currency payments.Currency
	}
	at := map[key]int{}
	var changes []payments.BalanceChange
	for _, gb := range g.included() {
		for _, c := range gb.plan.Balances {
			k := key{c.Account, c.Currency}
			i, ok := at[k]
			if !ok {
				at[k] = len(changes)
				changes = append(changes, c)
				continue
			}
			combined, err := changes[i].Then(c)
			if err != nil {
				return nil, errRedoAlone
			}
			changes[i] = combined
		}
	}
	return changes, nil
}

// queueResolves marks the journal rows that the group's replays resolve,
// in id order, as rows are locked; when two replays of a group resolve one
// row, the first one in the group does, as it would alone.
func (g *groupTx) queueResolves(batch *pgx.Batch) {
	type resolve struct{ row, by string }
	var resolves []resolve
	for _, gb := range g.included() {
		if gb.plan.Resolves != "" {
			resolves = append(resolves, resolve{gb.plan.Resolves, gb.plan.Journal.ID})
		}
	}
	slices.SortStableFunc(resolves, func(a, b resolve) int { return cmp.Compare(a.row, b.row) })
	for _, r := range resolves {
		batch.Queue(g.s.sql(resolveNotification), r.row, r.by)
	}
}

// journalArgs are the arguments of journal for the plans' notifications;
// nil when there are none.
func (g *groupTx) journalArgs() ([]any, error) {
	type row struct {
		n      *payments.Notification
		header *string // JSON
	}
	var rows []row
	for _, gb := range g.included() {
		n := gb.plan.Journal
		if n == nil {
			continue
		}
		header, err := headerJSON(n)
		if err != nil {
			return nil, err
		}
		rows = append(rows, row{n: n, header: header})
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
		column(rows, func(r row) *int64 { return nullIfZero(r.n.BodyLen) }),
		column(rows, func(r row) *string { return nullIfZero(r.n.BodySHA256) }),
		column(rows, func(r row) bool { return r.n.Verified }),
		column(rows, func(r row) string { return string(r.n.Outcome) }),
		column(rows, func(r row) string { return r.n.EventID }),
		column(rows, func(r row) string { return r.n.EventType }),
		column(rows, func(r row) string { return r.n.Detail }),
		column(rows, func(r row) string { return r.n.ReplayOf }),
		column(rows, func(r row) *string { return nullIfZero(r.n.Source) }),
		column(rows, func(r row) string { return r.n.ResolvedBy }),
	}, nil
}
