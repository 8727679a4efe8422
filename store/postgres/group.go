package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

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
// round trip is split in two, so as to learn which (writeAndCommit). What
// the batches decide from the payments they read is decided in Go between
// the round trips, batch by batch, as the transaction-per-batch path does.
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
	// The payments the batches name, as the first round trip read them.
	byID        map[string]*payments.Payment
	byGatewayID map[gatewayKey]*payments.Payment
	// writers are the indexes of the batches that write stored payments,
	// by payment id, and record entries, by entry id.
	paymentWriters, entryWriters map[string]int
}

type gatewayKey struct{ gateway, gatewayID string }

// groupBatch is one batch's part in a group.
type groupBatch struct {
	job *commitJob
	b   *payments.Batch
	// now is b.Now as PostgreSQL keeps it.
	now time.Time
	res payments.BatchResult
	// err is a failure found before anything of the batch was written: the
	// batch takes no part in the group and fails with it.
	err error
	// later is set when the batch uses a payment that an earlier batch of
	// the group writes, or records an entry one records: it takes no part
	// and waits for the next group.
	later bool
	// created and updated are the batch's payments as it leaves them.
	created, updated []*payments.Payment
	// entries are the batch's entries, attributed, in batch order.
	entries []payments.Entry
	outcome payments.Outcome
}

func (gb *groupBatch) included() bool { return gb.err == nil && !gb.later }

// finish reports the committed batch to its caller.
func (gb *groupBatch) finish() {
	if n := gb.b.Notification; n != nil {
		n.Outcome = gb.outcome
	}
	res := gb.res
	gb.job.finish(&res, nil)
}

func newGroupTx(s *Store, jobs []*commitJob, asNew bool) *groupTx {
	g := &groupTx{s: s, asNew: asNew, byID: map[string]*payments.Payment{}, byGatewayID: map[gatewayKey]*payments.Payment{}, paymentWriters: map[string]int{}, entryWriters: map[string]int{}}
	for _, j := range jobs {
		g.batches = append(g.batches, &groupBatch{job: j, b: j.b, now: storedTime(j.b.Now)})
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
	for i, gb := range g.batches {
		g.resolve(i, gb)
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
			SELECT q.id FROM unnest($1::text[], $2::text[]) AS k (gateway, gateway_id)
				CROSS JOIN LATERAL (SELECT id FROM {payments}
					WHERE gateway = k.gateway AND gateway_id = k.gateway_id AND gateway_id <> '' LIMIT 1) AS q
			UNION SELECT unnest($3::text[])
			ORDER BY 1
		) AS want (id)
		CROSS JOIN LATERAL (SELECT ` + paymentColumns + ` FROM {payments} WHERE id = want.id LIMIT 1 ` + rowLock + `) AS p`
}

// readPayments locks, in id order, the payments the batches' updates name,
// and reads, without locking them, those their entries alone name.
func (g *groupTx) readPayments(ctx context.Context) error {
	var lock, read paymentKeys
	for _, gb := range g.batches {
		for _, u := range gb.b.Payments {
			lock.add(gb.b.Gateway, u.GatewayID, u.PaymentID)
		}
	}
	for _, gb := range g.batches {
		for _, e := range gb.b.Entries {
			if !lock.has(e.Gateway, e.GatewayPaymentID) {
				read.add(e.Gateway, e.GatewayPaymentID, "")
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
	if !lock.empty() {
		batch.Queue(g.s.sql(paymentsByKeys("FOR UPDATE")), lock.gateways, lock.gatewayIDs, lock.ids).Query(scan)
	}
	if !read.empty() {
		batch.Queue(g.s.sql(paymentsByKeys("")), read.gateways, read.gatewayIDs, read.ids).Query(scan)
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
	if id != "" && !k.seen["\x00"+id] {
		k.seen["\x00"+id] = true
		k.ids = append(k.ids, id)
	}
}

func (k *paymentKeys) has(gateway, gatewayID string) bool {
	return gatewayID != "" && k.seen[gateway+"\x00"+gatewayID]
}

func (k *paymentKeys) empty() bool { return len(k.gatewayIDs) == 0 && len(k.ids) == 0 }

// resolve decides what batch i writes, from the payments the group read
// and what earlier batches write: it matches and merges the updates and
// attributes the entries as commit.applyUpdate and commit.attribute do,
// on copies, so that a batch left out changes nothing.
func (g *groupTx) resolve(i int, gb *groupBatch) {
	gateway := gb.b.Gateway
	mine := map[string]*payments.Payment{} // the batch's payments as it leaves them, by id
	var read []string                      // stored payments the batch uses, by id
	current := func(p *payments.Payment) *payments.Payment {
		if p == nil {
			return nil
		}
		if q, ok := mine[p.ID]; ok {
			return q
		}
		read = append(read, p.ID)
		return p
	}
	byGatewayID := func(gatewayID string) *payments.Payment {
		if gatewayID == "" {
			return nil
		}
		for _, p := range mine {
			if p.Gateway == gateway && p.GatewayID == gatewayID {
				return p
			}
		}
		return current(g.byGatewayID[gatewayKey{gateway, gatewayID}])
	}
	byID := func(id string) *payments.Payment {
		if p, ok := mine[id]; ok {
			return p
		}
		return current(g.byID[id])
	}
	// writable returns the batch's own copy of a stored payment.
	writable := func(p *payments.Payment) *payments.Payment {
		if p == nil || mine[p.ID] == p {
			return p
		}
		cp := *p
		mine[cp.ID] = &cp
		gb.updated = append(gb.updated, &cp)
		return &cp
	}
	for k := range gb.b.Payments {
		u := &gb.b.Payments[k]
		p := byGatewayID(u.GatewayID)
		if p == nil && u.PaymentID != "" {
			if p = byID(u.PaymentID); p != nil && p.Gateway != gateway {
				gb.err = fmt.Errorf("postgres: payment %s belongs to %s, not %s: %w", p.ID, p.Gateway, gateway, payments.ErrConflict)
				break
			}
		}
		if gb.err = gb.apply(writable(p), u, mine); gb.err != nil {
			break
		}
	}
	if gb.err == nil {
		gb.entries = slices.Clone(gb.b.Entries)
		for k := range gb.entries {
			e := &gb.entries[k]
			var ref *paymentRef
			if p := byGatewayID(e.GatewayPaymentID); p != nil {
				ref = &paymentRef{id: p.ID, account: p.Account, reference: p.Reference}
			}
			if gb.err = attribute(e, ref, gb.now); gb.err != nil {
				break
			}
		}
	}
	if g.overlaps(i, gb, read) {
		gb.later = true
		return
	}
	if gb.err != nil {
		return
	}
	for _, p := range gb.updated {
		g.paymentWriters[p.ID] = i
	}
	for _, e := range gb.b.Entries {
		g.entryWriters[e.ID] = i
	}
}

// overlaps reports whether batch i uses a stored payment that an earlier
// batch of the group writes, or records an entry one does: it must see
// their writes, which a later group will show it. The committer keeps such
// batches apart already; this makes sure of it.
func (g *groupTx) overlaps(i int, gb *groupBatch, read []string) bool {
	earlier := func(writers map[string]int, id string) bool {
		w, ok := writers[id]
		return ok && w != i
	}
	for _, id := range read {
		if earlier(g.paymentWriters, id) {
			return true
		}
	}
	for _, e := range gb.b.Entries {
		if earlier(g.entryWriters, e.ID) {
			return true
		}
	}
	return false
}

// apply merges u into p, or creates the payment u describes when p is nil.
func (gb *groupBatch) apply(p *payments.Payment, u *payments.PaymentUpdate, mine map[string]*payments.Payment) error {
	if p == nil {
		if u.Account == "" {
			return fmt.Errorf("postgres: unknown %s payment %s: %w", gb.b.Gateway, u.GatewayID, payments.ErrUnattributed)
		}
		if u.GatewayID == "" {
			return fmt.Errorf("postgres: unknown payment %s: %w", u.PaymentID, payments.ErrNotFound)
		}
		p = &payments.Payment{
			ID: u.PaymentID, Gateway: gb.b.Gateway, GatewayID: u.GatewayID,
			Status: payments.StatusPending, CreatedAt: gb.now,
		}
		if p.ID == "" {
			p.ID = payments.NewPaymentID()
		}
		payments.MergeUpdate(p, u, gb.now)
		p.CaptureBefore = storedTime(p.CaptureBefore)
		mine[p.ID] = p
		gb.created = append(gb.created, p)
		gb.res.Created = append(gb.res.Created, *p)
		return nil
	}
	if p.GatewayID != "" && u.GatewayID != "" && p.GatewayID != u.GatewayID {
		return fmt.Errorf("postgres: payment %s has gateway id %s, not %s: %w", p.ID, p.GatewayID, u.GatewayID, payments.ErrConflict)
	}
	from := p.Status
	changed := payments.MergeUpdate(p, u, gb.now)
	p.CaptureBefore = storedTime(p.CaptureBefore)
	if changed {
		gb.res.Changes = append(gb.res.Changes, payments.StatusChange{Payment: *p, From: from, To: p.Status})
	}
	return nil
}
