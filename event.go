package payments

import (
	"context"
	"maps"
	"slices"
	"sync"
	"time"
)

// EventType names what an Event reports.
type EventType string

// Event types.
const (
	EventPaymentCreated EventType = "payment.created"
	EventStatusChanged  EventType = "payment.status_changed"
	EventEntryRecorded  EventType = "entry.recorded"
	// EventNotice: a verified notification that records nothing but that
	// the host must answer (Changes.Notice); Event.Notification is its
	// journal row.
	EventNotice EventType = "gateway.notice"
	// EventEndpointDisabled: a postback endpoint was disabled because its
	// deliveries kept failing; Event.EndpointID names it. Its deliveries
	// wait for the host to fix and re-enable it.
	EventEndpointDisabled EventType = "postback.endpoint_disabled"
	// EventHoldExpiring: an authorized payment's capture deadline nears
	// and the hold watcher's policy is HoldWarn; Event.Payment is it.
	EventHoldExpiring EventType = "payment.hold_expiring"
	// EventReconcileDifference: a reconciliation found a difference
	// between its gateway and the ledger that it cannot fix (see
	// ReconcileDifference); Event.Difference is it.
	EventReconcileDifference EventType = "reconcile.difference"
)

// Event is published to subscribers after what it reports has committed.
type Event struct {
	Type EventType
	At   time.Time
	// Payment is set for EventPaymentCreated and EventStatusChanged (as it is
	// after the change, with the Version that orders the payment's events).
	Payment *Payment
	// From is the status before an EventStatusChanged.
	From Status
	// Entry is set for EventEntryRecorded.
	Entry *Entry
	// Notification is set for EventNotice.
	Notification *Notification
	// EndpointID is set for EventEndpointDisabled.
	EndpointID string
	// Difference is set for EventReconcileDifference.
	Difference *ReconcileDifference
}

// Subscribe returns a channel of events that is closed when ctx ends; cancel
// ctx to unsubscribe. A subscriber that falls more than buffer events behind
// (at least 1) misses events (the Service logs how many), so that a slow
// subscriber never slows the webhook path: use the BalanceService, not a
// subscription, for what must not be missed.
//
// Events of concurrent commits may arrive out of commit order: a consumer
// that tracks a payment applies an EventPaymentCreated or
// EventStatusChanged only when its Payment.Version is above the last one it
// applied for that payment, and drops it as stale otherwise.
func (s *Service) Subscribe(ctx context.Context, buffer int) <-chan Event {
	return s.events.subscribe(ctx, buffer)
}

// clone copies what the event points to.
func (e Event) clone() Event {
	if e.Payment != nil {
		p := *e.Payment
		p.Metadata = maps.Clone(p.Metadata)
		e.Payment = &p
	}
	if e.Entry != nil {
		en := *e.Entry
		e.Entry = &en
	}
	if e.Difference != nil {
		d := e.Difference.clone()
		e.Difference = &d
	}
	if e.Notification != nil {
		n := *e.Notification
		n.Header = n.Header.Clone()
		n.Body = slices.Clone(n.Body)
		e.Notification = &n
	}
	return e
}

type subscriber struct {
	ch      chan Event
	dropped int
}

// broker fans events out to subscribers without ever blocking the publisher.
type broker struct {
	mu   sync.Mutex
	subs map[*subscriber]struct{}
}

func (b *broker) subscribe(ctx context.Context, buffer int) <-chan Event {
	sub := &subscriber{ch: make(chan Event, max(buffer, 1))}
	b.mu.Lock()
	if b.subs == nil {
		b.subs = map[*subscriber]struct{}{}
	}
	b.subs[sub] = struct{}{}
	b.mu.Unlock()
	context.AfterFunc(ctx, func() {
		b.mu.Lock()
		delete(b.subs, sub)
		close(sub.ch)
		b.mu.Unlock()
	})
	return sub.ch
}

// publish sends events and returns how many were dropped across subscribers.
func (b *broker) publish(events []Event) int {
	b.mu.Lock()
	defer b.mu.Unlock()
	dropped := 0
	for sub := range b.subs {
		for _, e := range events {
			select {
			case sub.ch <- e.clone(): // each subscriber owns what it receives
			default:
				sub.dropped++
				dropped++
			}
		}
	}
	return dropped
}

func (s *Service) publish(at time.Time, res *BatchResult) {
	var events []Event
	for i := range res.Created {
		events = append(events, Event{Type: EventPaymentCreated, At: at, Payment: &res.Created[i]})
	}
	for i := range res.Changes {
		c := &res.Changes[i]
		events = append(events, Event{Type: EventStatusChanged, At: at, Payment: &c.Payment, From: c.From})
	}
	for i := range res.Entries {
		events = append(events, Event{Type: EventEntryRecorded, At: at, Entry: &res.Entries[i]})
	}
	if len(events) == 0 {
		return
	}
	if dropped := s.events.publish(events); dropped > 0 {
		s.log.Warn("payments: slow subscribers missed events", "dropped", dropped)
	}
}

// publishNotice publishes a notification the host must answer.
func (s *Service) publishNotice(n *Notification) {
	if dropped := s.events.publish([]Event{{Type: EventNotice, At: n.ReceivedAt, Notification: n}}); dropped > 0 {
		s.log.Warn("payments: slow subscribers missed events", "dropped", dropped)
	}
}
