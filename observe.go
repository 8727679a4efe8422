package payments

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Observer watches the Service at work, for metrics and traces. The Service
// calls it from the paths that decide what became of money — ingestion of
// notifications, applies to the BalanceService, postback attempts — so that
// an adapter (package otelpay for OpenTelemetry) counts what the ledger
// decided rather than guessing from HTTP status codes.
//
// This package declares the hook and no telemetry library, so that a host
// that wants none pays for none: without WithObserver the Service makes no
// call and no allocation for it. Methods are called concurrently and must
// not block; they must not call back into the Service.
//
// Embed NopObserver in an implementation, so that it keeps compiling when
// methods are added here (a reconciler's, for instance).
type Observer interface {
	// Webhook is called when the Service starts handling one
	// notification: a delivery (HandleWebhook), a replay or attribution
	// (Replay, Attribute) or a record (Record). At that point only the
	// start fields of o are set (see WebhookObservation). The Service
	// handles the notification under the returned context, so that a
	// span started here is the parent of the Store's and the driver's
	// calls and of the first Apply of what it records, and it calls end
	// exactly once, with o complete, when the outcome is decided.
	Webhook(ctx context.Context, o WebhookObservation) (context.Context, func(WebhookObservation))

	// SyncAttempt is called before each call to the BalanceService, with
	// the start fields of o set (see SyncObservation). Apply runs under
	// the returned context, and end is called once the attempt is
	// settled.
	SyncAttempt(ctx context.Context, o SyncObservation) (context.Context, func(SyncObservation))

	// PostbackAttempt is called after each attempt at delivering a
	// postback, with what became of the delivery.
	PostbackAttempt(ctx context.Context, o PostbackObservation)

	// ReconcileDifference is called for each difference a reconciliation
	// finds between what a gateway reports and what the ledger holds.
	ReconcileDifference(ctx context.Context, o ReconcileObservation)
}

// WithObserver has the Service report to o (see Observer). Without it the
// Service observes nothing, at no cost.
func WithObserver(o Observer) Option {
	return func(s *Service) error {
		if o == nil {
			return fmt.Errorf("payments: nil observer: %w", ErrInvalidInput)
		}
		s.observer = o
		return nil
	}
}

// WebhookObservation describes one notification's handling. Gateway,
// NotificationID, Source and Replay are set when it starts; the rest when it
// ends.
type WebhookObservation struct {
	Gateway        string
	NotificationID string
	// Source is the journal row's Source: empty for a delivery to a
	// webhook, SourceRecord for a record read from the gateway's API.
	Source string
	// Replay is set for a replay or an attribution of a journaled row.
	Replay bool

	// EventType is the gateway's, when the driver could parse it.
	EventType string
	// Outcome is what the notification was journaled as; OutcomeFailed when
	// it was recorded but the driver's follow-up failed (the gateway is
	// answered 5xx and delivers it again).
	Outcome Outcome
	// Status is the HTTP status of the reply to the gateway.
	Status int
	// Duration is how long handling took, from verification to reply.
	Duration time.Duration
	// Err is the error the Service returns for it, nil for an outcome that
	// returns none (recorded, duplicate, ignored, parked). ErrorClass
	// names it for a metric's attribute.
	Err error
}

// SyncObservation describes one attempt at applying an entry to the
// BalanceService. Entry, Attempt and Lag are set when it starts; State and
// Err when it ends.
type SyncObservation struct {
	Entry Entry
	// Attempt numbers the attempt: 1 for the first.
	Attempt int
	// Lag is how long the entry had waited since it was recorded
	// (Entry.RecordedAt) when the attempt started.
	Lag time.Duration
	// State is what the attempt left the task as: SyncDone when Apply
	// succeeded, SyncPending when it failed and will be retried,
	// SyncParked when it failed for good.
	State SyncState
	Err   error
}

// PostbackObservation describes one attempt at delivering a postback.
type PostbackObservation struct {
	MessageID, EndpointID string
	EventType             EventType
	// Attempt numbers the attempt: 1 for the first.
	Attempt int
	// Status is the endpoint's HTTP status, 0 when no answer came; Error
	// says why none did.
	Status  int
	Error   string
	Latency time.Duration
	// State is what the attempt left the delivery as: DeliveryDelivered,
	// DeliveryPending (retried later) or DeliveryFailed (given up).
	State DeliveryState
}

// ReconcileObservation describes one difference a reconciliation found.
type ReconcileObservation struct {
	Gateway string
	// Kind names the difference, from a small fixed set the reconciler
	// documents (an entry the ledger lacks, an amount that differs), so
	// that it can be a metric's attribute.
	Kind string
}

// NopObserver observes nothing. Embed it in an Observer to implement only
// some methods, and to keep compiling when methods are added.
type NopObserver struct{}

// Webhook returns ctx and an end that does nothing.
func (NopObserver) Webhook(ctx context.Context, _ WebhookObservation) (context.Context, func(WebhookObservation)) {
	return ctx, func(WebhookObservation) {}
}

// SyncAttempt returns ctx and an end that does nothing.
func (NopObserver) SyncAttempt(ctx context.Context, _ SyncObservation) (context.Context, func(SyncObservation)) {
	return ctx, func(SyncObservation) {}
}

// PostbackAttempt does nothing.
func (NopObserver) PostbackAttempt(context.Context, PostbackObservation) {}

// ReconcileDifference does nothing.
func (NopObserver) ReconcileDifference(context.Context, ReconcileObservation) {}

// ErrorClass names the kind of err in a word fit for a metric's attribute,
// which must take few values: the sentinel it wraps ("unauthenticated",
// "invalid_input", "conflict", "unattributed", "mismatch", "not_found",
// "not_supported", "no_rate"), "permanent" for a failure marked with
// Permanent, "timeout" or "canceled" for a context's end, and "other" for
// the rest (a Store's failure, a host's error). It is "" for nil.
func ErrorClass(err error) string {
	if err == nil {
		return ""
	}
	for _, c := range errorClasses {
		if errors.Is(err, c.err) {
			return c.name
		}
	}
	if IsPermanent(err) {
		return "permanent"
	}
	return "other"
}

// errorClasses is in the order ErrorClass tries them: what the sender or
// caller did wrong before how the Service failed, so that an error joined
// with a later failure keeps its first cause's class.
var errorClasses = []struct {
	err  error
	name string
}{
	{ErrUnauthenticated, "unauthenticated"},
	{ErrInvalidInput, "invalid_input"},
	{ErrConflict, "conflict"},
	{ErrUnattributed, "unattributed"},
	{ErrMismatch, "mismatch"},
	{ErrNotFound, "not_found"},
	{ErrNotSupported, "not_supported"},
	{ErrNoRate, "no_rate"},
	{context.DeadlineExceeded, "timeout"},
	{context.Canceled, "canceled"},
}

// observeWebhook handles one notification under the Observer (see
// Observer.Webhook); handle calls it only when there is one, so that a
// Service without one pays nothing for it.
func (s *Service) observeWebhook(ctx context.Context, g Gateway, req *WebhookRequest, n *Notification, a Attribution) (*WebhookResult, error) {
	o := WebhookObservation{Gateway: n.Gateway, NotificationID: n.ID, Source: n.Source, Replay: n.ReplayOf != ""}
	ctx, end := s.observer.Webhook(ctx, o)
	start := time.Now()
	res, err := s.ingest(ctx, g, req, n, a)
	o.Duration = time.Since(start)
	o.EventType, o.Outcome, o.Err = n.EventType, n.Outcome, err
	if res != nil {
		o.Status = res.Reply.Status
		if o.Status >= 500 {
			// Recorded, but the driver's follow-up failed: the gateway
			// delivers it again, which is what an operator must see.
			o.Outcome = OutcomeFailed
		}
	}
	end(o)
	return res, err
}

// observeSync makes one attempt under the Observer (see
// Observer.SyncAttempt); apply calls it only when there is one.
func (s *Service) observeSync(ctx context.Context, t SyncTask) bool {
	o := SyncObservation{Entry: t.Entry, Attempt: t.Attempts + 1, Lag: s.now().Sub(t.Entry.RecordedAt)}
	ctx, end := s.observer.SyncAttempt(ctx, o)
	o.State, o.Err = s.attempt(ctx, t)
	end(o)
	return o.Err == nil
}

// observePostback reports one postback attempt, settled as st, to the
// Observer, if any.
func (s *Service) observePostback(ctx context.Context, d Delivery, st DeliverySettlement) {
	if s.observer == nil {
		return
	}
	s.observer.PostbackAttempt(ctx, PostbackObservation{
		MessageID: st.MessageID, EndpointID: st.EndpointID, EventType: d.Message.Type, Attempt: st.Attempts,
		Status: st.Attempt.Status, Error: st.Attempt.Error, Latency: st.Attempt.Latency, State: st.State,
	})
}

// Backlog is what waits on someone, read cheaply enough to be sampled by a
// metrics collector (observable gauges) or a health page.
type Backlog struct {
	// Parked counts the parked notifications no replay has resolved: money
	// waiting for the host to say whose it is (Service.Attribute). It
	// counts up to DefaultListLimit; ParkedMore reports that more wait.
	Parked     int
	ParkedMore bool
	// SyncLag is how long the oldest entry the BalanceService has not yet
	// applied has waited since it was recorded, zero when none waits.
	// Parked sync tasks, which wait for the host (Service.SyncTasks), do
	// not count. It is the Store's, across every Service sharing it.
	SyncLag time.Duration
}

// Backlog reads the Backlog with two listings bounded by a limit, which
// every Store answers from an index: one page of unresolved parked
// notifications and the first pending sync task.
func (s *Service) Backlog(ctx context.Context) (Backlog, error) {
	var b Backlog
	parked, next, err := s.store.Notifications(ctx, NotificationFilter{Outcome: OutcomeParked, Unresolved: true, Limit: DefaultListLimit})
	if err != nil {
		return b, fmt.Errorf("payments: backlog: parked notifications: %w", err)
	}
	b.Parked, b.ParkedMore = len(parked), next != ""
	pending, _, err := s.store.SyncTasks(ctx, SyncFilter{State: SyncPending, Limit: 1})
	if err != nil {
		return b, fmt.Errorf("payments: backlog: sync tasks: %w", err)
	}
	if len(pending) > 0 {
		// Tasks are listed in the order their entries were queued, so
		// the first has waited longest.
		b.SyncLag = max(0, s.now().Sub(pending[0].Entry.RecordedAt))
	}
	return b, nil
}
