package postgres

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

// Commit implements payments.Store: the batch is planned (payments.Batch.Plan)
// and its plan persisted in one transaction, which it may share with
// batches committed concurrently (see committer); when Commit returns nil
// that transaction has committed, and when it returns an error nothing of
// the batch was written.
//
// Nothing is read and then written on trust: the payments a batch updates
// are locked with SELECT ... FOR UPDATE before they are planned from, a
// payment planned as new is inserted only if no transaction created it
// meanwhile (else the batch is planned again), entries are inserted with ON
// CONFLICT DO NOTHING and only read back when the key was taken, and
// balances are added to in place with an upsert. Entries and balances are
// written in a fixed order (by entry id, by account and currency), so that
// concurrent batches touching the same rows queue behind each other instead
// of deadlocking. Payments are locked in id order too; the rare deadlock
// left (two batches each creating the same two new payments in unlike
// order) is resolved by running the transaction again.
//
// A balance pushed beyond int64 fails the batch with
// payments.ErrInvalidInput.
func (s *Store) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	return s.committer.commit(ctx, b)
}

// commitAlone commits b in a transaction of its own, run again after a
// deadlock, a serialization failure or a stale read. Batches come here
// when the group they were part of was rolled back.
func (s *Store) commitAlone(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	var res *payments.BatchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c := &commit{s: s, tx: tx, b: b}
		var err error
		res, err = c.run(ctx)
		return err
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// commit is one attempt at committing a batch.
type commit struct {
	s  *Store
	tx pgx.Tx
	b  *payments.Batch
}

func (c *commit) run(ctx context.Context) (*payments.BatchResult, error) {
	if err := c.lockPayments(ctx); err != nil {
		return nil, err
	}
	plan, err := c.b.Plan(ctx, c.lookup())
	if err != nil {
		return nil, err
	}
	recorded, err := c.writePaymentsAndEntries(ctx, plan)
	if err != nil {
		return nil, err
	}
	if err := plan.Settle(recorded); err != nil {
		return nil, err
	}
	if err := c.writeRest(ctx, plan); err != nil {
		return nil, err
	}
	return &plan.Result, nil
}

// lockPayments locks, in id order, every stored payment the batch's updates
// may touch, before the planner reads any of them. Two batches updating the
// same payments in unlike orders would otherwise each hold one and wait for
// the other. A batch of one update needs no such care.
func (c *commit) lockPayments(ctx context.Context) error {
	if len(c.b.Payments) < 2 {
		return nil
	}
	var gatewayIDs, ids []string
	for _, u := range c.b.Payments {
		if u.GatewayID != "" {
			gatewayIDs = append(gatewayIDs, u.GatewayID)
		}
		if u.PaymentID != "" {
			ids = append(ids, u.PaymentID)
		}
	}
	_, err := c.tx.Exec(ctx, c.s.sql(`SELECT id FROM {payments}
		WHERE (gateway = $1 AND gateway_id = ANY($2) AND gateway_id <> '') OR id = ANY($3)
		ORDER BY id FOR UPDATE`), c.b.Gateway, gatewayIDs, ids)
	return fail("lock payments", err)
}

// txLookup reads payments for the planner in the batch's transaction. Those
// the batch's updates name are locked (FOR UPDATE) until the transaction
// ends, since the plan may write them back; those only its entries name are
// read, as the entries are linked to them but they are not written.
type txLookup struct {
	c                      *commit
	updateIDs, updateGwIDs map[string]bool
}

func (c *commit) lookup() *txLookup {
	l := &txLookup{c: c, updateIDs: map[string]bool{}, updateGwIDs: map[string]bool{}}
	for _, u := range c.b.Payments {
		l.updateIDs[u.PaymentID] = u.PaymentID != ""
		l.updateGwIDs[u.GatewayID] = u.GatewayID != ""
	}
	return l
}

func (l *txLookup) PaymentByID(ctx context.Context, id string) (*payments.Payment, error) {
	return l.c.s.findPayment(ctx, l.c.tx, "id = $1", l.updateIDs[id], id)
}

func (l *txLookup) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	lock := gateway == l.c.b.Gateway && l.updateGwIDs[gatewayID]
	return l.c.s.findPayment(ctx, l.c.tx, byGatewayID, lock, gateway, gatewayID)
}

// writePaymentsAndEntries writes the plan's payments and inserts its
// entries in one round trip, and returns the stored rows of the entries
// that were recorded before. A payment planned as new that another
// transaction created meanwhile, or a gateway id given to a payment that
// another one took meanwhile, is a stale read: the transaction is run
// again, and plans from what is stored now.
func (c *commit) writePaymentsAndEntries(ctx context.Context, plan *payments.Plan) (map[string]payments.Entry, error) {
	entries := slices.SortedFunc(slices.Values(plan.Entries), byEntryID)
	batch := &pgx.Batch{}
	w, err := c.s.queueWrites(batch, plan.Created, plan.Updated, entries, true)
	if err != nil {
		return nil, err
	}
	if batch.Len() == 0 {
		return nil, nil
	}
	if err := c.tx.SendBatch(ctx, batch).Close(); err != nil {
		// Inserts skip taken keys, so only an update can violate a
		// unique index: the gateway id it sets.
		if pgCode(err) == codeUniqueViolation {
			return nil, fmt.Errorf("%w: %w", errStaleRead, err)
		}
		return nil, fail("write payments and entries", err)
	}
	if w.created < int64(len(plan.Created)) {
		return nil, errStaleRead
	}
	return c.s.recordedEntries(ctx, c.tx, entries, w.inserted)
}

// writeRest adds the plan's balance changes, queues its sync tasks and
// its postbacks, journals its notification and resolves the row it
// replays, in one round trip.
func (c *commit) writeRest(ctx context.Context, plan *payments.Plan) error {
	var refused error // the batch's own fault, found by a statement
	batch := &pgx.Batch{}
	if len(plan.Balances) > 0 {
		batch.Queue(c.s.sql(addWithinBounds), balanceArgs(plan.Balances, true)...).Query(func(rows pgx.Rows) error {
			overflow, err := overflowed(rows, plan.Balances)
			if err != nil {
				return err
			}
			refused = overflow
			return refused
		})
	}
	if len(plan.Tasks) > 0 {
		batch.Queue(c.s.sql(queueSyncTasks), syncArgs(plan.Tasks)...)
	}
	c.s.queueMessages(batch, plan.Messages)
	if n := plan.Journal; n != nil {
		args, err := notificationArgs(n)
		if err != nil {
			return err
		}
		batch.Queue(c.s.sql(insertNotification), args...).QueryRow(func(row pgx.Row) error {
			var id string
			err := row.Scan(&id)
			if errors.Is(err, pgx.ErrNoRows) {
				refused = notificationTaken(n)
				return refused
			}
			return err
		})
		if plan.Resolves != "" {
			batch.Queue(c.s.sql(resolveNotification), plan.Resolves, n.ID)
		}
	}
	if batch.Len() == 0 {
		return nil
	}
	err := c.tx.SendBatch(ctx, batch).Close()
	if refused != nil {
		return refused
	}
	return fail("write balances, sync tasks, postbacks and journal", err)
}

// overflowed reads what addWithinBounds returned and names a balance it
// left alone, which its change would take beyond int64; err is the
// statement's failure.
func overflowed(rows pgx.Rows, changes []payments.BalanceChange) (overflow, err error) {
	type key struct{ account, currency string }
	added := map[key]bool{}
	for rows.Next() {
		var k key
		if err := rows.Scan(&k.account, &k.currency); err != nil {
			return nil, err
		}
		added[k] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	for _, c := range changes {
		if !added[key{c.Account, string(c.Currency)}] {
			return fmt.Errorf("postgres: balance of %s in %s would overflow: %w", c.Account, c.Currency, payments.ErrInvalidInput), nil
		}
	}
	return nil, nil
}

// recordedEntries reads back the entries that an insert of entries found
// recorded before: those it did not insert.
func (s *Store) recordedEntries(ctx context.Context, q querier, entries []payments.Entry, inserted map[string]bool) (map[string]payments.Entry, error) {
	var ids []string
	for _, e := range entries {
		if !inserted[e.ID] {
			ids = append(ids, e.ID)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	rows, err := q.Query(ctx, s.sql(readEntries), ids)
	if err != nil {
		return nil, fail("read recorded entries", err)
	}
	list, err := collect(rows, scanEntry)
	if err != nil {
		return nil, fail("read recorded entries", err)
	}
	recorded := make(map[string]payments.Entry, len(list))
	for _, e := range list {
		recorded[e.ID] = e
	}
	return recorded, nil
}
