package payments

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime/debug"
	"time"
)

// BalanceService is the host's side of the ledger: Apply makes the host's own
// state reflect one entry (top up a balance, mark an order paid).
//
// Apply is called at least once per entry until it returns nil, so it must be
// idempotent on Entry.ID: a host that stores the ids it has applied, in the
// same transaction as the change they cause, sees each entry exactly once.
// Return an error wrapped with Permanent for a failure retrying cannot fix;
// the entry is then parked instead of retried.
type BalanceService interface {
	Apply(ctx context.Context, e Entry) error
}

// BalanceFunc adapts a function to a BalanceService.
type BalanceFunc func(ctx context.Context, e Entry) error

// Apply calls f.
func (f BalanceFunc) Apply(ctx context.Context, e Entry) error { return f(ctx, e) }

// SyncOptions tunes the outbox that feeds the BalanceService.
type SyncOptions struct {
	// Lease is how long a claimed entry is reserved for one Service before
	// another may take it over; longer than any Apply call. Default 1m.
	Lease time.Duration
	// Interval is how often Run looks for due entries. Default 1s.
	Interval time.Duration
	// BaseDelay and MaxDelay shape the exponential backoff between
	// attempts: the first retry comes after half to all of BaseDelay, and
	// no gap exceeds MaxDelay. Defaults 1s and 1h.
	BaseDelay time.Duration
	MaxDelay  time.Duration
	// MaxAttempts parks an entry after this many failures. Default 25
	// (about a day with the default delays).
	MaxAttempts int
	// BatchSize is how many entries one pass claims. Default 100.
	BatchSize int
	// ApplyTimeout bounds one Apply call. Default 30s, and never more than
	// half the Lease: an Apply must end while its lease holds, or another
	// Service could claim the entry and apply it at the same time.
	ApplyTimeout time.Duration
	// DisableImmediate leaves every entry to the background loop instead of
	// applying it right after it commits.
	DisableImmediate bool
	// ImmediateWait bounds how long a webhook's answer (or an operation's
	// return) waits for the first Apply of what it recorded. A
	// BalanceService slower than that goes on in the background under its
	// lease, and the answer goes out: a gateway's delivery never waits on
	// the host for long. Default 1s.
	ImmediateWait time.Duration
}

func (o SyncOptions) withDefaults() SyncOptions {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&o.Lease, time.Minute)
	def(&o.Interval, time.Second)
	def(&o.BaseDelay, time.Second)
	def(&o.MaxDelay, time.Hour)
	def(&o.ApplyTimeout, 30*time.Second)
	def(&o.ImmediateWait, time.Second)
	if o.MaxAttempts <= 0 {
		o.MaxAttempts = 25
	}
	if o.BatchSize <= 0 {
		o.BatchSize = 100
	}
	o.ApplyTimeout = min(o.ApplyTimeout, o.Lease/2)
	return o
}

// backoff returns the delay before attempt number attempts+1: exponential
// from BaseDelay, capped at MaxDelay, with equal jitter so that entries that
// failed together do not retry together: between half and all of the
// nominal delay, never above MaxDelay. Run wakes when a retry it scheduled
// falls due (retryAt), so the gap between attempts is this delay.
func (o SyncOptions) backoff(attempts int) time.Duration {
	d := o.BaseDelay
	for i := 1; i < attempts && d < o.MaxDelay; i++ {
		d *= 2
	}
	d = min(d, o.MaxDelay)
	half := d / 2
	return half + rand.N(half+1)
}

// Run drives the background loops until ctx is canceled, and then returns
// nil: it retries entries the BalanceService has not yet applied, each as
// soon as its backoff has passed (and every SyncOptions.Interval for those
// other Services left), prunes the journal on the JournalRetention's
// schedule, converts entries that wait for a rate (Settlement.Retry),
// delivers postbacks (as soon as this Service queues them, and every
// PostbackOptions.Interval for those other Services queued), acts on holds
// about to expire (HoldWatch.Every) and reconciles with the gateways
// (Reconcile.Every). Several Services may Run against one shared Store.
func (s *Service) Run(ctx context.Context) error {
	syncEvery := s.sync.Interval
	if s.balance == nil {
		syncEvery = time.Duration(math.MaxInt64)
	}
	syncTick := time.NewTicker(syncEvery)
	defer syncTick.Stop()
	pruneEvery := s.retention.Every
	if pruneEvery <= 0 {
		pruneEvery = time.Hour
	}
	pruneTick := time.NewTicker(pruneEvery)
	defer pruneTick.Stop()
	settleEvery := time.Duration(math.MaxInt64)
	if s.settlement != nil {
		settleEvery = s.settlement.Retry
	}
	settleTick := time.NewTicker(settleEvery)
	defer settleTick.Stop()
	postbackEvery := time.Duration(math.MaxInt64)
	if s.postbacks != nil {
		postbackEvery = s.postbacks.opts.Interval
	}
	postbackTick := time.NewTicker(postbackEvery)
	defer postbackTick.Stop()
	var postbacksQueued <-chan struct{} // nil, never ready, without postbacks
	if s.postbacks != nil {
		postbacksQueued = s.postbacks.queued
	}
	holdEvery := time.Duration(math.MaxInt64)
	if s.holds != nil {
		holdEvery = s.holds.Every
	}
	holdTick := time.NewTicker(holdEvery)
	defer holdTick.Stop()
	defer s.reconcileInBackground(ctx)() // reconcile.go
	s.prune(ctx)
	for {
		if s.balance != nil {
			if _, err := s.SyncNow(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "payments: sync pass failed", "error", err)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-syncTick.C:
		case <-s.retry:
		case <-pruneTick.C:
			s.prune(ctx)
		case <-postbackTick.C:
			s.postbackPass(ctx)
		case <-postbacksQueued:
			s.postbackPass(ctx)
		case <-holdTick.C:
			if _, err := s.WatchHolds(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "payments: hold watcher pass failed", "error", err)
			}
		case <-settleTick.C:
			if _, err := s.SettlePending(ctx); err != nil && ctx.Err() == nil {
				s.log.ErrorContext(ctx, "payments: converting entries that wait for a rate failed", "error", err)
			}
		}
	}
}

func (s *Service) postbackPass(ctx context.Context) {
	if _, err := s.DeliverPostbacks(ctx); err != nil && ctx.Err() == nil {
		s.log.ErrorContext(ctx, "payments: postback pass failed", "error", err)
	}
}

func (s *Service) prune(ctx context.Context) {
	n, err := s.PruneJournal(ctx)
	switch {
	case err != nil && ctx.Err() == nil:
		s.log.ErrorContext(ctx, "payments: journal pruning failed", "pruned", n, "error", err)
	case n > 0:
		s.log.InfoContext(ctx, "payments: journal pruned", "rows", n)
	}
}

// retryAt wakes Run when a retry falls due, so that its delay is the
// backoff's, not the backoff's plus the rest of an Interval.
func (s *Service) retryAt(due time.Time) {
	time.AfterFunc(max(0, due.Sub(s.now())), func() {
		select {
		case s.retry <- struct{}{}:
		default: // a pass is due already
		}
	})
}

// SyncNow runs one pass of the outbox: it claims due entries and applies
// them, returning how many it applied successfully.
func (s *Service) SyncNow(ctx context.Context) (int, error) {
	if s.balance == nil {
		return 0, nil
	}
	claim := SyncClaim{Owner: s.leaseOwner(), Now: s.now(), Lease: s.sync.Lease, Limit: s.sync.BatchSize}
	tasks, err := s.store.ClaimSync(ctx, claim)
	if err != nil {
		return 0, err
	}
	applied := 0
	for _, t := range tasks {
		t.LeaseOwner, t.LeaseUntil = claim.Owner, claim.Now.Add(claim.Lease)
		if ctx.Err() != nil || s.now().Add(s.sync.ApplyTimeout).After(t.LeaseUntil) {
			break // too little lease left to finish: let it expire and be claimed again
		}
		if s.apply(ctx, t) {
			applied++
		}
	}
	return applied, nil
}

// leaseOwner names one claim: the Service and a fresh token, so that a
// settlement from a claim whose lease expired — even this Service's own —
// is refused instead of overwriting the claim that replaced it.
func (s *Service) leaseOwner() string { return s.instance + "/" + newID("lease") }

// apply calls the BalanceService for one task leased to t.LeaseOwner until
// t.LeaseUntil and settles the lease. It reports whether Apply succeeded.
// Apply's context ends before the lease does; a BalanceService that ignores
// its context can outlive the lease and overlap a later claim.
func (s *Service) apply(ctx context.Context, t SyncTask) bool {
	if s.observer != nil {
		return s.observeSync(ctx, t)
	}
	_, err := s.attempt(ctx, t)
	return err == nil
}

// attempt is apply without the Observer: it returns the state it settled
// the task in and Apply's error.
func (s *Service) attempt(ctx context.Context, t SyncTask) (SyncState, error) {
	timeout := min(s.sync.ApplyTimeout, t.LeaseUntil.Sub(s.now()))
	actx, cancel := context.WithTimeout(ctx, timeout)
	err := s.callHost(actx, t.Entry)
	cancel()
	st := SyncSettlement{EntryID: t.Entry.ID, Owner: t.LeaseOwner, State: SyncDone, Attempts: t.Attempts + 1}
	if err != nil {
		st.LastError = err.Error()
		switch {
		case IsPermanent(err):
			st.State = SyncParked
		case st.Attempts >= s.sync.MaxAttempts:
			st.State = SyncParked
			st.LastError = "gave up after too many attempts: " + st.LastError
		default:
			st.State = SyncPending
			st.NextAttempt = s.now().Add(s.sync.backoff(st.Attempts))
			defer s.retryAt(st.NextAttempt)
		}
		s.log.WarnContext(ctx, "payments: balance apply failed", "entry", t.Entry.ID,
			"attempts", st.Attempts, "state", st.State, "error", err)
	}
	// The settlement must land even when the caller's context ended right
	// after Apply returned: otherwise a done entry would be applied again.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if serr := s.store.SettleSync(sctx, st); serr != nil {
		if errors.Is(serr, ErrConflict) {
			s.log.WarnContext(ctx, "payments: sync lease lost before settling", "entry", t.Entry.ID)
		} else {
			s.log.ErrorContext(ctx, "payments: settle sync", "entry", t.Entry.ID, "error", serr)
		}
	}
	return st.State, err
}

// callHost calls the BalanceService, turning a panic in the host's code
// into a failed attempt: logged with its stack, retried, and parked after
// MaxAttempts like any other failure, instead of taking the process down.
func (s *Service) callHost(ctx context.Context, e Entry) (err error) {
	defer func() {
		if r := recover(); r != nil {
			s.log.ErrorContext(ctx, "payments: BalanceService panicked", "entry", e.ID, "panic", r, "stack", string(debug.Stack()))
			err = fmt.Errorf("payments: BalanceService panicked applying %s: %v", e.ID, r)
		}
	}()
	return s.balance.Apply(ctx, e)
}

// SyncTasks lists one page of outbox tasks in a state — SyncParked shows the
// entries the host must look at — and the cursor of the next page: pass it
// as f.After to read on.
func (s *Service) SyncTasks(ctx context.Context, f SyncFilter) (page []SyncTask, next string, err error) {
	return s.store.SyncTasks(ctx, f)
}

// RequeueSync puts a parked entry back in the queue, due now, once the host
// has fixed what made its BalanceService fail.
func (s *Service) RequeueSync(ctx context.Context, entryID string) error {
	return s.store.RequeueSync(ctx, entryID, s.now())
}
