package postgres

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

// Commit implements payments.Store: the batch is committed in one
// transaction, which it may share with batches committed concurrently (see
// committer); when Commit returns nil that transaction has committed, and
// when it returns an error nothing of the batch was written.
//
// Nothing is read and then written on trust: payments are locked with
// SELECT ... FOR UPDATE before they are merged, entries are inserted with
// ON CONFLICT DO NOTHING and only read back when the key was taken, and
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
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := s.usable(); err != nil {
		return nil, err
	}
	if b.Notification != nil && b.Notification.ID == "" {
		return nil, fmt.Errorf("postgres: notification without id: %w", payments.ErrInvalidInput)
	}
	return s.committer.commit(ctx, b)
}

// commitAlone commits b in a transaction of its own, run again after a
// deadlock or a serialization failure. Batches come here when the group
// they were part of was rolled back.
func (s *Store) commitAlone(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	var res *payments.BatchResult
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		c := &commit{s: s, tx: tx, b: b, now: storedTime(b.Now), res: &payments.BatchResult{}}
		if err := c.run(ctx); err != nil {
			return err
		}
		res = c.res
		return nil
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
	// now is b.Now as PostgreSQL keeps it, so that the BatchResult holds
	// the values later reads return.
	now time.Time
	res *payments.BatchResult
}

func (c *commit) run(ctx context.Context) error {
	if err := c.lockPayments(ctx); err != nil {
		return err
	}
	for i := range c.b.Payments {
		if err := c.applyUpdate(ctx, &c.b.Payments[i]); err != nil {
			return err
		}
	}
	fresh, err := c.recordEntries(ctx)
	if err != nil {
		return err
	}
	if err := c.addToBalances(ctx, fresh); err != nil {
		return err
	}
	if err := c.queueSync(ctx, fresh); err != nil {
		return err
	}
	if n := c.b.Notification; n != nil {
		n.Outcome = payments.OutcomeDuplicate
		if !c.res.Empty() {
			n.Outcome = payments.OutcomeRecorded
		}
		if err := c.s.insertNotification(ctx, c.tx, n); err != nil {
			return err
		}
	}
	return nil
}

// lockPayments locks, in id order, every stored payment the batch's updates
// may touch, before any of them is merged. Two batches updating the same
// payments in unlike orders would otherwise each hold one and wait for the
// other. A batch of one update needs no such care.
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

// applyUpdate merges one payment update into its payment, creating the
// payment when it is unknown and the update carries an account.
func (c *commit) applyUpdate(ctx context.Context, u *payments.PaymentUpdate) error {
	p, err := c.lockPayment(ctx, u)
	if err != nil {
		return err
	}
	if p == nil {
		created, err := c.createPayment(ctx, u)
		if err != nil || created {
			return err
		}
		// Another transaction created the payment between our look-up and
		// our insert; it is committed now, so lock and merge into it.
		if p, err = c.lockPayment(ctx, u); err != nil {
			return err
		}
		if p == nil {
			return fmt.Errorf("postgres: payment %s is taken by another gateway id: %w", u.PaymentID, payments.ErrConflict)
		}
	}
	if p.GatewayID != "" && u.GatewayID != "" && p.GatewayID != u.GatewayID {
		return fmt.Errorf("postgres: payment %s has gateway id %s, not %s: %w", p.ID, p.GatewayID, u.GatewayID, payments.ErrConflict)
	}
	from := p.Status
	changed := payments.MergeUpdate(p, u, c.now)
	p.CaptureBefore = storedTime(p.CaptureBefore)
	// Setting a gateway id that another payment holds violates the unique
	// index, which fail reports as ErrConflict.
	if err := c.s.updatePayment(ctx, c.tx, p); err != nil {
		return err
	}
	if changed {
		c.res.Changes = append(c.res.Changes, payments.StatusChange{Payment: *p, From: from, To: p.Status})
	}
	return nil
}

// lockPayment finds the update's payment by gateway id, else by library id,
// and locks it for the rest of the transaction. It returns nil when there is
// none.
func (c *commit) lockPayment(ctx context.Context, u *payments.PaymentUpdate) (*payments.Payment, error) {
	gw := c.b.Gateway
	if u.GatewayID != "" {
		p, err := c.s.findPayment(ctx, c.tx, byGatewayID, true, gw, u.GatewayID)
		if err != nil || p != nil {
			return p, err
		}
	}
	if u.PaymentID == "" {
		return nil, nil
	}
	p, err := c.s.findPayment(ctx, c.tx, "id = $1", true, u.PaymentID)
	if err == nil && p != nil && p.Gateway != gw {
		return nil, fmt.Errorf("postgres: payment %s belongs to %s, not %s: %w", p.ID, p.Gateway, gw, payments.ErrConflict)
	}
	return p, err
}

// createPayment inserts the payment an unknown update describes. It reports
// false when a concurrent transaction inserted it first.
func (c *commit) createPayment(ctx context.Context, u *payments.PaymentUpdate) (bool, error) {
	if u.Account == "" {
		return false, fmt.Errorf("postgres: unknown %s payment %s: %w", c.b.Gateway, u.GatewayID, payments.ErrUnattributed)
	}
	if u.GatewayID == "" {
		return false, fmt.Errorf("postgres: unknown payment %s: %w", u.PaymentID, payments.ErrNotFound)
	}
	p := &payments.Payment{
		ID: u.PaymentID, Gateway: c.b.Gateway, GatewayID: u.GatewayID,
		Status: payments.StatusPending, CreatedAt: c.now,
	}
	if p.ID == "" {
		p.ID = payments.NewPaymentID()
	}
	payments.MergeUpdate(p, u, c.now)
	p.CaptureBefore = storedTime(p.CaptureBefore)
	created, err := c.s.insertPayment(ctx, c.tx, p)
	if created {
		c.res.Created = append(c.res.Created, *p)
	}
	return created, err
}

// recordEntries inserts the batch's entries and returns those that are new,
// in batch order. BatchResult lists new entries and duplicates in batch
// order too, but the inserts run in entry id order: an insert waits for any
// uncommitted insert of the same key, and a fixed order keeps two batches
// sharing several keys from waiting on each other in a cycle.
func (c *commit) recordEntries(ctx context.Context) ([]payments.Entry, error) {
	entries := slices.Clone(c.b.Entries)
	// Attribution comes first so that an unattributed entry fails the batch
	// before anything else is decided about it.
	owners := map[string]*paymentRef{}
	for i := range entries {
		if err := c.attribute(ctx, &entries[i], owners); err != nil {
			return nil, err
		}
	}
	order := make([]int, len(entries))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(i, j int) int { return cmp.Compare(entries[i].ID, entries[j].ID) })
	isNew := make([]bool, len(entries))
	for _, i := range order {
		stored, fresh, err := c.insertEntry(ctx, entries[i])
		if err != nil {
			return nil, err
		}
		entries[i], isNew[i] = stored, fresh
	}
	var fresh []payments.Entry
	for i, e := range entries {
		if isNew[i] {
			fresh = append(fresh, e)
			c.res.Entries = append(c.res.Entries, e)
		} else {
			c.res.Duplicates = append(c.res.Duplicates, e)
		}
	}
	return fresh, nil
}

// paymentRef is what an entry takes from its payment.
type paymentRef struct{ id, account, reference string }

// attribute links an entry to its payment, and takes the payment's account
// when the entry has none. owners caches look-ups within the batch.
func (c *commit) attribute(ctx context.Context, e *payments.Entry, owners map[string]*paymentRef) error {
	ref, seen := owners[e.GatewayPaymentID]
	if !seen && e.GatewayPaymentID != "" {
		p, err := c.s.findPayment(ctx, c.tx, byGatewayID, false, e.Gateway, e.GatewayPaymentID)
		if err != nil {
			return err
		}
		if p != nil {
			ref = &paymentRef{id: p.ID, account: p.Account, reference: p.Reference}
		}
		owners[e.GatewayPaymentID] = ref
	}
	return attribute(e, ref, c.now)
}

// attribute fills in what an entry takes from its payment, ref (nil when
// it names none), and the times it is recorded with.
func attribute(e *payments.Entry, ref *paymentRef, now time.Time) error {
	if e.Account == "" {
		if ref == nil || ref.account == "" {
			return fmt.Errorf("postgres: entry %s of %s payment %q: %w", e.GatewayRef, e.Gateway, e.GatewayPaymentID, payments.ErrUnattributed)
		}
		e.Account = ref.account
	}
	if ref != nil {
		e.PaymentID = ref.id
		if e.Reference == "" {
			e.Reference = ref.reference
		}
	}
	e.RecordedAt, e.OccurredAt = now, storedTime(e.OccurredAt)
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	return nil
}

const entryColumns = `id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account,
	amount, currency, reference, occurred_at, recorded_at`

// insertEntry records e unless its key is taken. When it is, the stored
// entry is returned: a duplicate when it is the same movement, else
// ErrConflict.
func (c *commit) insertEntry(ctx context.Context, e payments.Entry) (payments.Entry, bool, error) {
	var id string
	err := c.tx.QueryRow(ctx, c.s.sql(`INSERT INTO {entries} (`+entryColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (id) DO NOTHING RETURNING id`),
		e.ID, e.Gateway, string(e.Kind), e.GatewayRef, e.GatewayPaymentID, e.PaymentID, e.Account,
		e.Amount.Amount, string(e.Amount.Currency), e.Reference, e.OccurredAt, e.RecordedAt,
	).Scan(&id)
	if err == nil {
		return e, true, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return e, false, fail("insert entry "+e.ID, err)
	}
	stored, err := scanEntry(c.tx.QueryRow(ctx, c.s.sql("SELECT "+entryColumns+" FROM {entries} WHERE id = $1"), e.ID))
	if err != nil {
		return e, false, fail("read entry "+e.ID, err)
	}
	if !stored.SameMovement(&e) {
		return e, false, fmt.Errorf("postgres: entry %s (%s %s) recorded as %s for %s, now %s for %s: %w",
			stored.ID, stored.Kind, stored.GatewayRef, stored.Amount, stored.Account, e.Amount, e.Account, payments.ErrConflict)
	}
	return stored, false, nil
}

// addToBalances adds each new entry to its balance with an upsert, so two
// transactions adding to one balance serialize on its row and neither
// update is lost. Balances are touched in (account, currency) order, and
// one entry at a time so that an overflow is caught exactly where the
// sequence of entries would cross the int64 range: PostgreSQL raises
// numeric_value_out_of_range, which fail maps to ErrInvalidInput.
func (c *commit) addToBalances(ctx context.Context, fresh []payments.Entry) error {
	if len(fresh) == 0 {
		return nil
	}
	sorted := slices.Clone(fresh)
	slices.SortStableFunc(sorted, func(a, b payments.Entry) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Amount.Currency, b.Amount.Currency))
	})
	query := c.s.sql(`INSERT INTO {balances} AS b (account, currency, amount, entries, updated_at)
		VALUES ($1, $2, $3, 1, $4)
		ON CONFLICT (account, currency) DO UPDATE
		SET amount = b.amount + excluded.amount, entries = b.entries + 1, updated_at = excluded.updated_at`)
	batch := &pgx.Batch{}
	for _, e := range sorted {
		batch.Queue(query, e.Account, string(e.Amount.Currency), e.Amount.Amount, c.now)
	}
	return fail("update balances", c.tx.SendBatch(ctx, batch).Close())
}

// queueSync creates the outbox row of each new entry, leased to the
// batch's SyncOwner when it has one so that the caller may apply the
// entries at once without another process claiming them meanwhile.
func (c *commit) queueSync(ctx context.Context, fresh []payments.Entry) error {
	if len(fresh) == 0 {
		return nil
	}
	ids := make([]string, len(fresh))
	for i, e := range fresh {
		ids[i] = e.ID
	}
	var owner string
	var leaseUntil any
	if c.b.SyncOwner != "" {
		owner, leaseUntil = c.b.SyncOwner, nullTime(c.b.SyncLeaseUntil)
	}
	_, err := c.tx.Exec(ctx, c.s.sql(`INSERT INTO {sync} (entry_id, state, next_attempt, lease_owner, lease_until)
		SELECT id, 'pending', $2, $3, $4 FROM unnest($1::text[]) WITH ORDINALITY AS t(id, n) ORDER BY n`),
		ids, c.now, owner, leaseUntil)
	return fail("queue sync", err)
}
