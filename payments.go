// Package payments takes money through many payment gateways behind one
// interface and keeps one idempotent ledger of it.
//
// A host constructs a Service with a Store and the gateway drivers it uses,
// mounts the webhook package's handlers, and reads balances and entries from
// the Service. Drivers live in gateway/<name>, stores in store/<name>; this
// package imports neither.
package payments

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"slices"
	"sort"
	"time"
)

// Service is the library's entry point: it routes calls to gateway drivers,
// records what they report in the Store, and syncs entries to the host's
// BalanceService. It is safe for concurrent use. Construct it with New.
type Service struct {
	store    Store
	gateways map[string]Gateway
	balance  BalanceService
	log      *slog.Logger
	now      func() time.Time
	sync     SyncOptions
	// instance names this Service in the owners of the sync leases it
	// takes (see leaseOwner).
	instance  string
	events    *broker
	retention JournalRetention
	// retry wakes Run when a retry falls due (see retryAt).
	retry chan struct{}
	// settlement, when set, converts entries (see Settlement).
	settlement *Settlement
	// postbacks, when set, queues and delivers postbacks.
	postbacks *postbacker
	// holds, when set, watches capture deadlines (see HoldWatch).
	holds *HoldWatch
	// observer, when set, is told what the Service does (see Observer);
	// nil costs the hot paths one comparison.
	observer Observer
	// reconcile is the reconciler (see reconcile.go).
	reconcile reconcileState
}

// Option configures a Service.
type Option func(*Service) error

// WithGateway adds gateway drivers. Two drivers with the same Name are an
// error.
func WithGateway(gateways ...Gateway) Option {
	return func(s *Service) error {
		for _, g := range gateways {
			if g == nil {
				return fmt.Errorf("payments: nil gateway: %w", ErrInvalidInput)
			}
			name := g.Name()
			if name == "" {
				return fmt.Errorf("payments: gateway with an empty name: %w", ErrInvalidInput)
			}
			if _, dup := s.gateways[name]; dup {
				return fmt.Errorf("payments: gateway %q added twice: %w", name, ErrConflict)
			}
			s.gateways[name] = g
		}
		return nil
	}
}

// WithBalanceService sets the host's BalanceService, which every recorded
// entry is applied to. Without one, entries wait in the outbox.
func WithBalanceService(b BalanceService) Option {
	return func(s *Service) error { s.balance = b; return nil }
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(s *Service) error {
		if l == nil {
			return fmt.Errorf("payments: nil logger: %w", ErrInvalidInput)
		}
		s.log = l
		return nil
	}
}

// WithClock sets the time source, for tests; the default is time.Now.
func WithClock(now func() time.Time) Option {
	return func(s *Service) error {
		if now == nil {
			return fmt.Errorf("payments: nil clock: %w", ErrInvalidInput)
		}
		s.now = now
		return nil
	}
}

// WithSyncOptions tunes the sync outbox; zero fields keep their defaults.
func WithSyncOptions(o SyncOptions) Option {
	return func(s *Service) error { s.sync = o.withDefaults(); return nil }
}

// New constructs a Service over store.
func New(store Store, opts ...Option) (*Service, error) {
	if store == nil {
		return nil, fmt.Errorf("payments: nil store: %w", ErrInvalidInput)
	}
	s := &Service{
		store:     store,
		gateways:  map[string]Gateway{},
		log:       slog.New(slog.DiscardHandler),
		now:       time.Now,
		sync:      SyncOptions{}.withDefaults(),
		instance:  newID("svc"),
		events:    &broker{},
		retention: defaultJournalRetention,
		retry:     make(chan struct{}, 1),
	}
	for _, opt := range opts {
		if err := opt(s); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Gateway returns the driver with the given name.
func (s *Service) Gateway(name string) (Gateway, bool) {
	g, ok := s.gateways[name]
	return g, ok
}

// GatewayNames returns the names of the configured gateways, sorted.
func (s *Service) GatewayNames() []string {
	names := make([]string, 0, len(s.gateways))
	for name := range s.gateways {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

func (s *Service) gateway(name string) (Gateway, error) {
	g, ok := s.gateways[name]
	if !ok {
		return nil, fmt.Errorf("payments: no gateway %q: %w", name, ErrNotSupported)
	}
	return g, nil
}

// Payment returns a payment by the library's id.
func (s *Service) Payment(ctx context.Context, id string) (*Payment, error) {
	return s.store.Payment(ctx, id)
}

// Balance returns an account's balance in one currency (zero when it has no
// entries in it). It reads one materialized row.
func (s *Service) Balance(ctx context.Context, account string, currency Currency) (Balance, error) {
	return s.store.Balance(ctx, account, currency)
}

// Balances returns every balance of an account.
func (s *Service) Balances(ctx context.Context, account string) ([]Balance, error) {
	return s.store.Balances(ctx, account)
}

// Entries lists one page of ledger entries, by account, payment or gateway,
// oldest first, and the cursor of the next page: pass it as f.After to read
// on. The cursor is "" after the last page.
func (s *Service) Entries(ctx context.Context, f EntryFilter) (page []Entry, next string, err error) {
	return s.store.Entries(ctx, f)
}

// allEntries reads every page of a listing of entries.
func (s *Service) allEntries(ctx context.Context, f EntryFilter) iter.Seq2[Entry, error] {
	return func(yield func(Entry, error) bool) {
		for {
			page, next, err := s.store.Entries(ctx, f)
			if err != nil {
				yield(Entry{}, err)
				return
			}
			for _, e := range page {
				if !yield(e, nil) {
					return
				}
			}
			if next == "" {
				return
			}
			f.After = next
		}
	}
}

// newID returns prefix_ followed by 32 hex digits: the time in unix
// milliseconds (12 digits), then 80 random bits. Ids issued later sort
// later, so a store's index on them grows at its end instead of touching a
// random page for every insert; the random part keeps them unguessable and,
// at any realistic rate, unique.
func newID(prefix string) string {
	var b [16]byte
	ms := uint64(time.Now().UnixMilli())
	for i := 5; i >= 0; i-- {
		b[i] = byte(ms)
		ms >>= 8
	}
	if _, err := rand.Read(b[6:]); err != nil {
		panic("payments: crypto/rand failed: " + err.Error()) // never returns an error on supported platforms
	}
	return prefix + "_" + hex.EncodeToString(b[:])
}

// commit records changes from gateway g with the Service's sync lease and
// publishes what changed; account and reference, when set, are what the
// caller vouches for (see Batch). It is the one path by which anything
// reaches the ledger.
func (s *Service) commit(ctx context.Context, gateway string, c *Changes, n *Notification, account, reference string) (*BatchResult, error) {
	now := s.now()
	entries := c.Entries
	if len(entries) > 0 && (s.settlement != nil || slices.ContainsFunc(entries, hasSettlement)) {
		entries = slices.Clone(entries)
		s.convertEntries(ctx, gateway, account, entries)
	}
	b := &Batch{
		Gateway:      gateway,
		Notification: n,
		Payments:     c.Payments,
		Entries:      entries,
		Account:      account,
		Reference:    reference,
		Now:          now,
		Postbacks:    s.postbacks != nil,
	}
	if s.balance != nil && !s.sync.DisableImmediate {
		b.SyncOwner = s.leaseOwner()
		b.SyncLeaseUntil = now.Add(s.sync.Lease)
	}
	res, err := s.store.Commit(ctx, b)
	if err != nil {
		return nil, err
	}
	s.publish(now, res)
	if s.postbacks != nil && len(res.Created)+len(res.Changes)+len(res.Entries) > 0 {
		s.postbacks.wake()
	}
	if b.SyncOwner != "" && len(res.Entries) > 0 {
		// An entry that waits for a rate is applied once converted.
		due := slices.DeleteFunc(slices.Clone(res.Entries), func(e Entry) bool { return e.Settlement.Pending() })
		if len(due) > 0 {
			s.applyNow(ctx, due, b.SyncOwner, b.SyncLeaseUntil)
		}
	}
	return res, nil
}

// applyNow applies new entries under the lease they were recorded with,
// waiting at most SyncOptions.ImmediateWait: past that the applies go on in
// the background, bounded by ApplyTimeout, and the caller — a webhook
// waiting to answer its gateway — does not wait on the host.
func (s *Service) applyNow(ctx context.Context, entries []Entry, owner string, leaseUntil time.Time) {
	ctx = context.WithoutCancel(ctx) // the answer going out must not cancel the apply
	done := make(chan struct{})
	go func() {
		defer close(done)
		for _, e := range entries {
			s.apply(ctx, SyncTask{Entry: e, State: SyncPending, LeaseOwner: owner, LeaseUntil: leaseUntil})
		}
	}()
	wait := time.NewTimer(s.sync.ImmediateWait)
	defer wait.Stop()
	select {
	case <-done:
	case <-wait.C:
		s.log.WarnContext(ctx, "payments: BalanceService slower than ImmediateWait; applying in the background",
			"entries", len(entries), "wait", s.sync.ImmediateWait)
	}
}

// isClientError reports whether err is the caller's or the gateway's fault
// rather than the Store's.
func isClientError(err error) bool {
	return errors.Is(err, ErrInvalidInput) || errors.Is(err, ErrUnauthenticated) ||
		errors.Is(err, ErrConflict) || errors.Is(err, ErrUnattributed) ||
		errors.Is(err, ErrNotSupported) || errors.Is(err, ErrNotFound)
}
