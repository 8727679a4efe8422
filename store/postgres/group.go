package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payrail/payments"
)

// errRedoAlone rolls a group back so that each of its batches is committed
// in a transaction of its own: a batch's writes turned out to depend on the
// database in a way the group cannot decide for it (a contradicting entry,
// a payment another transaction created meanwhile, balances whose sum
// overflows).
var errRedoAlone = errors.New("postgres: group needs a transaction per batch")

// errExists rolls a group back that took a payment or an entry for new
// which exists (see commitAsNew).
var errExists = errors.New("postgres: a row the group took for new exists")

// errUncertain marks a failure of the round trip that carried COMMIT
// without an answer from the server: the group may or may not have been
// committed, so it must not be run again.
var errUncertain = errors.New("postgres: commit outcome unknown")

// groupTx commits a group of batches in one transaction, in two pipelined
// round trips: the first begins the transaction and locks and reads the
// payments the batches name; the second writes payments and entries, adds
// to balances, queues sync tasks, journals the notifications and commits
// (commitAsNew). When some of the entries were recorded before, that second
// round trip is split in two, so as to learn which (writeAndCommit). Each
// batch is planned (payments.Batch.Plan) between the round trips from the
// payments the first one read, and settled (payments.Plan.Settle) once its
// entries are known to be new or recorded.
//
// Rows are locked in the order the transaction-per-batch path uses, over
// the whole group: payments by id, entries by id, balances by account and
// currency; so groups and single batches, in this process or another, queue
// behind each other rather than deadlock, and a deadlock that remains is a
// database error that sends the group's batches to their own transactions,
// which retry.
type groupTx struct {
	s       *Store
	conn    *pgxpool.Conn
	begun   bool
	batches []*groupBatch
	// asNew commits with commitAsNew; sawExisting reports that
	// writeAndCommit found entries recorded before.
	asNew, sawExisting bool
	// The payments the batches name, as the first round trip read them,
	// and the keys it looked them up by, locking or not.
	byID         map[string]*payments.Payment
	byGatewayID  map[gatewayKey]*payments.Payment
	locked, read paymentKeys
	// written holds the keys (see batchKeys) of the payments and entries
	// that the batches planned so far write.
	written map[string]bool
}

type gatewayKey struct{ gateway, gatewayID string }

// groupBatch is one batch's part in a group.
type groupBatch struct {
	job  *commitJob
	b    *payments.Batch
	plan *payments.Plan
	// err is a failure found before anything of the batch was written: the
	// batch takes no part in the group and fails with it.
	err error
	// later is set when the batch uses a payment that an earlier batch of
	// the group writes, or records an entry one records: it takes no part
	// and waits for the next group.
	later bool
}

func (gb *groupBatch) included() bool { return gb.err == nil && !gb.later }

// finish reports the committed batch to its caller.
func (gb *groupBatch) finish() { gb.job.finish(&gb.plan.Result, nil) }

func newGroupTx(s *Store, jobs []*commitJob, asNew bool) *groupTx {
	g := &groupTx{
		s: s, asNew: asNew, written: map[string]bool{},
		byID: map[string]*payments.Payment{}, byGatewayID: map[gatewayKey]*payments.Payment{},
	}
	for _, j := range jobs {
		g.batches = append(g.batches, &groupBatch{job: j, b: j.b})
	}
	return g
}

// run commits the group. On success each batch is committed, left out
// with its error, or left for a later group.
func (g *groupTx) run(ctx context.Context) (err error) {
	if g.conn, err = g.s.pool.Acquire(ctx); err != nil {
		return fmt.Errorf("postgres: acquire connection: %w", err)
	}
	defer g.conn.Release()
	defer func() {
		if err != nil && !errors.Is(err, errUncertain) {
			g.rollback()
		}
	}()
	if err := g.readPayments(ctx); err != nil {
		return err
	}
	for _, gb := range g.batches {
		g.planBatch(ctx, gb)
	}
	if g.asNew {
		return g.commitAsNew(ctx)
	}
	return g.writeAndCommit(ctx)
}

// send runs a pipeline of statements, beginning the transaction first if
// no earlier pipeline has.
//
// The transaction uses generic plans only. The group's statements take
// arrays, and PostgreSQL, weighing a generic plan against plans made for
// each call's arrays, may go on planning them afresh on every call, which
// cost about a tenth of the server's time per group; their shape (see
// paymentsByKeys) makes the generic plan the right one whatever the arrays
// hold.
func (g *groupTx) send(ctx context.Context, batch *pgx.Batch) error {
	if !g.begun {
		batch.QueuedQueries = slices.Insert(batch.QueuedQueries, 0,
			&pgx.QueuedQuery{SQL: "BEGIN"},
			&pgx.QueuedQuery{SQL: "SET LOCAL plan_cache_mode = force_generic_plan"})
		g.begun = true
	}
	return g.conn.SendBatch(ctx, batch).Close()
}

// rollback ends a failed transaction, whatever state the pipeline left it
// in; a broken connection is dropped by the pool on Release.
func (g *groupTx) rollback() {
	if g.conn.Conn().PgConn().TxStatus() != 'I' {
		_, _ = g.conn.Exec(context.Background(), "ROLLBACK")
	}
}

// The group's statements find rows by key only through LATERAL subqueries
// with LIMIT 1, which PostgreSQL plans as one index probe per key. A join
// or an = ANY over the key arrays would be planned, for a table still
// nearly empty, as a scan of the whole table; pgx caches that plan on the
// connection, and it would stay a full scan per group as the table grows.

// paymentsByKeys selects the payments with the given (gateway, gateway id)
// pairs or ids, in id order; rowLock is empty or a locking clause, which
// takes the rows' locks in that order. Pairing the gateway ids with their
// gateway keeps the partial unique index usable, as the single-payment
// look-up's predicate does.
func paymentsByKeys(rowLock string) string {
	return `SELECT p.* FROM (
			SELECT q.id FROM ` + arrayRows("k", "$1::text[] gateway", "$2::text[] gateway_id") + `
				CROSS JOIN LATERAL (SELECT id FROM {payments}
					WHERE gateway = k.gateway AND gateway_id = k.gateway_id AND gateway_id <> '' LIMIT 1) AS q
			UNION SELECT unnest($3::text[])
			ORDER BY 1
		) AS want (id)
		CROSS JOIN LATERAL (SELECT ` + paymentColumns + ` FROM {payments} WHERE id = want.id LIMIT 1 ` + rowLock + `) AS p`
}

// readPayments locks, in id order, the payments the batches' updates name,
// and reads, without locking them, those their entries alone name: every
// payment the planner may ask a groupLookup for.
func (g *groupTx) readPayments(ctx context.Context) error {
	for _, gb := range g.batches {
		for _, u := range gb.b.Payments {
			g.locked.add(gb.b.Gateway, u.GatewayID, u.PaymentID)
		}
	}
	for _, gb := range g.batches {
		for _, e := range gb.b.Entries {
			// An entry of another gateway fails the batch's plan.
			if !g.locked.has(gb.b.Gateway, e.GatewayPaymentID) {
				g.read.add(gb.b.Gateway, e.GatewayPaymentID, "")
			}
		}
	}
	batch := &pgx.Batch{}
	scan := func(rows pgx.Rows) error {
		for rows.Next() {
			p, err := scanPayment(rows)
			if err != nil {
				return err
			}
			g.byID[p.ID] = p
			if p.GatewayID != "" {
				g.byGatewayID[gatewayKey{p.Gateway, p.GatewayID}] = p
			}
		}
		return rows.Err()
	}
	if !g.locked.empty() {
		batch.Queue(g.s.sql(paymentsByKeys("FOR UPDATE")), g.locked.gateways, g.locked.gatewayIDs, g.locked.ids).Query(scan)
	}
	if !g.read.empty() {
		batch.Queue(g.s.sql(paymentsByKeys("")), g.read.gateways, g.read.gatewayIDs, g.read.ids).Query(scan)
	}
	if batch.Len() == 0 {
		return nil
	}
	if err := g.send(ctx, batch); err != nil {
		return fmt.Errorf("postgres: read payments: %w", err)
	}
	return nil
}

// paymentKeys collects the keys of a payment look-up, each once.
type paymentKeys struct {
	gateways, gatewayIDs, ids []string
	seen                      map[string]bool
}

func (k *paymentKeys) add(gateway, gatewayID, id string) {
	if k.seen == nil {
		k.seen = map[string]bool{}
	}
	if gatewayID != "" && !k.has(gateway, gatewayID) {
		k.seen[gateway+"\x00"+gatewayID] = true
		k.gateways, k.gatewayIDs = append(k.gateways, gateway), append(k.gatewayIDs, gatewayID)
	}
	if id != "" && !k.hasID(id) {
		k.seen["\x00"+id] = true
		k.ids = append(k.ids, id)
	}
}

func (k *paymentKeys) has(gateway, gatewayID string) bool {
	return gatewayID != "" && k.seen[gateway+"\x00"+gatewayID]
}

func (k *paymentKeys) hasID(id string) bool { return k.seen["\x00"+id] }

func (k *paymentKeys) empty() bool { return len(k.gatewayIDs) == 0 && len(k.ids) == 0 }

// planBatch plans a batch from the payments the group read, and leaves it for
// a later group when it depends on what an earlier batch of this one
// writes: it must see those writes, which a later group will show it. The
// committer keeps such batches apart already (see batchKeys); this makes
// sure of it. A batch whose plan failed is left for later too when it read
// such a payment, as it may not fail once it sees the write.
func (g *groupTx) planBatch(ctx context.Context, gb *groupBatch) {
	lookup := &groupLookup{g: g}
	gb.plan, gb.err = gb.b.Plan(ctx, lookup)
	for _, k := range append(lookup.asked, entryKeys(gb.b)...) {
		if g.written[k] {
			gb.later = true
			return
		}
	}
	if gb.err != nil {
		return
	}
	for _, list := range [][]payments.Payment{gb.plan.Created, gb.plan.Updated} {
		for _, p := range list {
			g.written[paymentKey(p.ID)] = true
			if p.GatewayID != "" {
				g.written[gatewayIDKey(p.Gateway, p.GatewayID)] = true
			}
		}
	}
	for _, e := range gb.plan.Entries {
		g.written[entryKey(e.ID)] = true
	}
}

// groupLookup serves a batch's planner the payments the group's first
// round trip read, and records the keys it was asked for and those of the
// stored payments it handed out.
type groupLookup struct {
	g     *groupTx
	asked []string
}

func (l *groupLookup) PaymentByID(_ context.Context, id string) (*payments.Payment, error) {
	if !l.g.locked.hasID(id) && !l.g.read.hasID(id) {
		return nil, fmt.Errorf("postgres: payment %s was not read with its group", id)
	}
	l.asked = append(l.asked, paymentKey(id))
	return l.found(l.g.byID[id]), nil
}

func (l *groupLookup) PaymentByGatewayID(_ context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	if !l.g.locked.has(gateway, gatewayID) && !l.g.read.has(gateway, gatewayID) {
		return nil, fmt.Errorf("postgres: payment %s/%s was not read with its group", gateway, gatewayID)
	}
	l.asked = append(l.asked, gatewayIDKey(gateway, gatewayID))
	return l.found(l.g.byGatewayID[gatewayKey{gateway, gatewayID}]), nil
}

// found hands out p, which the planner does not change, and records it.
func (l *groupLookup) found(p *payments.Payment) *payments.Payment {
	if p != nil {
		l.asked = append(l.asked, paymentKey(p.ID))
	}
	return p
}
