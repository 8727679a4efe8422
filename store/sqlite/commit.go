package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

// Commit implements payments.Store: the batch's payment updates, entries,
// balances, sync tasks and journal row are written in one transaction (see
// payments.Batch for the rules). When it returns nil all of it is on disk;
// when it returns an error none of it is, even if ctx ended meanwhile. On
// success it sets b.Notification.Outcome.
func (s *Store) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if b.Notification != nil && b.Notification.ID == "" {
		return nil, fmt.Errorf("sqlite: notification without id: %w", payments.ErrInvalidInput)
	}
	var header any
	if b.Notification != nil {
		var err error
		if header, err = encodeHeader(b.Notification.Header); err != nil {
			return nil, err
		}
	}
	var (
		res     *payments.BatchResult
		outcome payments.Outcome
	)
	err := s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		// The closure may run and still not commit (its group can fail
		// later), so it only hands its results out through the variables
		// that Commit reads after success.
		bt := &batchTx{s: s, tx: tx, b: b, header: header, res: &payments.BatchResult{}, now: storedTime(b.Now)}
		o, err := bt.run(ctx)
		res, outcome = bt.res, o
		return err
	})
	if err != nil {
		return nil, err
	}
	if b.Notification != nil {
		b.Notification.Outcome = outcome
	}
	return res, nil
}

// batchTx applies one Batch inside a write transaction.
type batchTx struct {
	s  *Store
	tx querier
	b  *payments.Batch
	// header is b.Notification's, encoded.
	header any
	res    *payments.BatchResult
	// now is b.Now as stored, to the microsecond, so that what the result
	// reports equals what a later read returns.
	now time.Time
	// written are the payments the batch created or updated, by gateway
	// id, as they now stand in the transaction: the entries that name them
	// need not read them back.
	written map[string]*payments.Payment
}

func (t *batchTx) run(ctx context.Context) (payments.Outcome, error) {
	for i := range t.b.Payments {
		if err := t.applyUpdate(ctx, &t.b.Payments[i]); err != nil {
			return "", err
		}
	}
	for _, e := range t.b.Entries {
		if err := t.recordEntry(ctx, e); err != nil {
			return "", err
		}
	}
	if t.b.Notification == nil {
		return "", nil
	}
	outcome := payments.OutcomeDuplicate
	if !t.res.Empty() {
		outcome = payments.OutcomeRecorded
	}
	n := *t.b.Notification
	n.Outcome = outcome
	if err := t.s.insertNotification(ctx, t.tx, &n, t.header); err != nil {
		return "", err
	}
	return outcome, nil
}

// applyUpdate matches u to a payment by (gateway, GatewayID), else by
// PaymentID, and merges it, or creates the payment when it is unknown and
// u carries an account.
func (t *batchTx) applyUpdate(ctx context.Context, u *payments.PaymentUpdate) error {
	gateway, now := t.b.Gateway, t.now
	p, err := t.s.paymentByGatewayID(ctx, t.tx, gateway, u.GatewayID)
	if err != nil {
		return err
	}
	if p == nil && u.PaymentID != "" {
		if p, err = t.s.paymentByID(ctx, t.tx, u.PaymentID); err != nil {
			return err
		}
		if p != nil && p.Gateway != gateway {
			return fmt.Errorf("sqlite: payment %s belongs to %s, not %s: %w", p.ID, p.Gateway, gateway, payments.ErrConflict)
		}
	}
	if p == nil {
		return t.createPayment(ctx, u)
	}
	if p.GatewayID != "" && u.GatewayID != "" && p.GatewayID != u.GatewayID {
		return fmt.Errorf("sqlite: payment %s has gateway id %s, not %s: %w", p.ID, p.GatewayID, u.GatewayID, payments.ErrConflict)
	}
	// When p was found by PaymentID, u.GatewayID was looked up above and
	// names no payment, so filling it in cannot collide.
	from := p.Status
	changed := payments.MergeUpdate(p, u, now)
	p.CaptureBefore = storedTime(p.CaptureBefore)
	if err := t.s.updatePayment(ctx, t.tx, p); err != nil {
		return err
	}
	t.wrote(p)
	if changed {
		t.res.Changes = append(t.res.Changes, payments.StatusChange{Payment: *p, From: from, To: p.Status})
	}
	return nil
}

// createPayment records a payment first heard of from its gateway.
func (t *batchTx) createPayment(ctx context.Context, u *payments.PaymentUpdate) error {
	gateway, now := t.b.Gateway, t.now
	if u.Account == "" {
		return fmt.Errorf("sqlite: unknown %s payment %s: %w", gateway, u.GatewayID, payments.ErrUnattributed)
	}
	if u.GatewayID == "" {
		return fmt.Errorf("sqlite: unknown payment %s: %w", u.PaymentID, payments.ErrNotFound)
	}
	p := &payments.Payment{
		ID: u.PaymentID, Gateway: gateway, GatewayID: u.GatewayID,
		Status: payments.StatusPending, CreatedAt: now,
	}
	if p.ID == "" {
		p.ID = payments.NewPaymentID()
	}
	payments.MergeUpdate(p, u, now)
	p.CaptureBefore = storedTime(p.CaptureBefore)
	if _, err := t.s.insertPayment(ctx, t.tx, p, ""); err != nil {
		return err
	}
	t.wrote(p)
	t.res.Created = append(t.res.Created, *p)
	return nil
}

// wrote remembers p as the batch left it.
func (t *batchTx) wrote(p *payments.Payment) {
	if p.GatewayID == "" {
		return
	}
	if t.written == nil {
		t.written = map[string]*payments.Payment{}
	}
	t.written[p.GatewayID] = p
}

// entryPayment returns the payment an entry names, or nil.
func (t *batchTx) entryPayment(ctx context.Context, e *payments.Entry) (*payments.Payment, error) {
	if p, ok := t.written[e.GatewayPaymentID]; ok {
		return p, nil
	}
	return t.s.paymentByGatewayID(ctx, t.tx, e.Gateway, e.GatewayPaymentID)
}

// recordEntry inserts e unless its key is recorded already. Idempotency
// rests on the entries table's unique constraints, not on a prior read:
// ON CONFLICT DO NOTHING writes nothing for a known key, and the stored row
// then tells a duplicate from a conflict.
func (t *batchTx) recordEntry(ctx context.Context, e payments.Entry) error {
	p, err := t.entryPayment(ctx, &e)
	if err != nil {
		return err
	}
	if e.Account == "" {
		if p == nil || p.Account == "" {
			return fmt.Errorf("sqlite: entry %s of %s payment %q: %w", e.GatewayRef, e.Gateway, e.GatewayPaymentID, payments.ErrUnattributed)
		}
		e.Account = p.Account
	}
	if p != nil {
		e.PaymentID = p.ID
		if e.Reference == "" {
			e.Reference = p.Reference
		}
	}
	e.RecordedAt, e.OccurredAt = t.now, storedTime(e.OccurredAt)
	if e.OccurredAt.IsZero() {
		e.OccurredAt = t.now
	}
	seq, err := t.s.insertEntry(ctx, t.tx, &e)
	if err != nil {
		return err
	}
	if seq == 0 {
		return t.duplicate(ctx, &e)
	}
	if err := t.s.addToBalance(ctx, t.tx, &e); err != nil {
		return err
	}
	if err := t.s.insertSyncTask(ctx, t.tx, seq, &e, t.b); err != nil {
		return err
	}
	t.res.Entries = append(t.res.Entries, e)
	return nil
}

// duplicate handles an entry whose key is already recorded: the same money
// movement is a duplicate, anything else contradicts the ledger.
func (t *batchTx) duplicate(ctx context.Context, e *payments.Entry) error {
	old, err := t.s.entryByID(ctx, t.tx, e.ID)
	if err != nil {
		return err
	}
	if old == nil {
		return fmt.Errorf("sqlite: entry %s: not inserted, yet not found", e.ID)
	}
	if !old.SameMovement(e) {
		return fmt.Errorf("sqlite: entry %s (%s %s) recorded as %s for %s, now %s for %s: %w",
			old.ID, old.Kind, old.GatewayRef, old.Amount, old.Account, e.Amount, e.Account, payments.ErrConflict)
	}
	t.res.Duplicates = append(t.res.Duplicates, *old)
	return nil
}
