package googleplay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/payrail/payments"
)

// Recorder records one record a driver read from its gateway's API, as the
// Service records a verified notification: journaled with Source
// payments.SourceRecord, through the ledger's rules, with the driver's
// ParseRecord (payments.RecordParser) translating it, and translating it
// again on a replay of its journal row. *payments.Service satisfies it with
// Service.Record: pass the host's Service.
type Recorder interface {
	Record(ctx context.Context, gateway string, body []byte) (*payments.WebhookResult, error)
}

// CursorStore keeps a poller's cursor between runs, by name. LoadCursor
// returns the zero time for a name never saved. The host implements it on
// its own storage (a row in its database, say): the payments Store keeps
// no cursors. A cursor lost costs a listing of the last 30 days again, in
// which what is recorded already is a duplicate.
type CursorStore interface {
	LoadCursor(ctx context.Context, name string) (time.Time, error)
	SaveCursor(ctx context.Context, name string, at time.Time) error
}

// Poller defaults.
const (
	// DefaultVoidedInterval is how often VoidedPoller.Run lists: the list's
	// quota is counted per day, and a missed notification is rare.
	DefaultVoidedInterval = time.Hour
	// DefaultVoidedOverlap is how far before its cursor each listing
	// starts, for a clock a little ahead of Google's. What is listed twice
	// records nothing twice.
	DefaultVoidedOverlap = 10 * time.Minute
)

// VoidedPoller records the refunds whose voidedPurchaseNotification never
// arrived: it lists the voided purchases since its cursor
// (Gateway.VoidedSince), hands each record to the Recorder, and moves the
// cursor once every record is recorded. A record the ledger rejects for
// good (a conflict, one it cannot read) is journaled by the Recorder and
// does not hold the cursor back; a failure (the Store, Google's API) does,
// and the next poll lists it again. What a poll lists again, or a
// notification that arrives after all, records nothing twice.
//
// A host runs one per Gateway, with its Service as the Recorder and its own
// CursorStore, in a goroutine of its own (Run) or from its scheduler
// (Poll). Pollers in several processes record nothing twice (the ledger's
// keys decide), but each spends the list's daily quota and journals every
// record it lists: run one.
type VoidedPoller struct {
	Gateway  *Gateway
	Recorder Recorder
	Cursors  CursorStore
	// Every is the interval of Run (default DefaultVoidedInterval).
	Every time.Duration
	// Overlap is how far before the cursor a listing starts (default
	// DefaultVoidedOverlap).
	Overlap time.Duration
	// Logger receives what Run cannot return; nil discards it.
	Logger *slog.Logger
}

// CursorName is the name the poller's cursor is saved under.
func (p *VoidedPoller) CursorName() string { return p.Gateway.Name() + ":voidedpurchases" }

// Poll lists and records once, and reports how many entries it recorded.
func (p *VoidedPoller) Poll(ctx context.Context) (int, error) {
	if p.Gateway == nil || p.Recorder == nil || p.Cursors == nil {
		return 0, fmt.Errorf("googleplay: VoidedPoller needs a Gateway, a Recorder and a CursorStore: %w", payments.ErrInvalidInput)
	}
	since, err := p.Cursors.LoadCursor(ctx, p.CursorName())
	if err != nil {
		return 0, fmt.Errorf("googleplay: load voided purchases cursor: %w", err)
	}
	if !since.IsZero() {
		since = since.Add(-p.overlap())
	}
	page, err := p.Gateway.VoidedSince(ctx, since)
	if err != nil {
		return 0, err
	}
	if page.Clamped {
		p.logger().WarnContext(ctx, "googleplay: the voided purchases cursor is older than Google lists; voids in between may be missing",
			"cursor", since, "window", MaxVoidedWindow)
	}
	recorded := 0
	for _, body := range page.Records {
		res, err := p.Recorder.Record(ctx, p.Gateway.Name(), body)
		if err != nil && !rejectedForGood(err) {
			return recorded, fmt.Errorf("googleplay: record voided purchase: %w", err)
		}
		if res != nil && res.Recorded != nil {
			recorded += len(res.Recorded.Entries)
		}
	}
	if err := p.Cursors.SaveCursor(ctx, p.CursorName(), page.Until); err != nil {
		return recorded, fmt.Errorf("googleplay: save voided purchases cursor: %w", err)
	}
	return recorded, nil
}

// Run polls at once and then every p.Every until ctx ends, and then
// returns nil. A failed poll is logged and retried at the next tick.
func (p *VoidedPoller) Run(ctx context.Context) error {
	every := p.Every
	if every <= 0 {
		every = DefaultVoidedInterval
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		if n, err := p.Poll(ctx); err != nil && ctx.Err() == nil {
			p.logger().ErrorContext(ctx, "googleplay: voided purchases poll failed", "error", err)
		} else if n > 0 {
			p.logger().InfoContext(ctx, "googleplay: recorded refunds whose notification never arrived", "entries", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (p *VoidedPoller) overlap() time.Duration {
	if p.Overlap > 0 {
		return p.Overlap
	}
	return DefaultVoidedOverlap
}

func (p *VoidedPoller) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// rejectedForGood reports an error for a record that recording again would
// not change.
func rejectedForGood(err error) bool {
	return errors.Is(err, payments.ErrInvalidInput) || errors.Is(err, payments.ErrConflict) ||
		errors.Is(err, payments.ErrUnauthenticated)
}
