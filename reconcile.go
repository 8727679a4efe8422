package payments

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Reconciliation defaults (see Reconcile).
const (
	// DefaultReconcileEvery is how often Run reconciles: a notification
	// that never arrives is rare, and each pass spends the gateway's API
	// quota.
	DefaultReconcileEvery = time.Hour
	// DefaultReconcileLookback is how far before its cursor each pass
	// lists again. A payment captured later than this after it was
	// created is missed by a driver that lists by creation time (Stripe);
	// raise it where captures wait longer.
	DefaultReconcileLookback = 24 * time.Hour
	// DefaultReconcileLimit is how many records one page asks for.
	DefaultReconcileLimit = 100
	// maxReconcilePages bounds one pass, so that a long backlog is worked
	// off over several passes, each saving where it stopped.
	maxReconcilePages = 100
)

// Reconcile configures the reconciler (WithReconcile): Run lists, for each
// gateway whose driver is a Reconciler, what moved at the gateway since a
// cursor kept per gateway, and records what the ledger lacks through
// Service.Record — journaled as a record, under the keys its notification
// would have used, so that a notification arriving later is a duplicate and
// nothing is counted twice. What it cannot fix it reports (see
// ReconcileDifference).
type Reconcile struct {
	// Every is how often Run reconciles; default DefaultReconcileEvery.
	Every time.Duration
	// Lookback is how far before the cursor each pass lists again, and
	// how far back the first pass of a gateway reaches; default
	// DefaultReconcileLookback.
	Lookback time.Duration
	// Gateways are the gateways to reconcile; empty for every gateway whose
	// driver is a Reconciler.
	Gateways []string
	// Limit is how many records one page asks for; default
	// DefaultReconcileLimit.
	Limit int
	// CheckUnlisted also reports ledger entries the gateway does not list
	// (DifferenceUnlisted), for drivers whose listing is complete for a
	// time window (MovedPage.Complete). It reads every entry of the
	// gateway in the Store on each pass, so it suits small ledgers and
	// passes run by hand.
	CheckUnlisted bool
}

func (r Reconcile) withDefaults() Reconcile {
	if r.Every <= 0 {
		r.Every = DefaultReconcileEvery
	}
	if r.Lookback <= 0 {
		r.Lookback = DefaultReconcileLookback
	}
	if r.Limit <= 0 {
		r.Limit = DefaultReconcileLimit
	}
	return r
}

// WithReconcile turns the reconciler on: Run reconciles every r.Every (see
// Reconcile). Service.Reconcile works without it, with the defaults.
func WithReconcile(r Reconcile) Option {
	return func(s *Service) error {
		r = r.withDefaults()
		s.reconcile.opts = &r
		return nil
	}
}

// CursorStore is implemented by Stores that keep named cursors, where the
// reconciler keeps how far it has listed each gateway, so that a restart
// does not list the Lookback again, nor another Service sharing the Store
// what this one listed. With a Store that keeps none, each Service keeps
// its cursors in memory.
type CursorStore interface {
	// Cursor returns the value saved under name, "" when none was.
	Cursor(ctx context.Context, name string) (string, error)
	// SaveCursor sets the value under name to next if it is still prev
	// ("" for none saved); otherwise it changes nothing and is
	// ErrConflict, so that a reconciler that listed from an older cursor
	// never moves it back over what another has listed since.
	SaveCursor(ctx context.Context, name, prev, next string) error
}

// DifferenceKind names a difference a reconciliation cannot fix.
type DifferenceKind string

// Difference kinds; they are also ReconcileObservation.Kind.
const (
	// DifferenceAmount: the gateway reports an amount other than the
	// ledger's entry under the same key. Nothing is booked; the record is
	// journaled as rejected.
	DifferenceAmount DifferenceKind = "amount_differs"
	// DifferenceUnlisted: the ledger has an entry, in a window the
	// gateway's listing is complete for, that the gateway does not list.
	DifferenceUnlisted DifferenceKind = "unlisted"
	// DifferenceParked: money the gateway lists that the ledger lacks,
	// but cannot book (no account, or it does not match its payment); it
	// is journaled as parked, for Service.Attribute.
	DifferenceParked DifferenceKind = "parked"
	// DifferenceRejected: a record the ledger refused for another reason
	// (the same key for another account, a record the driver cannot
	// read); the journal row's Detail says why.
	DifferenceRejected DifferenceKind = "rejected"
)

// ReconcileDifference is one difference between a gateway and the ledger
// that a reconciliation found and could not fix. It is published as an
// EventReconcileDifference, reported to the Observer and listed in the
// ReconcileReport.
type ReconcileDifference struct {
	Kind    DifferenceKind
	Gateway string
	// Entry is the ledger's entry: the one whose amount differs, or the
	// one the gateway does not list.
	Entry *Entry
	// Reported is what the gateway reports under Entry's key, for
	// DifferenceAmount.
	Reported *Entry
	// NotificationID is the journal row of the record, for every kind but
	// DifferenceUnlisted.
	NotificationID string
	// Detail says more, for operators (it may carry a Store's error text).
	Detail string
	At     time.Time
}

func (d ReconcileDifference) clone() ReconcileDifference {
	if d.Entry != nil {
		e := *d.Entry
		d.Entry = &e
	}
	if d.Reported != nil {
		e := *d.Reported
		d.Reported = &e
	}
	return d
}

// ReconcileReport is what one reconciliation of one gateway did.
type ReconcileReport struct {
	Gateway string
	// Cursor is where the pass started, Next where the next one will; ""
	// for a gateway never reconciled.
	Cursor, Next string
	// Listed counts the records the gateway listed; Recorded the entries
	// they recorded, which the ledger lacked; Duplicates the records that
	// were recorded already.
	Listed, Recorded, Duplicates int
	// Differences are what the pass could not fix.
	Differences []ReconcileDifference
	// CursorInMemory reports that the Store keeps no cursors (it is no
	// CursorStore): the cursor lives in this Service and is lost with it.
	CursorInMemory bool
}

// reconcileState is the Service's reconciler; its zero value is ready,
// reconciling with the defaults.
type reconcileState struct {
	// opts is set by WithReconcile; nil leaves Run without a reconciler.
	opts *Reconcile

	mu sync.Mutex
	// cursors keeps the cursors when the Store is no CursorStore.
	cursors map[string]string
	warned  bool
}

func (s *Service) reconcileOptions() Reconcile {
	if s.reconcile.opts != nil {
		return *s.reconcile.opts
	}
	return Reconcile{}.withDefaults()
}

// Reconcile lists what moved at the named gateway since its cursor and
// records what the ledger lacks, once (see Reconcile for how). A record the
// ledger already holds is a duplicate; one it cannot book, or whose amount
// differs from the ledger's entry under the same key, is a difference,
// reported and never booked. The cursor moves once every listed record is
// recorded or reported: a failure of the gateway's API or of the Store
// returns the error, with the report so far, and the next pass lists the
// same again. A driver that is no Reconciler is ErrNotSupported.
//
// Several Services may reconcile one gateway over one Store at once: the
// ledger's keys book each movement once, and the cursor never moves back.
func (s *Service) Reconcile(ctx context.Context, gateway string) (*ReconcileReport, error) {
	g, err := s.gateway(gateway)
	if err != nil {
		return nil, err
	}
	rc, ok := g.(Reconciler)
	if !ok {
		return nil, fmt.Errorf("payments: %s lists nothing to reconcile: %w", gateway, ErrNotSupported)
	}
	opts := s.reconcileOptions()
	name := "reconcile:" + gateway
	cursor, err := s.loadCursor(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("payments: reconcile %s: load cursor: %w", gateway, err)
	}
	_, stored := s.store.(CursorStore)
	rep := &ReconcileReport{Gateway: gateway, Cursor: cursor, Next: cursor, CursorInMemory: !stored}
	q := MovedQuery{Cursor: cursor, Since: s.now().Add(-opts.Lookback), Lookback: opts.Lookback, Limit: opts.Limit}
	listed := map[string]bool{}
	var from, until time.Time
	complete := true
	for range maxReconcilePages {
		page, err := rc.ListMoved(ctx, q)
		if err != nil {
			return rep, fmt.Errorf("payments: reconcile %s: %w", gateway, err)
		}
		if from.IsZero() {
			from = page.From
		}
		until, complete = page.Until, complete && page.Complete
		for _, body := range page.Records {
			if err := s.reconcileRecord(ctx, gateway, body, rep, listed); err != nil {
				return rep, err
			}
		}
		if err := s.saveCursor(ctx, name, q.Cursor, page.Next); err != nil {
			if errors.Is(err, ErrConflict) {
				// Another reconciler moved it past where this one
				// started: what this one listed is recorded, and the
				// rest is the other's.
				s.log.InfoContext(ctx, "payments: another reconciler moved the cursor", "gateway", gateway)
				return rep, nil
			}
			return rep, fmt.Errorf("payments: reconcile %s: save cursor: %w", gateway, err)
		}
		rep.Next = page.Next
		if !page.More {
			break
		}
		// The lookback is the pass's first page's: the next pages go on
		// from where this one stopped.
		q.Cursor, q.Lookback = page.Next, 0
	}
	if opts.CheckUnlisted && complete && until.After(from) {
		if err := s.checkUnlisted(ctx, gateway, from, until, listed, rep); err != nil {
			return rep, fmt.Errorf("payments: reconcile %s: read the ledger: %w", gateway, err)
		}
	}
	if rep.Recorded > 0 {
		s.log.WarnContext(ctx, "payments: reconciliation recorded money whose notification never arrived",
			"gateway", gateway, "entries", rep.Recorded)
	}
	return rep, nil
}

// ReconcileNow reconciles, once, every gateway the Service's Reconcile
// names (every Reconciler when it names none), and returns a report per
// gateway. A gateway that fails does not stop the others; their errors are
// joined.
func (s *Service) ReconcileNow(ctx context.Context) ([]*ReconcileReport, error) {
	names := s.reconcileOptions().Gateways
	if len(names) == 0 {
		for _, name := range s.GatewayNames() {
			if _, ok := s.gateways[name].(Reconciler); ok {
				names = append(names, name)
			}
		}
	}
	var reports []*ReconcileReport
	var errs []error
	for _, name := range names {
		rep, err := s.Reconcile(ctx, name)
		if rep != nil {
			reports = append(reports, rep)
		}
		if err != nil {
			errs = append(errs, err)
		}
	}
	return reports, errors.Join(errs...)
}

// reconcileRecord records one listed record and accounts for it in rep. It
// returns an error only for a failure the next pass may not meet (the
// Store, the driver's API): the cursor then stays.
func (s *Service) reconcileRecord(ctx context.Context, gateway string, body []byte, rep *ReconcileReport, listed map[string]bool) error {
	rep.Listed++
	res, err := s.Record(ctx, gateway, body)
	if res == nil {
		return fmt.Errorf("payments: reconcile %s: %w", gateway, err)
	}
	if res.Changes != nil {
		for _, e := range res.Changes.Entries {
			listed[EntryID(gateway, e.Kind, e.GatewayRef)] = true
		}
	}
	n := &res.Notification
	diff := ReconcileDifference{Gateway: gateway, NotificationID: n.ID, Detail: n.Detail, At: n.ReceivedAt}
	switch n.Outcome {
	case OutcomeRecorded:
		if res.Recorded != nil {
			rep.Recorded += len(res.Recorded.Entries)
		}
	case OutcomeDuplicate:
		rep.Duplicates++
	case OutcomeIgnored:
	case OutcomeParked, OutcomeRejected:
		diff.Kind = DifferenceRejected
		if n.Outcome == OutcomeParked {
			diff.Kind = DifferenceParked
		}
		// The ledger refuses a key it holds with another amount as a
		// conflict, or, when the amount is above its payment's, parks it
		// as a mismatch first: either way, name the two amounts.
		if res.Changes != nil {
			stored, reported, lerr := s.differingAmount(ctx, gateway, res.Changes.Entries)
			if lerr != nil {
				return fmt.Errorf("payments: reconcile %s: read the ledger: %w", gateway, lerr)
			}
			if stored != nil {
				diff.Kind, diff.Entry, diff.Reported = DifferenceAmount, stored, reported
			}
		}
		s.reportDifference(ctx, rep, diff)
	default:
		return fmt.Errorf("payments: reconcile %s: %w", gateway, err)
	}
	return nil
}

// differingAmount finds, among the entries a record reports, one whose key
// the ledger holds with another amount, and returns the ledger's and the
// reported entry; nil when none differs.
func (s *Service) differingAmount(ctx context.Context, gateway string, reported []Entry) (*Entry, *Entry, error) {
	for i := range reported {
		e := &reported[i]
		if e.GatewayPaymentID == "" {
			continue
		}
		p, err := s.store.PaymentByGatewayID(ctx, gateway, e.GatewayPaymentID)
		if errors.Is(err, ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		id := EntryID(gateway, e.Kind, e.GatewayRef)
		for stored, err := range s.allEntries(ctx, EntryFilter{PaymentID: p.ID}) {
			if err != nil {
				return nil, nil, err
			}
			if stored.ID == id && stored.Amount != e.Amount {
				r := *e
				r.Gateway, r.ID = gateway, id
				return &stored, &r, nil
			}
		}
	}
	return nil, nil, nil
}

// checkUnlisted reports the gateway's ledger entries that occurred in
// [from, until) and that the listing did not carry.
func (s *Service) checkUnlisted(ctx context.Context, gateway string, from, until time.Time, listed map[string]bool, rep *ReconcileReport) error {
	var unlisted []Entry
	for e, err := range s.allEntries(ctx, EntryFilter{Gateway: gateway}) {
		if err != nil {
			return err
		}
		if !listed[e.ID] && !e.OccurredAt.Before(from) && e.OccurredAt.Before(until) {
			unlisted = append(unlisted, e)
		}
	}
	now := s.now()
	for i := range unlisted {
		s.reportDifference(ctx, rep, ReconcileDifference{Kind: DifferenceUnlisted, Gateway: gateway, Entry: &unlisted[i], At: now,
			Detail: fmt.Sprintf("%s lists no %s %s of %s between %s and %s", gateway, unlisted[i].Kind, unlisted[i].GatewayRef,
				unlisted[i].Amount, from.Format(time.RFC3339), until.Format(time.RFC3339))})
	}
	return nil
}

// reportDifference adds d to rep, logs it, publishes it and tells the
// Observer.
func (s *Service) reportDifference(ctx context.Context, rep *ReconcileReport, d ReconcileDifference) {
	rep.Differences = append(rep.Differences, d)
	s.log.WarnContext(ctx, "payments: reconciliation found a difference it cannot fix", "gateway", d.Gateway,
		"kind", d.Kind, "notification", d.NotificationID, "detail", d.Detail)
	if dropped := s.events.publish([]Event{{Type: EventReconcileDifference, At: d.At, Difference: &d}}); dropped > 0 {
		s.log.Warn("payments: slow subscribers missed events", "dropped", dropped)
	}
	if s.observer != nil {
		s.observer.ReconcileDifference(ctx, ReconcileObservation{Gateway: d.Gateway, Kind: string(d.Kind)})
	}
}

// loadCursor reads a cursor from the Store, or from memory when the Store
// keeps none.
func (s *Service) loadCursor(ctx context.Context, name string) (string, error) {
	if cs, ok := s.store.(CursorStore); ok {
		return cs.Cursor(ctx, name)
	}
	st := &s.reconcile
	st.mu.Lock()
	defer st.mu.Unlock()
	if !st.warned {
		st.warned = true
		s.log.WarnContext(ctx, "payments: the Store keeps no cursors (it is no CursorStore): the reconciler keeps them in memory, "+
			"and each restart lists the Lookback again")
	}
	return st.cursors[name], nil
}

// saveCursor moves a cursor from prev to next (see CursorStore.SaveCursor).
func (s *Service) saveCursor(ctx context.Context, name, prev, next string) error {
	if prev == next {
		return nil
	}
	if cs, ok := s.store.(CursorStore); ok {
		return cs.SaveCursor(ctx, name, prev, next)
	}
	st := &s.reconcile
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.cursors[name] != prev {
		return fmt.Errorf("payments: cursor %s moved: %w", name, ErrConflict)
	}
	if st.cursors == nil {
		st.cursors = map[string]string{}
	}
	st.cursors[name] = next
	return nil
}

// reconcileInBackground starts the reconciler when WithReconcile configured
// one, and returns what waits for it to stop once ctx ends, for Run to
// defer. The reconciler has its own goroutine because a pass waits on the
// gateway's API, which must not hold up the sync loop.
func (s *Service) reconcileInBackground(ctx context.Context) (wait func()) {
	if s.reconcile.opts == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(s.reconcile.opts.Every)
		defer tick.Stop()
		for {
			// Each pass logs what it recorded and every difference.
			if _, err := s.ReconcileNow(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "payments: reconciliation failed", "error", err)
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() { <-done }
}
