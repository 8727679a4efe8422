// Package memory is an in-memory payments.Store for tests and demos. It keeps
// nothing across restarts; use store/sqlite or store/postgres for real money.
package memory

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// Store is a goroutine-safe in-memory payments.Store. One mutex serializes
// every write, which makes each Commit trivially atomic.
type Store struct {
	mu            sync.Mutex
	payments      map[string]*payments.Payment // by library id
	byGatewayID   map[gatewayKey]string        // (gateway, gateway id) → library id
	entries       map[string]*payments.Entry   // by entry id
	entryOrder    []string
	balances      map[balanceKey]*payments.Balance
	notifications []*payments.Notification
	notifByID     map[string]*payments.Notification
	sync          map[string]*payments.SyncTask // by entry id
	syncOrder     []string
	closed        bool
}

type gatewayKey struct{ gateway, id string }

type balanceKey struct {
	account  string
	currency payments.Currency
}

// New returns an empty Store.
func New() *Store {
	return &Store{
		payments:    map[string]*payments.Payment{},
		byGatewayID: map[gatewayKey]string{},
		entries:     map[string]*payments.Entry{},
		balances:    map[balanceKey]*payments.Balance{},
		notifByID:   map[string]*payments.Notification{},
		sync:        map[string]*payments.SyncTask{},
	}
}

var _ payments.Store = (*Store)(nil)

func (s *Store) lock() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return fmt.Errorf("memory: store is closed")
	}
	return nil
}

// CreatePayment implements payments.Store.
func (s *Store) CreatePayment(ctx context.Context, p *payments.Payment) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if p.ID == "" || p.Gateway == "" {
		return fmt.Errorf("memory: payment without id or gateway: %w", payments.ErrInvalidInput)
	}
	if _, taken := s.payments[p.ID]; taken {
		return fmt.Errorf("memory: payment %s exists: %w", p.ID, payments.ErrConflict)
	}
	if p.GatewayID != "" {
		if _, taken := s.byGatewayID[gatewayKey{p.Gateway, p.GatewayID}]; taken {
			return fmt.Errorf("memory: payment %s/%s exists: %w", p.Gateway, p.GatewayID, payments.ErrConflict)
		}
	}
	s.putPayment(clonePayment(p))
	return nil
}

func (s *Store) putPayment(p *payments.Payment) {
	p.ClientSecret = ""
	s.payments[p.ID] = p
	if p.GatewayID != "" {
		s.byGatewayID[gatewayKey{p.Gateway, p.GatewayID}] = p.ID
	}
}

// Payment implements payments.Store.
func (s *Store) Payment(ctx context.Context, id string) (*payments.Payment, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return nil, fmt.Errorf("memory: payment %s: %w", id, payments.ErrNotFound)
	}
	return clonePayment(p), nil
}

// PaymentByGatewayID implements payments.Store.
func (s *Store) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	id, ok := s.byGatewayID[gatewayKey{gateway, gatewayID}]
	if !ok {
		return nil, fmt.Errorf("memory: payment %s/%s: %w", gateway, gatewayID, payments.ErrNotFound)
	}
	return clonePayment(s.payments[id]), nil
}

// Commit implements payments.Store. It works on copies and swaps them in only
// when the whole batch succeeded, so a failing batch leaves nothing behind.
func (s *Store) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	if err := b.Validate(); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	if b.Notification != nil {
		if err := s.checkNotification(b.Notification); err != nil {
			return nil, err
		}
	}
	tx := &txn{s: s, payments: map[string]*payments.Payment{}, balances: map[balanceKey]*payments.Balance{}}
	res := &payments.BatchResult{}
	for i := range b.Payments {
		if err := tx.applyUpdate(b.Gateway, &b.Payments[i], b.Now, res); err != nil {
			return nil, err
		}
	}
	var fresh []*payments.Entry
	for i := range b.Entries {
		e, dup, err := tx.recordEntry(b.Entries[i], b.Now)
		if err != nil {
			return nil, err
		}
		if dup {
			res.Duplicates = append(res.Duplicates, *e)
			continue
		}
		fresh = append(fresh, e)
		res.Entries = append(res.Entries, *e)
	}
	// Everything validated: publish the transaction.
	for _, p := range tx.payments {
		s.putPayment(p)
	}
	maps.Copy(s.balances, tx.balances)
	for _, e := range fresh {
		s.entries[e.ID] = e
		s.entryOrder = append(s.entryOrder, e.ID)
		t := &payments.SyncTask{Entry: *e, State: payments.SyncPending, NextAttempt: b.Now}
		if b.SyncOwner != "" {
			t.LeaseOwner, t.LeaseUntil = b.SyncOwner, b.SyncLeaseUntil
		}
		s.sync[e.ID] = t
		s.syncOrder = append(s.syncOrder, e.ID)
	}
	if b.Notification != nil {
		b.Notification.Outcome = payments.OutcomeDuplicate
		if !res.Empty() {
			b.Notification.Outcome = payments.OutcomeRecorded
		}
		s.appendNotification(b.Notification)
	}
	return res, nil
}

// txn holds a batch's writes until it is known to succeed.
type txn struct {
	s        *Store
	payments map[string]*payments.Payment
	balances map[balanceKey]*payments.Balance
	entries  map[string]*payments.Entry
}

func (t *txn) payment(id string) *payments.Payment {
	if p, ok := t.payments[id]; ok {
		return p
	}
	if p, ok := t.s.payments[id]; ok {
		c := clonePayment(p)
		t.payments[id] = c
		return c
	}
	return nil
}

func (t *txn) paymentByGatewayID(gateway, gatewayID string) *payments.Payment {
	if gatewayID == "" {
		return nil
	}
	for _, p := range t.payments {
		if p.Gateway == gateway && p.GatewayID == gatewayID {
			return p
		}
	}
	if id, ok := t.s.byGatewayID[gatewayKey{gateway, gatewayID}]; ok {
		return t.payment(id)
	}
	return nil
}

func (t *txn) applyUpdate(gateway string, u *payments.PaymentUpdate, now time.Time, res *payments.BatchResult) error {
	p := t.paymentByGatewayID(gateway, u.GatewayID)
	if p == nil && u.PaymentID != "" {
		if p = t.payment(u.PaymentID); p != nil && p.Gateway != gateway {
			return fmt.Errorf("memory: payment %s belongs to %s, not %s: %w", p.ID, p.Gateway, gateway, payments.ErrConflict)
		}
	}
	if p == nil {
		if u.Account == "" {
			return fmt.Errorf("memory: unknown %s payment %s: %w", gateway, u.GatewayID, payments.ErrUnattributed)
		}
		if u.GatewayID == "" {
			return fmt.Errorf("memory: unknown payment %s: %w", u.PaymentID, payments.ErrNotFound)
		}
		p = &payments.Payment{
			ID: u.PaymentID, Gateway: gateway, GatewayID: u.GatewayID,
			Status: payments.StatusPending, CreatedAt: now,
		}
		if p.ID == "" {
			p.ID = payments.NewPaymentID()
		}
		payments.MergeUpdate(p, u, now)
		t.payments[p.ID] = p
		res.Created = append(res.Created, *clonePayment(p))
		return nil
	}
	if p.GatewayID != "" && u.GatewayID != "" && p.GatewayID != u.GatewayID {
		return fmt.Errorf("memory: payment %s has gateway id %s, not %s: %w", p.ID, p.GatewayID, u.GatewayID, payments.ErrConflict)
	}
	if p.GatewayID == "" && u.GatewayID != "" {
		if t.paymentByGatewayID(gateway, u.GatewayID) != nil {
			return fmt.Errorf("memory: %s payment %s exists: %w", gateway, u.GatewayID, payments.ErrConflict)
		}
	}
	from := p.Status
	if payments.MergeUpdate(p, u, now) {
		res.Changes = append(res.Changes, payments.StatusChange{Payment: *clonePayment(p), From: from, To: p.Status})
	}
	return nil
}

func (t *txn) recordEntry(e payments.Entry, now time.Time) (*payments.Entry, bool, error) {
	if e.Account == "" {
		p := t.paymentByGatewayID(e.Gateway, e.GatewayPaymentID)
		if p == nil || p.Account == "" {
			return nil, false, fmt.Errorf("memory: entry %s of %s payment %q: %w", e.GatewayRef, e.Gateway, e.GatewayPaymentID, payments.ErrUnattributed)
		}
		e.Account = p.Account
	}
	if old, ok := t.s.entries[e.ID]; ok {
		return t.duplicate(old, &e)
	}
	if old, ok := t.entries[e.ID]; ok {
		return t.duplicate(old, &e)
	}
	if p := t.paymentByGatewayID(e.Gateway, e.GatewayPaymentID); p != nil {
		e.PaymentID = p.ID
		if e.Reference == "" {
			e.Reference = p.Reference
		}
	}
	e.RecordedAt = now
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	key := balanceKey{e.Account, e.Amount.Currency}
	bal, ok := t.balances[key]
	if !ok {
		bal = &payments.Balance{Account: e.Account, Money: payments.Money{Currency: e.Amount.Currency}}
		if old, ok := t.s.balances[key]; ok {
			*bal = *old
		}
		t.balances[key] = bal
	}
	sum, err := payments.AddAmounts(bal.Money.Amount, e.Amount.Amount)
	if err != nil {
		return nil, false, fmt.Errorf("memory: entry %s: %w", e.ID, err)
	}
	bal.Money.Amount, bal.Entries, bal.UpdatedAt = sum, bal.Entries+1, now
	if t.entries == nil {
		t.entries = map[string]*payments.Entry{}
	}
	t.entries[e.ID] = &e
	return &e, false, nil
}

func (t *txn) duplicate(old, e *payments.Entry) (*payments.Entry, bool, error) {
	if !old.SameMovement(e) {
		return nil, false, fmt.Errorf("memory: entry %s (%s %s) recorded as %s for %s, now %s for %s: %w",
			old.ID, old.Kind, old.GatewayRef, old.Amount, old.Account, e.Amount, e.Account, payments.ErrConflict)
	}
	c := *old
	return &c, true, nil
}

// Entries implements payments.Store.
func (s *Store) Entries(ctx context.Context, f payments.EntryFilter) ([]payments.Entry, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.Entry
	for _, id := range s.entryOrder {
		e := s.entries[id]
		if (f.Account != "" && e.Account != f.Account) || (f.PaymentID != "" && e.PaymentID != f.PaymentID) ||
			(f.Gateway != "" && e.Gateway != f.Gateway) {
			continue
		}
		out = append(out, *e)
	}
	// Commit order is not the listing order: batches may carry clocks out
	// of order, and a batch's entries share one RecordedAt.
	slices.SortFunc(out, func(a, b payments.Entry) int {
		return cmp.Or(a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.ID, b.ID))
	})
	return out[:min(len(out), payments.EffectiveLimit(f.Limit))], nil
}

// Balance implements payments.Store.
func (s *Store) Balance(ctx context.Context, account string, currency payments.Currency) (payments.Balance, error) {
	if err := s.lock(); err != nil {
		return payments.Balance{}, err
	}
	defer s.mu.Unlock()
	if b, ok := s.balances[balanceKey{account, currency}]; ok {
		return *b, nil
	}
	return payments.Balance{Account: account, Money: payments.Money{Currency: currency}}, nil
}

// Balances implements payments.Store.
func (s *Store) Balances(ctx context.Context, account string) ([]payments.Balance, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.Balance
	for k, b := range s.balances {
		if k.account == account {
			out = append(out, *b)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Money.Currency < out[j].Money.Currency })
	return out, nil
}

// AppendNotification implements payments.Store.
func (s *Store) AppendNotification(ctx context.Context, n *payments.Notification) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if err := s.checkNotification(n); err != nil {
		return err
	}
	s.appendNotification(n)
	return nil
}

// checkNotification refuses a journal row whose id is missing or taken, in
// AppendNotification and in Commit alike: the id is the journal's key.
func (s *Store) checkNotification(n *payments.Notification) error {
	if n.ID == "" {
		return fmt.Errorf("memory: notification without id: %w", payments.ErrInvalidInput)
	}
	if _, taken := s.notifByID[n.ID]; taken {
		return fmt.Errorf("memory: notification %s exists: %w", n.ID, payments.ErrConflict)
	}
	return nil
}

func (s *Store) appendNotification(n *payments.Notification) {
	c := cloneNotification(n)
	s.notifications = append(s.notifications, c)
	s.notifByID[c.ID] = c
}

// Notification implements payments.Store.
func (s *Store) Notification(ctx context.Context, id string) (*payments.Notification, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	n, ok := s.notifByID[id]
	if !ok {
		return nil, fmt.Errorf("memory: notification %s: %w", id, payments.ErrNotFound)
	}
	return cloneNotification(n), nil
}

// Notifications implements payments.Store.
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.Notification
	for i := len(s.notifications) - 1; i >= 0; i-- {
		n := s.notifications[i]
		if (f.Gateway != "" && n.Gateway != f.Gateway) || (f.Outcome != "" && n.Outcome != f.Outcome) {
			continue
		}
		out = append(out, *n)
	}
	// Newest by ReceivedAt, not by journaling order: a slow request is
	// journaled after requests that arrived later. Ties stay newest
	// journaled first.
	slices.SortStableFunc(out, func(a, b payments.Notification) int { return b.ReceivedAt.Compare(a.ReceivedAt) })
	out = out[:min(len(out), payments.EffectiveLimit(f.Limit))]
	for i := range out {
		out[i] = *cloneNotification(&out[i])
	}
	return out, nil
}

// ClaimSync implements payments.Store.
func (s *Store) ClaimSync(ctx context.Context, c payments.SyncClaim) ([]payments.SyncTask, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.SyncTask
	limit := payments.EffectiveLimit(c.Limit)
	for _, id := range s.syncOrder {
		t := s.sync[id]
		if t.State != payments.SyncPending || t.NextAttempt.After(c.Now) || t.LeaseUntil.After(c.Now) {
			continue
		}
		t.LeaseOwner, t.LeaseUntil = c.Owner, c.Now.Add(c.Lease)
		out = append(out, *t)
		if len(out) == limit {
			break
		}
	}
	return out, nil
}

// SettleSync implements payments.Store.
func (s *Store) SettleSync(ctx context.Context, st payments.SyncSettlement) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.sync[st.EntryID]
	if !ok {
		return fmt.Errorf("memory: sync task %s: %w", st.EntryID, payments.ErrNotFound)
	}
	if t.State != payments.SyncPending || t.LeaseOwner != st.Owner {
		return fmt.Errorf("memory: sync task %s is not leased to %s: %w", st.EntryID, st.Owner, payments.ErrConflict)
	}
	t.State, t.Attempts, t.NextAttempt, t.LastError = st.State, st.Attempts, st.NextAttempt, st.LastError
	t.LeaseOwner, t.LeaseUntil = "", time.Time{}
	return nil
}

// SyncTasks implements payments.Store.
func (s *Store) SyncTasks(ctx context.Context, f payments.SyncFilter) ([]payments.SyncTask, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.SyncTask
	limit := payments.EffectiveLimit(f.Limit)
	for _, id := range s.syncOrder {
		if t := s.sync[id]; f.State == "" || t.State == f.State {
			out = append(out, *t)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// RequeueSync implements payments.Store.
func (s *Store) RequeueSync(ctx context.Context, entryID string, now time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	t, ok := s.sync[entryID]
	if !ok {
		return fmt.Errorf("memory: sync task %s: %w", entryID, payments.ErrNotFound)
	}
	if t.State != payments.SyncParked {
		return fmt.Errorf("memory: sync task %s is %s, not parked: %w", entryID, t.State, payments.ErrConflict)
	}
	t.State, t.Attempts, t.NextAttempt, t.LastError = payments.SyncPending, 0, now, ""
	return nil
}

// Close implements payments.Store; later calls fail.
func (s *Store) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}

func clonePayment(p *payments.Payment) *payments.Payment {
	c := *p
	c.Metadata = maps.Clone(p.Metadata)
	return &c
}

func cloneNotification(n *payments.Notification) *payments.Notification {
	c := *n
	c.Body = slices.Clone(n.Body)
	c.Header = cloneHeader(n.Header)
	return &c
}

func cloneHeader(h http.Header) http.Header {
	if h == nil {
		return nil
	}
	return h.Clone()
}
