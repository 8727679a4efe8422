package payments

import (
	"context"
	"fmt"
	"time"
)

// Notifications lists one page of the journal of inbound notifications,
// newest first, and the cursor of the next page: pass it as f.After to read
// on. With f.Outcome OutcomeParked and f.Unresolved it lists the money that
// waits for the host to say whose it is (see Attribute).
func (s *Service) Notifications(ctx context.Context, f NotificationFilter) (page []Notification, next string, err error) {
	return s.store.Notifications(ctx, f)
}

// Notification returns one journaled notification, or ErrNotFound.
func (s *Service) Notification(ctx context.Context, id string) (*Notification, error) {
	return s.store.Notification(ctx, id)
}

// Attribution says whose the money of a parked notification is.
type Attribution struct {
	// Account is the host's id of the customer to credit; required.
	Account string
	// Reference is the host's key for what was paid, kept on the payment
	// the attribution records when the notification carries none.
	Reference string
}

// Attribute records a parked notification's money for an account, through
// the ledger's rules, in one call: it replays the journaled notification with
// its driver, creates the payment it names for a.Account where the Store has
// none, records its entries, journals the replay and marks the parked row
// resolved, all in one transaction. Attributing again to the same account
// records nothing twice (the result is OutcomeDuplicate); attributing to
// another account money that is already someone's is ErrConflict, and
// nothing is recorded. Only notifications that verified when they arrived
// can be attributed, and their driver verifies them again.
func (s *Service) Attribute(ctx context.Context, notificationID string, a Attribution) (*WebhookResult, error) {
	if a.Account == "" {
		return nil, fmt.Errorf("payments: attribute %s: no account: %w", notificationID, ErrInvalidInput)
	}
	return s.replay(ctx, notificationID, a)
}

// Replay runs a journaled notification through its driver and the ledger
// again, journaling the replay as a new notification. It is how a host
// records one that failed while the Store was down, or a parked one once the
// payment it names is known (Attribute does that in one call). Only
// notifications that verified when they arrived can be replayed; drivers
// still check their signature. A replay that records what the row carried,
// or finds it recorded, marks the row resolved (Notification.ResolvedBy).
func (s *Service) Replay(ctx context.Context, notificationID string) (*WebhookResult, error) {
	return s.replay(ctx, notificationID, Attribution{})
}

func (s *Service) replay(ctx context.Context, notificationID string, a Attribution) (*WebhookResult, error) {
	old, err := s.store.Notification(ctx, notificationID)
	if err != nil {
		return nil, err
	}
	if !old.Verified {
		return nil, fmt.Errorf("payments: replay %s: it did not verify: %w", notificationID, ErrUnauthenticated)
	}
	g, err := s.gateway(old.Gateway)
	if err != nil {
		return nil, err
	}
	req := &WebhookRequest{Header: old.Header, Body: old.Body, RemoteAddr: old.RemoteAddr, ReceivedAt: old.ReceivedAt, Replay: true}
	n := Notification{
		ID:         newID("ntf"),
		Gateway:    old.Gateway,
		ReceivedAt: s.now(),
		RemoteAddr: old.RemoteAddr,
		Header:     old.Header,
		Body:       old.Body,
		ReplayOf:   old.ID,
		Source:     old.Source,
	}
	if a.Account != "" {
		n.Detail = "attributed to " + a.Account
	}
	return s.handle(ctx, g, req, &n, a)
}

// Record journals and records one record a driver read from its gateway's
// API (see RecordParser), as HandleWebhook does a delivery: the row is
// journaled with Source SourceRecord, verified (the driver's API call
// authenticated it), with the outcome the ledger decides; what was already
// recorded, by a notification or an earlier reconciliation, is a
// duplicate. A driver without the power is ErrNotSupported.
func (s *Service) Record(ctx context.Context, gateway string, body []byte) (*WebhookResult, error) {
	g, err := s.gateway(gateway)
	if err != nil {
		return nil, err
	}
	if _, ok := g.(RecordParser); !ok {
		return nil, fmt.Errorf("payments: %s reads no records: %w", gateway, ErrNotSupported)
	}
	now := s.now()
	n := Notification{ID: newID("ntf"), Gateway: gateway, ReceivedAt: now, Body: body, Source: SourceRecord}
	return s.handle(ctx, g, &WebhookRequest{Body: body, ReceivedAt: now}, &n, Attribution{})
}

// parseRecord has the driver translate a record; a driver that has lost the
// power since the row was journaled fails unclassified, so the row stays
// failed for a later replay.
func parseRecord(ctx context.Context, g Gateway, body []byte) (*Changes, error) {
	rp, ok := g.(RecordParser)
	if !ok {
		return nil, fmt.Errorf("%s: the driver reads no records", g.Name())
	}
	return rp.ParseRecord(ctx, body)
}

// JournalRetention says how long the journal keeps its rows, by outcome;
// zero keeps them for ever. Parked and failed rows are only ever pruned once
// a replay has resolved them (Notification.ResolvedBy): until then they are
// money or a delivery waiting for the host. Unless WithJournalRetention sets
// another, a Service keeps what records money for ever and prunes what
// anyone can send: rejected rows after 30 days, ignored ones after 90.
type JournalRetention struct {
	Recorded, Duplicate, Ignored, Rejected, Parked, Failed time.Duration
	// Every is how often Run prunes; 0 means hourly.
	Every time.Duration
}

// defaultJournalRetention is the retention JournalRetention's doc promises.
var defaultJournalRetention = JournalRetention{Rejected: 30 * 24 * time.Hour, Ignored: 90 * 24 * time.Hour}

// WithJournalRetention sets how long the journal keeps its rows; Run prunes
// by it. JournalRetention{} keeps everything.
func WithJournalRetention(r JournalRetention) Option {
	return func(s *Service) error { s.retention = r; return nil }
}

// PruneJournal deletes the journal rows the Service's JournalRetention no
// longer keeps, a thousand at a time, and reports how many. Run calls it on
// the retention's schedule; a host that does not Run calls it itself.
func (s *Service) PruneJournal(ctx context.Context) (int, error) {
	now := s.now()
	total := 0
	for _, r := range []struct {
		outcome Outcome
		age     time.Duration
	}{
		{OutcomeRecorded, s.retention.Recorded}, {OutcomeDuplicate, s.retention.Duplicate},
		{OutcomeIgnored, s.retention.Ignored}, {OutcomeRejected, s.retention.Rejected},
		{OutcomeParked, s.retention.Parked}, {OutcomeFailed, s.retention.Failed},
	} {
		if r.age <= 0 {
			continue
		}
		for {
			n, err := s.store.PruneNotifications(ctx, NotificationPrune{Outcome: r.outcome, Before: now.Add(-r.age), Limit: DefaultListLimit})
			total += n
			if err != nil {
				return total, fmt.Errorf("payments: prune %s notifications: %w", r.outcome, err)
			}
			if n < DefaultListLimit {
				break
			}
		}
	}
	return total, nil
}
