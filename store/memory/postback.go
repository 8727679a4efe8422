package memory

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

var _ payments.PostbackStore = (*Store)(nil)

// postbacks is the Store's postback outbox, guarded by the Store's lock.
type postbacks struct {
	endpoints  map[string]*payments.Endpoint
	epOrder    []string
	messages   map[string]*payments.Message
	deliveries map[deliveryKey]*payments.Delivery
	order      []deliveryKey // queue order
	attempts   map[deliveryKey][]payments.Attempt
}

type deliveryKey struct{ message, endpoint string }

func (p *postbacks) init() {
	if p.endpoints == nil {
		p.endpoints = map[string]*payments.Endpoint{}
		p.messages = map[string]*payments.Message{}
		p.deliveries = map[deliveryKey]*payments.Delivery{}
		p.attempts = map[deliveryKey][]payments.Attempt{}
	}
}

// queue fans a plan's messages out to the endpoints that want them; the
// caller holds the lock and commits nothing else can fail after it.
func (s *Store) queuePostbacks(msgs []payments.Message, now time.Time) {
	p := &s.pb
	p.init()
	for i := range msgs {
		m := msgs[i]
		p.messages[m.ID] = &m
		for _, id := range p.epOrder {
			ep := p.endpoints[id]
			if !wants(ep, m.Type) {
				continue
			}
			k := deliveryKey{m.ID, id}
			p.deliveries[k] = &payments.Delivery{Message: m, EndpointID: id, State: payments.DeliveryPending, NextAttempt: now}
			p.order = append(p.order, k)
		}
	}
}

func wants(ep *payments.Endpoint, t payments.EventType) bool {
	return ep.DisabledAt.IsZero() && (len(ep.Events) == 0 || slices.Contains(ep.Events, t))
}

// SaveEndpoint implements payments.PostbackStore.
func (s *Store) SaveEndpoint(ctx context.Context, e *payments.Endpoint) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if e.ID == "" {
		return fmt.Errorf("memory: endpoint without id: %w", payments.ErrInvalidInput)
	}
	s.pb.init()
	if _, ok := s.pb.endpoints[e.ID]; !ok {
		s.pb.epOrder = append(s.pb.epOrder, e.ID)
	}
	c := cloneEndpoint(e)
	s.pb.endpoints[e.ID] = &c
	return nil
}

// Endpoint implements payments.PostbackStore.
func (s *Store) Endpoint(ctx context.Context, id string) (*payments.Endpoint, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	ep, ok := s.pb.endpoints[id]
	if !ok {
		return nil, fmt.Errorf("memory: endpoint %s: %w", id, payments.ErrNotFound)
	}
	c := cloneEndpoint(ep)
	return &c, nil
}

// Endpoints implements payments.PostbackStore.
func (s *Store) Endpoints(ctx context.Context) ([]payments.Endpoint, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := make([]payments.Endpoint, 0, len(s.pb.epOrder))
	for _, id := range s.pb.epOrder {
		out = append(out, cloneEndpoint(s.pb.endpoints[id]))
	}
	return out, nil
}

// ClaimDeliveries implements payments.PostbackStore.
func (s *Store) ClaimDeliveries(ctx context.Context, c payments.DeliveryClaim) ([]payments.Delivery, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	var out []payments.Delivery
	for _, k := range s.pb.order {
		d := s.pb.deliveries[k]
		ep := s.pb.endpoints[k.endpoint]
		if d.State != payments.DeliveryPending || d.NextAttempt.After(c.Now) || d.LeaseUntil.After(c.Now) || !ep.DisabledAt.IsZero() {
			continue
		}
		d.LeaseOwner, d.LeaseUntil = c.Owner, c.Now.Add(c.Lease)
		out = append(out, *d)
		if len(out) == cursor.Limit(c.Limit) {
			break
		}
	}
	return out, nil
}

// SettleDeliveries implements payments.PostbackStore: every settlement
// under one hold of the lock, in order, so a delivery named twice is
// settled by the first and refused to the second, as two calls would.
func (s *Store) SettleDeliveries(ctx context.Context, list []payments.DeliverySettlement) ([]error, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	errs := make([]error, len(list))
	for i := range list {
		errs[i] = s.settleDelivery(&list[i])
	}
	return errs, nil
}

// settleDelivery settles one delivery; the caller holds the lock.
func (s *Store) settleDelivery(st *payments.DeliverySettlement) error {
	if !st.State.Valid() {
		return fmt.Errorf("memory: settle delivery %s to %s: state %q: %w", st.MessageID, st.EndpointID, st.State, payments.ErrInvalidInput)
	}
	k := deliveryKey{st.MessageID, st.EndpointID}
	d, ok := s.pb.deliveries[k]
	if !ok {
		return fmt.Errorf("memory: delivery %s to %s: %w", st.MessageID, st.EndpointID, payments.ErrNotFound)
	}
	if st.Owner == "" || d.State != payments.DeliveryPending || d.LeaseOwner != st.Owner {
		return fmt.Errorf("memory: delivery %s to %s is not leased to %s: %w", st.MessageID, st.EndpointID, st.Owner, payments.ErrConflict)
	}
	a := st.Attempt.Bounded()
	// An attempt belongs to its delivery, whatever ids the caller left in
	// it, as the SQL stores read it back.
	a.MessageID, a.EndpointID = st.MessageID, st.EndpointID
	d.State, d.Attempts, d.NextAttempt = st.State, st.Attempts, st.NextAttempt
	d.LastStatus, d.LastError = a.Status, a.Error
	d.LeaseOwner, d.LeaseUntil = "", time.Time{}
	s.pb.attempts[k] = append(s.pb.attempts[k], a)
	return nil
}

// Deliveries implements payments.PostbackStore: queue order; the cursor is
// the position in the queue.
func (s *Store) Deliveries(ctx context.Context, f payments.DeliveryFilter) ([]payments.Delivery, string, error) {
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
	var out []payments.Delivery
	for i := max(start, 0); i < int64(len(s.pb.order)); i++ {
		d := s.pb.deliveries[s.pb.order[i]]
		if (f.EndpointID != "" && d.EndpointID != f.EndpointID) || (f.State != "" && d.State != f.State) {
			continue
		}
		if len(out) == limit {
			return out, cursor.EncodeSeq(i - 1), nil
		}
		out = append(out, *d)
	}
	return out, "", nil
}

// Attempts implements payments.PostbackStore.
func (s *Store) Attempts(ctx context.Context, messageID, endpointID string) ([]payments.Attempt, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	return slices.Clone(s.pb.attempts[deliveryKey{messageID, endpointID}]), nil
}

// Redeliver implements payments.PostbackStore.
func (s *Store) Redeliver(ctx context.Context, messageID, endpointID string, now time.Time) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	d, ok := s.pb.deliveries[deliveryKey{messageID, endpointID}]
	if !ok {
		return fmt.Errorf("memory: delivery %s to %s: %w", messageID, endpointID, payments.ErrNotFound)
	}
	d.State, d.NextAttempt, d.LeaseOwner, d.LeaseUntil = payments.DeliveryPending, now, "", time.Time{}
	return nil
}

// FailingSince implements payments.PostbackStore.
func (s *Store) FailingSince(ctx context.Context) (map[string]time.Time, error) {
	if err := s.lock(); err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	out := map[string]time.Time{}
	for _, k := range s.pb.order {
		d := s.pb.deliveries[k]
		if d.State != payments.DeliveryPending || d.Attempts == 0 || !s.pb.endpoints[k.endpoint].DisabledAt.IsZero() {
			continue
		}
		if t, ok := out[k.endpoint]; !ok || d.Message.CreatedAt.Before(t) {
			out[k.endpoint] = d.Message.CreatedAt
		}
	}
	return out, nil
}

func cloneEndpoint(e *payments.Endpoint) payments.Endpoint {
	c := *e
	c.Secrets = slices.Clone(e.Secrets)
	c.Events = slices.Clone(e.Events)
	return c
}
