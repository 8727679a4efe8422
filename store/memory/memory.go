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
	"github.com/payrail/payments/internal/cursor"
)

// Store is a goroutine-safe in-memory payments.Store. One mutex serializes
// every write, which makes each Commit trivially atomic.
type Store struct {
	mu            sync.Mutex
	payments      map[string]*payments.Payment // by library id
	byGatewayID   map[gatewayKey]string        // (gateway, gateway id) → library id
	entries       map[string]*payments.Entry   // by entry id
	balances      map[balanceKey]*payments.Balance
	notifications []*payments.Notification
	notifByID     map[string]*payments.Notification
	sync          map[string]*payments.SyncTask // by entry id
	syncOrder     []string
	pb            postbacks
	holds         map[string]*holdState // by payment id
	cursors       map[string]string     // by name (CursorStore)
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

// Commit implements payments.Store: it plans the batch against the stored
// payments under the store's one lock, checks everything the plan could
// fail on, and only then writes, so a failing batch leaves nothing behind.
func (s *Store) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	plan, err := b.Plan(ctx, lookup{s})
	if err != nil {
		return nil, err
	}
	if b.Notification != nil {
		if err := s.checkNotification(b.Notification); err != nil {
			return nil, err
		}
	}
	var recorded map[string]payments.Entry
	for _, e := range plan.Entries {
		if old, ok := s.entries[e.ID]; ok {
			if recorded == nil {
				recorded = map[string]payments.Entry{}
			}
			recorded[e.ID] = *old
		}
	}
	if err := plan.Settle(recorded); err != nil {
		return nil, err
	}
	for _, c := range plan.Balances {
		low, high := c.Bounds()
		if cur := s.balanceOf(c.Account, c.Currency).Money.Amount; cur < low || cur > high {
			return nil, fmt.Errorf("memory: balance of %s in %s would overflow: %w", c.Account, c.Currency, payments.ErrInvalidInput)
		}
	}
	// Nothing can fail from here on.
	for _, list := range [][]payments.Payment{plan.Created, plan.Updated} {
		for i := range list {
			s.putPayment(clonePayment(&list[i]))
		}
	}
	for _, e := range plan.Result.Entries {
		stored := cloneEntry(&e)
		s.entries[e.ID] = &stored
	}
	for _, c := range plan.Balances {
		if cur := s.balanceOf(c.Account, c.Currency).Settled.Currency; c.Settled.Currency != "" && cur != "" && cur != c.Settled.Currency {
			return nil, fmt.Errorf("memory: balance of %s in %s is settled in %s, not %s: %w", c.Account, c.Currency, cur, c.Settled.Currency, payments.ErrConflict)
		}
	}
	for _, c := range plan.Balances {
		bal := s.balanceOf(c.Account, c.Currency)
		if c.Settled.Currency != "" {
			bal.Settled.Currency = c.Settled.Currency
			bal.Settled.Amount += c.Settled.Amount
		}
		bal.Money.Amount += c.Amount
		bal.Entries += c.Entries
		bal.UpdatedAt = c.UpdatedAt
		s.balances[balanceKey{c.Account, c.Currency}] = &bal
	}
	for _, t := range plan.Tasks {
		t.Entry = cloneEntry(&t.Entry)
		s.sync[t.Entry.ID] = &t
		s.syncOrder = append(s.syncOrder, t.Entry.ID)
	}
	if len(plan.Messages) > 0 {
		s.queuePostbacks(plan.Messages, b.Now)
	}
	if plan.Journal != nil {
		s.appendNotification(plan.Journal)
	}
	if n, ok := s.notifByID[plan.Resolves]; ok && n.ResolvedBy == "" {
		n.ResolvedBy = plan.Journal.ID
	}
	return &plan.Result, nil
}

// lookup reads the stored payments for the planner.
type lookup struct{ s *Store }

func (l lookup) PaymentByID(ctx context.Context, id string) (*payments.Payment, error) {
	if p, ok := l.s.payments[id]; ok {
		return clonePayment(p), nil
	}
	return nil, nil
}

func (l lookup) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	if id, ok := l.s.byGatewayID[gatewayKey{gateway, gatewayID}]; ok {
		return clonePayment(l.s.payments[id]), nil
	}
	return nil, nil
}

// balanceOf returns a copy of a balance, zero when there is none.
func (s *Store) balanceOf(account string, currency payments.Currency) payments.Balance {
	if b, ok := s.balances[balanceKey{account, currency}]; ok {
		return *b
	}
	return payments.Balance{Account: account, Money: payments.Money{Currency: currency}}
}

// Entries implements payments.Store.
func (s *Store) Entries(ctx context.Context, f payments.EntryFilter) ([]payments.Entry, string, error) {
	after, err := decodeAfter(f.After)
	if err != nil {
		return nil, "", err
	}
	if err := s.lock(); err != nil {
		return nil, "", err
	}
	defer s.mu.Unlock()
	var out []payments.Entry
	for _, e := range s.entries {
		if (f.Account != "" && e.Account != f.Account) || (f.PaymentID != "" && e.PaymentID != f.PaymentID) ||
			(f.Gateway != "" && e.Gateway != f.Gateway) {
			continue
		}
		if after != nil && compareKey(e.RecordedAt, e.ID, *after) <= 0 {
			continue
		}
		if f.Unsettled && !e.Settlement.Pending() {
			continue
		}
		out = append(out, cloneEntry(e))
	}
	slices.SortFunc(out, func(a, b payments.Entry) int {
		return cmp.Or(a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.ID, b.ID))
	})
	return page(out, f.Limit, func(e payments.Entry) string {
		return cursor.Encode(cursor.Key{At: e.RecordedAt, ID: e.ID})
	})
}

func decodeAfter(after string) (*cursor.Key, error) {
	if after == "" {
		return nil, nil
	}
	k, err := cursor.Decode(after)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	return &k, nil
}

func compareKey(at time.Time, id string, k cursor.Key) int {
	return cmp.Or(at.Compare(k.At), cmp.Compare(id, k.ID))
}

// page cuts a sorted listing to the filter's limit and returns the cursor
// of the next page, "" when nothing is left.
func page[T any](rows []T, limit int, next func(T) string) ([]T, string, error) {
	limit = cursor.Limit(limit)
	if len(rows) <= limit {
		return rows, "", nil
	}
	rows = rows[:limit]
	return rows, next(rows[limit-1]), nil
}

// SettleEntry implements payments.Store.
func (s *Store) SettleEntry(ctx context.Context, entryID string, c payments.Conversion, now time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	e, ok := s.entries[entryID]
	if !ok {
		return fmt.Errorf("memory: entry %s: %w", entryID, payments.ErrNotFound)
	}
	if e.Settlement != nil && *e.Settlement == c {
		return nil
	}
	if !e.Settlement.Pending() || e.Settlement.Money.Currency != c.Money.Currency || c.Pending() {
		return fmt.Errorf("memory: entry %s waits for no conversion into %s: %w", entryID, c.Money.Currency, payments.ErrConflict)
	}
	bal := s.balanceOf(e.Account, e.Amount.Currency)
	if bal.Settled.Currency != "" && bal.Settled.Currency != c.Money.Currency {
		return fmt.Errorf("memory: balance of %s in %s is settled in %s: %w", e.Account, e.Amount.Currency, bal.Settled.Currency, payments.ErrConflict)
	}
	bal.Settled.Currency = c.Money.Currency
	bal.Settled.Amount += c.Money.Amount
	bal.UpdatedAt = now
	s.balances[balanceKey{e.Account, e.Amount.Currency}] = &bal
	cp := c
	e.Settlement = &cp
	if t, ok := s.sync[entryID]; ok {
		t.Entry.Settlement = &cp
		if t.State == payments.SyncPending {
			t.NextAttempt = now
		}
	}
	return nil
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

// PruneNotifications implements payments.Store.
func (s *Store) PruneNotifications(ctx context.Context, p payments.NotificationPrune) (int, error) {
	if err := s.lock(); err != nil {
		return 0, err
	}
	defer s.mu.Unlock()
	limit := cursor.Limit(p.Limit)
	kept := s.notifications[:0]
	pruned := 0
	for _, n := range s.notifications {
		unresolved := (n.Outcome == payments.OutcomeParked || n.Outcome == payments.OutcomeFailed) && n.ResolvedBy == ""
		if pruned < limit && n.Outcome == p.Outcome && n.ReceivedAt.Before(p.Before) && !unresolved {
			delete(s.notifByID, n.ID)
			pruned++
			continue
		}
		kept = append(kept, n)
	}
	clear(s.notifications[len(kept):])
	s.notifications = kept
	return pruned, nil
}

// Notifications implements payments.Store.
func (s *Store) Notifications(ctx context.Context, f payments.NotificationFilter) ([]payments.Notification, string, error) {
	after, err := decodeAfter(f.After)
	if err != nil {
		return nil, "", err
	}
	if err := s.lock(); err != nil {
		return nil, "", err
	}
	defer s.mu.Unlock()
	var out []payments.Notification
	for _, n := range s.notifications {
		if (f.Gateway != "" && n.Gateway != f.Gateway) || (f.Outcome != "" && n.Outcome != f.Outcome) ||
			(f.Unresolved && n.ResolvedBy != "") {
			continue
		}
		if after != nil && compareKey(n.ReceivedAt, n.ID, *after) >= 0 {
			continue
		}
		out = append(out, *cloneNotification(n))
	}
	// Newest by ReceivedAt, not by journaling order: a slow request is
	// journaled after requests that arrived later.
	slices.SortFunc(out, func(a, b payments.Notification) int {
		return cmp.Or(b.ReceivedAt.Compare(a.ReceivedAt), cmp.Compare(b.ID, a.ID))
	})
	return page(out, f.Limit, func(n payments.Notification) string {
		return cursor.Encode(cursor.Key{At: n.ReceivedAt, ID: n.ID})
	})
}

// ClaimSync implements payments.Store.
func (s *Store) ClaimSync(ctx context.Context, c payments.SyncClaim) ([]payments.SyncTask, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.SyncTask
	limit := cursor.Limit(c.Limit)
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

// SyncTasks implements payments.Store: tasks in queue order; the cursor is
// the position in the queue.
func (s *Store) SyncTasks(ctx context.Context, f payments.SyncFilter) ([]payments.SyncTask, string, error) {
	start := int64(0)
	if f.After != "" {
		seq, err := cursor.DecodeSeq(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("memory: %w", err)
		}
		start = seq + 1
	}
	if err := s.lock(); err != nil {
		return nil, "", err
	}
	defer s.mu.Unlock()
	limit := cursor.Limit(f.Limit)
	var out []payments.SyncTask
	for i := max(start, 0); i < int64(len(s.syncOrder)); i++ {
		t := s.sync[s.syncOrder[i]]
		if f.State != "" && t.State != f.State {
			continue
		}
		if len(out) == limit {
			return out, cursor.EncodeSeq(i - 1), nil
		}
		out = append(out, *t)
	}
	return out, "", nil
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

// cloneEntry copies an entry with its conversion, which callers may not
// share with the store.
func cloneEntry(e *payments.Entry) payments.Entry {
	c := *e
	if e.Settlement != nil {
		cp := *e.Settlement
		c.Settlement = &cp
	}
	return c
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
