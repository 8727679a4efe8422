package payments

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"
)

// The ledger rules, all of them: Batch.Plan decides what a batch writes and
// Plan.Settle what its new entries add up to. A Store decides nothing; it
// reads the payments the planner asks for and persists the plan in the
// transaction it read them in.

// PaymentLookup is how the planner reads stored payments, inside the
// transaction that will persist its plan. Each method returns nil and no
// error when there is no such payment. The planner never changes a payment
// it is given, and never asks twice for the same key within one batch.
type PaymentLookup interface {
	// PaymentByID returns the payment with the library's id.
	PaymentByID(ctx context.Context, id string) (*Payment, error)
	// PaymentByGatewayID returns the gateway's payment gatewayID; an empty
	// gatewayID is never asked for.
	PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*Payment, error)
}

// Plan is what one Batch writes, decided by Batch.Plan. A Store persists it
// in the transaction whose payments it was planned from:
//
//  1. insert Created and write Updated back whole (status, gateway id,
//     account, amount, reference, redirect URL, capture deadline, updated
//     time);
//  2. insert each of Entries unless its id is taken, and hand Settle the
//     stored entry of every id that was;
//  3. add Balances, insert Tasks, journal Journal and, when Resolves is
//     set, mark that journal row resolved by Journal.
//
// When Plan or Settle fails, nothing of the batch may be committed.
type Plan struct {
	// Created are payments first heard of in this batch; Updated are stored
	// payments the batch changed, each once, as the batch leaves them.
	Created, Updated []Payment
	// Entries are the batch's entries, validated, attributed to an account
	// and a payment, and timed, each id once, in batch order.
	Entries []Entry

	// Balances, Tasks, Journal and Resolves are set by Settle.

	// Balances are what the new entries add to each balance, in order of
	// first appearance.
	Balances []BalanceChange
	// Tasks are the sync tasks of the new entries, pending and, when the
	// batch has a SyncOwner, leased to it.
	Tasks []SyncTask
	// Journal is the batch's notification with its outcome decided; nil
	// when the batch carries none.
	Journal *Notification
	// Resolves is the id of the journal row that Journal resolves: a
	// replay that recorded what the row carried, or found it recorded.
	Resolves string
	// Messages are the postbacks of what the batch changed, when the
	// batch has Postbacks: a PostbackStore queues each for every endpoint
	// that wants its type.
	Messages []Message

	// Result is what the batch changed, as Commit returns it. Entries and
	// Duplicates are filled by Settle.
	Result BatchResult

	batch   *Batch
	now     time.Time
	order   []int // for each batch entry, its index in Entries
	settled bool
}

// BalanceChange is what a batch's new entries add to one balance.
type BalanceChange struct {
	Account  string
	Currency Currency
	// Amount is the entries' sum and Entries their count.
	Amount, Entries int64
	// Low and High are the lowest and highest running sums of the entries,
	// from zero, in the order they are recorded: the balance passes through
	// each, so each must stay within int64 (see Bounds).
	Low, High int64
	// Settled is the sum of the new entries' conversions (Balance.Settled);
	// its Currency is empty when none was converted. A Store refuses, with
	// ErrConflict, a change into another settlement currency than the
	// balance's.
	Settled   Money
	UpdatedAt time.Time
}

// Bounds returns the range a balance must lie in for the change to apply
// without any running sum leaving int64. A Store refuses the batch with
// ErrInvalidInput when the stored balance lies outside it.
func (c BalanceChange) Bounds() (low, high int64) {
	return math.MinInt64 - c.Low, math.MaxInt64 - c.High
}

// Then returns the change of applying c and then next to the same balance,
// for a Store that adds several plans to one balance in one statement. It
// fails with ErrInvalidInput when the combined running sums leave int64.
func (c BalanceChange) Then(next BalanceChange) (BalanceChange, error) {
	amount, ok1 := addInt64(c.Amount, next.Amount)
	low, ok2 := addInt64(c.Amount, next.Low)
	high, ok3 := addInt64(c.Amount, next.High)
	if !ok1 || !ok2 || !ok3 {
		return c, fmt.Errorf("payments: balance of %s in %s would overflow: %w", c.Account, c.Currency, ErrInvalidInput)
	}
	settled, err := addSettled(c.Settled, next.Settled)
	if err != nil {
		return c, fmt.Errorf("payments: balance of %s in %s: %w", c.Account, c.Currency, err)
	}
	c.Amount, c.Entries = amount, c.Entries+next.Entries
	c.Low, c.High = min(c.Low, low), max(c.High, high)
	c.Settled = settled
	c.UpdatedAt = next.UpdatedAt
	return c, nil
}

// addSettled adds two settled sums, either of which may have no currency.
func addSettled(a, b Money) (Money, error) {
	switch {
	case b.Currency == "":
		return a, nil
	case a.Currency == "":
		return b, nil
	case a.Currency != b.Currency:
		return a, fmt.Errorf("settled in %s and in %s: %w", a.Currency, b.Currency, ErrInvalidInput)
	}
	return a.Add(b)
}

// Plan decides what the batch writes, reading the payments it needs
// through lookup. It never changes b.
//
// The rules:
//   - Payments: an update is matched by (Gateway, GatewayID), else by
//     PaymentID (which must be the same gateway's). An unknown payment is
//     created when the update has a GatewayID and an account (its own or
//     the batch's); without an account it is ErrUnattributed, without a
//     GatewayID ErrNotFound. Status only moves forward (Status.Advances);
//     GatewayID, Account, Reference, Amount, RedirectURL and CaptureBefore
//     are filled only where empty; a GatewayID other than the stored one is
//     ErrConflict. A payment the update leaves as it was is not written.
//   - Entries: validated; one without an Account takes its payment's
//     (Gateway, GatewayPaymentID), else the batch's Account, else the batch
//     fails with ErrUnattributed. It is linked to its payment and takes the
//     payment's reference when it has none. The same id twice in a batch is
//     one entry, or ErrConflict when the two differ.
//   - Money must match its payment: an entry in another currency than its
//     payment's, or a charge above the payment's amount that the gateway
//     did not flag as an Overpayment, fails the batch with ErrMismatch
//     (the Service parks it for review).
//   - Batch.Account: a payment or entry of the batch that already has
//     another account is ErrConflict.
//   - Version: a created payment is version 1; each change adds one.
//   - Times are kept as a Store keeps them: UTC, to the microsecond.
func (b *Batch) Plan(ctx context.Context, lookup PaymentLookup) (*Plan, error) {
	if b.Gateway == "" {
		return nil, fmt.Errorf("payments: batch without gateway: %w", ErrInvalidInput)
	}
	if b.Notification != nil && b.Notification.ID == "" {
		return nil, fmt.Errorf("payments: notification without id: %w", ErrInvalidInput)
	}
	if err := validateUpdates(b.Payments); err != nil {
		return nil, err
	}
	pl := &planner{b: b, lookup: lookup, now: storedTime(b.Now)}
	pl.plan = &Plan{batch: b, now: pl.now,
		Entries: make([]Entry, 0, len(b.Entries)), order: make([]int, 0, len(b.Entries))}
	for i := range b.Payments {
		if err := pl.update(ctx, &b.Payments[i]); err != nil {
			return nil, err
		}
	}
	for _, e := range b.Entries {
		if err := validateEntry(b.Gateway, &e); err != nil {
			return nil, err
		}
		if err := pl.entry(ctx, e); err != nil {
			return nil, err
		}
	}
	for _, m := range pl.mine {
		if m.created {
			pl.plan.Created = append(pl.plan.Created, *m.p)
		} else {
			pl.plan.Updated = append(pl.plan.Updated, *m.p)
		}
	}
	pl.plan.Result.Created = pl.plan.Created
	return pl.plan, nil
}

// validateUpdates checks every payment update.
func validateUpdates(updates []PaymentUpdate) error {
	for i := range updates {
		u := &updates[i]
		if u.GatewayID == "" && u.PaymentID == "" {
			return fmt.Errorf("payments: payment update without gateway id or payment id: %w", ErrInvalidInput)
		}
		if u.Status != "" && !u.Status.Valid() {
			return fmt.Errorf("payments: payment %s: unknown status %q: %w", u.GatewayID, u.Status, ErrInvalidInput)
		}
	}
	return nil
}

// validateEntry checks one entry of gateway's, filling in its gateway and
// its id.
func validateEntry(gateway string, e *Entry) error {
	if e.Gateway == "" {
		e.Gateway = gateway
	}
	if e.Gateway != gateway {
		return fmt.Errorf("payments: entry %s of gateway %q in a %q batch: %w", e.GatewayRef, e.Gateway, gateway, ErrInvalidInput)
	}
	return e.validate()
}

// planner is one Batch.Plan call. A batch names a payment or two, so its
// memory is kept in slices searched in turn rather than in maps.
type planner struct {
	b      *Batch
	lookup PaymentLookup
	now    time.Time
	plan   *Plan
	// mine are the payments the batch creates or changes, as it leaves
	// them, in the order it first touched them.
	mine []minePayment
	// looked memoizes the look-ups made, nil for none found.
	looked []lookedUp
}

type minePayment struct {
	p       *Payment
	created bool
}

type lookedUp struct {
	byGatewayID bool
	key         string
	p           *Payment
}

// own returns the batch's copy of the payment with the library id, or nil.
func (pl *planner) own(id string) *Payment {
	for _, m := range pl.mine {
		if m.p.ID == id {
			return m.p
		}
	}
	return nil
}

// find memoizes one look-up.
func (pl *planner) find(ctx context.Context, byGatewayID bool, key string) (*Payment, error) {
	for _, l := range pl.looked {
		if l.byGatewayID == byGatewayID && l.key == key {
			return l.p, nil
		}
	}
	var p *Payment
	var err error
	if byGatewayID {
		p, err = pl.lookup.PaymentByGatewayID(ctx, pl.b.Gateway, key)
	} else {
		p, err = pl.lookup.PaymentByID(ctx, key)
	}
	if err != nil {
		return nil, err
	}
	pl.looked = append(pl.looked, lookedUp{byGatewayID, key, p})
	// Remember it under its other key too: an entry may name by gateway
	// id the payment an update named by library id.
	switch {
	case p != nil && byGatewayID:
		pl.looked = append(pl.looked, lookedUp{false, p.ID, p})
	case p != nil && p.GatewayID != "" && p.Gateway == pl.b.Gateway:
		pl.looked = append(pl.looked, lookedUp{true, p.GatewayID, p})
	}
	return p, nil
}

// byGatewayID returns the batch's copy, a stored payment, or nil.
func (pl *planner) byGatewayID(ctx context.Context, gatewayID string) (*Payment, error) {
	if gatewayID == "" {
		return nil, nil
	}
	// The batch may have created the payment, or given a stored one this
	// gateway id.
	for _, m := range pl.mine {
		if m.p.GatewayID == gatewayID {
			return m.p, nil
		}
	}
	p, err := pl.find(ctx, true, gatewayID)
	if p == nil || err != nil {
		return nil, err
	}
	if q := pl.own(p.ID); q != nil {
		return q, nil
	}
	return p, nil
}

// byID returns the batch's copy, a stored payment, or nil.
func (pl *planner) byID(ctx context.Context, id string) (*Payment, error) {
	if q := pl.own(id); q != nil {
		return q, nil
	}
	return pl.find(ctx, false, id)
}

// update applies one payment update.
func (pl *planner) update(ctx context.Context, u *PaymentUpdate) error {
	gateway := pl.b.Gateway
	p, err := pl.byGatewayID(ctx, u.GatewayID)
	if err != nil {
		return err
	}
	if p == nil && u.PaymentID != "" {
		if p, err = pl.byID(ctx, u.PaymentID); err != nil {
			return err
		}
		if p != nil && p.Gateway != gateway {
			return fmt.Errorf("payments: payment %s belongs to %s, not %s: %w", p.ID, p.Gateway, gateway, ErrConflict)
		}
	}
	if err := pl.checkAccount(u.Account, "payment update", u.GatewayID); err != nil {
		return err
	}
	merged := *u
	if merged.Account == "" {
		merged.Account = pl.b.Account
	}
	if merged.Reference == "" {
		merged.Reference = pl.b.Reference
	}
	if p == nil {
		return pl.create(&merged)
	}
	if p.GatewayID != "" && u.GatewayID != "" && p.GatewayID != u.GatewayID {
		return fmt.Errorf("payments: payment %s has gateway id %s, not %s: %w", p.ID, p.GatewayID, u.GatewayID, ErrConflict)
	}
	if err := pl.checkAccount(p.Account, "payment", p.ID); err != nil {
		return err
	}
	// When p was found by PaymentID, u.GatewayID was looked up first and
	// names no payment, so filling it in cannot take another's.
	next := *p
	from := next.Status
	if !merge(&next, &merged, pl.now) {
		return nil
	}
	next.Version++
	pl.write(&next)
	if next.Status != from {
		pl.plan.Result.Changes = append(pl.plan.Result.Changes, StatusChange{Payment: next, From: from, To: next.Status})
	}
	return nil
}

// create records a payment first heard of from its gateway.
func (pl *planner) create(u *PaymentUpdate) error {
	if u.Account == "" {
		return fmt.Errorf("payments: unknown %s payment %s: %w", pl.b.Gateway, u.GatewayID, ErrUnattributed)
	}
	if u.GatewayID == "" {
		return fmt.Errorf("payments: unknown payment %s: %w", u.PaymentID, ErrNotFound)
	}
	p := &Payment{ID: u.PaymentID, Gateway: pl.b.Gateway, Status: StatusPending, Version: 1, CreatedAt: pl.now}
	if p.ID == "" {
		p.ID = newID("pay")
	}
	merge(p, u, pl.now)
	pl.mine = append(pl.mine, minePayment{p: p, created: true})
	return nil
}

// write makes p the batch's version of a payment it created or changed.
func (pl *planner) write(p *Payment) {
	for i := range pl.mine {
		if pl.mine[i].p.ID == p.ID {
			*pl.mine[i].p = *p
			return
		}
	}
	c := *p
	pl.mine = append(pl.mine, minePayment{p: &c})
}

// checkAccount refuses a payment or an entry of another account than the
// one the batch vouches for.
func (pl *planner) checkAccount(account, what, id string) error {
	if pl.b.Account != "" && account != "" && account != pl.b.Account {
		return fmt.Errorf("payments: %s %s belongs to another account than %s: %w", what, id, pl.b.Account, ErrConflict)
	}
	return nil
}

// merge applies u to p: GatewayID, Account, Reference, Amount, RedirectURL
// and CaptureBefore only where p has none, and Status only forward. It
// reports whether p changed, and then sets UpdatedAt.
func merge(p *Payment, u *PaymentUpdate, now time.Time) bool {
	changed := false
	fill := func(dst *string, v string) {
		if *dst == "" && v != "" {
			*dst, changed = v, true
		}
	}
	fill(&p.GatewayID, u.GatewayID)
	fill(&p.Account, u.Account)
	fill(&p.Reference, u.Reference)
	fill(&p.RedirectURL, u.RedirectURL)
	if p.Amount.Currency == "" && u.Amount.Currency != "" {
		p.Amount, changed = u.Amount, true
	}
	if p.CaptureBefore.IsZero() && !u.CaptureBefore.IsZero() {
		p.CaptureBefore, changed = storedTime(u.CaptureBefore), true
	}
	if u.Status != "" && p.Status.Advances(u.Status) {
		p.Status, changed = u.Status, true
	}
	if changed {
		p.UpdatedAt = now
	}
	return changed
}

// entry attributes, links and times one entry.
func (pl *planner) entry(ctx context.Context, e Entry) error {
	if i := pl.plan.entryIndex(e.ID); i >= 0 {
		first := pl.plan.Entries[i]
		if e.Account == "" {
			e.Account = first.Account // the same movement's, attributed alike
		}
		if !sameMovement(&first, &e) {
			return conflictError(&first, &e)
		}
		pl.plan.order = append(pl.plan.order, i)
		return nil
	}
	p, err := pl.byGatewayID(ctx, e.GatewayPaymentID)
	if err != nil {
		return err
	}
	if p != nil {
		if err := pl.checkAccount(p.Account, "payment", p.ID); err != nil {
			return err
		}
		if err := matches(&e, p); err != nil {
			return err
		}
		e.Overpayment = false // an instruction to the ledger, not stored
		e.PaymentID = p.ID
		if e.Account == "" {
			e.Account = p.Account
		}
		if e.Reference == "" {
			e.Reference = p.Reference
		}
	}
	if err := pl.checkAccount(e.Account, "entry", e.ID); err != nil {
		return err
	}
	if e.Account == "" {
		e.Account = pl.b.Account
	}
	if e.Reference == "" {
		e.Reference = pl.b.Reference
	}
	if e.Account == "" {
		return fmt.Errorf("payments: entry %s of %s payment %q: %w", e.GatewayRef, e.Gateway, e.GatewayPaymentID, ErrUnattributed)
	}
	if err := checkSettlement(&e); err != nil {
		return err
	}
	e.RecordedAt, e.OccurredAt = pl.now, storedTime(e.OccurredAt)
	if e.OccurredAt.IsZero() {
		e.OccurredAt = pl.now
	}
	pl.plan.order = append(pl.plan.order, len(pl.plan.Entries))
	pl.plan.Entries = append(pl.plan.Entries, e)
	return nil
}

// entryIndex returns the index in Entries of the entry with the id, or -1.
func (p *Plan) entryIndex(id string) int {
	for i := range p.Entries {
		if p.Entries[i].ID == id {
			return i
		}
	}
	return -1
}

// checkSettlement refuses a conversion that cannot be the entry's: an
// unknown currency, a malformed rate, or an amount of the other sign.
func checkSettlement(e *Entry) error {
	c := e.Settlement
	if c == nil {
		return nil
	}
	if _, ok := c.Money.Currency.Exponent(); !ok {
		return fmt.Errorf("payments: entry %s: settlement currency %q: %w", e.ID, c.Money.Currency, ErrInvalidInput)
	}
	if c.Pending() {
		cp := Conversion{Money: Money{Currency: c.Money.Currency}}
		e.Settlement = &cp
		return nil
	}
	if _, err := parseRate(c.Rate); err != nil {
		return fmt.Errorf("payments: entry %s: %w", e.ID, err)
	}
	if c.Money.Amount != 0 && (c.Money.Amount > 0) != (e.Amount.Amount > 0) {
		return fmt.Errorf("payments: entry %s: settled %s for %s: %w", e.ID, c.Money, e.Amount, ErrInvalidInput)
	}
	cp := *c
	cp.At = storedTime(cp.At)
	e.Settlement = &cp
	return nil
}

// matches refuses money that does not match the payment it is linked to:
// another currency, or a charge above the payment's amount that the
// gateway did not report as an overpayment. A payment that names no amount
// takes what comes.
func matches(e *Entry, p *Payment) error {
	want := p.Amount
	switch {
	case want.Currency == "":
		return nil
	case e.Amount.Currency != want.Currency:
		return fmt.Errorf("payments: %s %s of %s for payment %s of %s: another currency: %w",
			e.Kind, e.GatewayRef, e.Amount, p.ID, want, ErrMismatch)
	case e.Kind == KindCharge && e.Amount.Amount > want.Amount && !e.Overpayment:
		return fmt.Errorf("payments: charge %s of %s for payment %s of %s: more than asked, and the gateway reports no overpayment: %w",
			e.GatewayRef, e.Amount, p.ID, want, ErrMismatch)
	}
	return nil
}

// Settle completes the plan once the Store has inserted Entries: recorded
// holds the stored entry of every id whose insert found it taken (nil when
// none was). The same movement recorded before is a duplicate; another one
// under the same key fails the batch with ErrConflict. A balance the new
// entries would take beyond int64 fails it with ErrInvalidInput.
func (p *Plan) Settle(recorded map[string]Entry) error {
	if p.settled {
		return fmt.Errorf("payments: plan settled twice: %w", ErrInvalidInput)
	}
	// Settled even when it fails: a failed plan is never persisted, and is
	// not settled again from the state the failure left.
	p.settled = true
	// An entry is fresh until found recorded, and emitted once it has
	// been reported as new: a repeat of it in the batch is a duplicate.
	const fresh, emitted = 1, 2
	var small [8]uint8
	state := small[:0]
	if len(p.Entries) > len(small) {
		state = make([]uint8, len(p.Entries))
	}
	state = state[:len(p.Entries)]
	for i := range p.Entries {
		e := &p.Entries[i]
		old, taken := recorded[e.ID]
		if !taken {
			state[i] = fresh
			continue
		}
		if !sameMovement(&old, e) {
			return conflictError(&old, e)
		}
		p.Entries[i] = old
	}
	res := &p.Result
	for _, i := range p.order {
		e := p.Entries[i]
		if state[i] != fresh {
			res.Duplicates = append(res.Duplicates, e)
			continue
		}
		state[i] = emitted
		res.Entries = append(res.Entries, e)
		if err := p.addToBalance(e); err != nil {
			return err
		}
		t := SyncTask{Entry: e, State: SyncPending, NextAttempt: p.now}
		switch b := p.batch; {
		case e.Settlement.Pending():
			// Nothing is credited at a guessed rate: the task waits until
			// Store.SettleEntry makes it due.
			t.NextAttempt = awaitingRate
		case b.SyncOwner != "":
			t.LeaseOwner, t.LeaseUntil = b.SyncOwner, storedTime(b.SyncLeaseUntil)
		}
		p.Tasks = append(p.Tasks, t)
	}
	if p.batch.Postbacks {
		msgs, err := messages(res, p.now)
		if err != nil {
			return err
		}
		p.Messages = msgs
	}
	if n := p.batch.Notification; n != nil {
		j := *n
		j.Outcome = outcomeOf(nil, res, nil)
		res.Outcome = j.Outcome
		p.Journal = &j
		if j.ReplayOf != "" && (j.Outcome == OutcomeRecorded || j.Outcome == OutcomeDuplicate) {
			p.Resolves = j.ReplayOf
		}
	}
	return nil
}

// addToBalance adds a new entry to its balance's change.
func (p *Plan) addToBalance(e Entry) error {
	i := slices.IndexFunc(p.Balances, func(c BalanceChange) bool {
		return c.Account == e.Account && c.Currency == e.Amount.Currency
	})
	if i < 0 {
		i = len(p.Balances)
		p.Balances = append(p.Balances, BalanceChange{Account: e.Account, Currency: e.Amount.Currency})
	}
	next := BalanceChange{
		Amount: e.Amount.Amount, Entries: 1,
		Low: min(0, e.Amount.Amount), High: max(0, e.Amount.Amount), UpdatedAt: p.now,
	}
	if c := e.Settlement; c != nil && !c.Pending() {
		next.Settled = c.Money
	}
	c, err := p.Balances[i].Then(next)
	if err != nil {
		return fmt.Errorf("payments: entry %s: %w", e.ID, err)
	}
	p.Balances[i] = c
	return nil
}

// awaitingRate is the NextAttempt of the sync task of an entry that waits
// for a rate: later than any claim.
var awaitingRate = time.Date(9999, time.January, 1, 0, 0, 0, 0, time.UTC)

// sameMovement reports whether two entries under one key describe the same
// money movement: anything else under that key contradicts the ledger.
func sameMovement(a, b *Entry) bool {
	return a.Amount == b.Amount && a.Account == b.Account
}

func conflictError(old, e *Entry) error {
	return fmt.Errorf("payments: entry %s (%s %s) recorded as %s for %s, now %s for %s: %w",
		old.ID, old.Kind, old.GatewayRef, old.Amount, old.Account, e.Amount, e.Account, ErrConflict)
}

// storedTime is t as every Store keeps it: UTC, to the microsecond. The
// zero time stays zero.
func storedTime(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return time.UnixMicro(t.UnixMicro()).UTC()
}
