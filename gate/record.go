package gate

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// Record is the gate's own record of one merchant payment: the request the
// merchant made under its id, and the library payment that carries it.
type Record struct {
	// ID is the gate's payment id ("gp_" and 32 hex digits of randomness):
	// the id in the wrapper URL and in postbacks. It is a capability — who
	// knows it can pay and watch the status — so it is unguessable.
	ID string
	// Merchant is the merchant's id; MerchantPaymentID the merchant's own
	// id of the payment (the request's "id"). The pair is unique.
	Merchant          string
	MerchantPaymentID string
	// Fingerprint is the SHA-256 (hex) of the normalized request: the same
	// request again under the same id is answered as the first was; another
	// is a conflict.
	Fingerprint string
	Request     PaymentRequest
	// Gateway is the gateway the payment goes to: the request's, or the
	// customer's choice; empty until chosen.
	Gateway string
	// PaymentID is the library's payment (payments.Payment.ID); empty until
	// the checkout was created.
	PaymentID string
	// Posted is the last status a postback was queued for, so that each
	// status is posted once and never a step backwards.
	Posted    Status
	CreatedAt time.Time
}

// PostbackState is where one postback's delivery stands.
type PostbackState string

// Postback states.
const (
	PostbackPending   PostbackState = "pending"
	PostbackDelivered PostbackState = "delivered"
	PostbackFailed    PostbackState = "failed"
)

// Postback is one signed message to a merchant's postbackUrl.
type Postback struct {
	// MessageID is the webhook-id header, derived from the record and the
	// status, so that two gate processes queue the same message once and
	// the merchant deduplicates retries by it.
	MessageID string
	RecordID  string
	Merchant  string
	URL       string
	Type      EventType
	Status    Status
	// Body is the JSON posted, the same on every attempt.
	Body        []byte
	State       PostbackState
	Attempts    int
	NextAttempt time.Time
	LastStatus  int
	LastError   string
	LeaseOwner  string
	LeaseUntil  time.Time
	CreatedAt   time.Time
}

// PostbackClaim asks for due postbacks: pending, NextAttempt <= Now and no
// live lease; they are leased to Owner until Now+Lease.
type PostbackClaim struct {
	Owner string
	Now   time.Time
	Lease time.Duration
	Limit int
}

// RecordStore keeps the gate's records and their postbacks. A SQL
// implementation follows the memory one; every method is one transaction.
type RecordStore interface {
	// CreateRecord inserts r; payments.ErrConflict when (Merchant,
	// MerchantPaymentID) or ID is taken.
	CreateRecord(ctx context.Context, r *Record) error
	// Record returns one record by the gate's id, or payments.ErrNotFound.
	Record(ctx context.Context, id string) (*Record, error)
	// RecordByMerchant returns the record of a merchant's payment id, or
	// payments.ErrNotFound.
	RecordByMerchant(ctx context.Context, merchant, merchantPaymentID string) (*Record, error)
	// RecordByPayment returns the record of a library payment, or
	// payments.ErrNotFound.
	RecordByPayment(ctx context.Context, paymentID string) (*Record, error)
	// AttachPayment sets the record's Gateway and PaymentID unless a
	// payment is attached already, and returns the record as stored: the
	// caller compares, so that of two concurrent checkouts one wins.
	AttachPayment(ctx context.Context, id, gateway, paymentID string) (*Record, error)
	// Following lists the records with a payment created at or after since
	// whose status may still change what the merchant was told.
	Following(ctx context.Context, since time.Time) ([]Record, error)
	// QueuePostback queues p and sets the record's Posted to p.Status, in
	// one step, unless the record's Posted is already p.Status or does not
	// advance to it (then it reports false and queues nothing).
	QueuePostback(ctx context.Context, p *Postback) (bool, error)
	// ClaimPostbacks leases due postbacks in the order they were queued,
	// only the oldest pending one of each record, so that a merchant hears
	// a payment's statuses in order; none is leased to two owners at once.
	ClaimPostbacks(ctx context.Context, c PostbackClaim) ([]Postback, error)
	// SettlePostback ends owner's lease on a postback with its new state
	// (State, Attempts, NextAttempt, LastStatus, LastError);
	// payments.ErrConflict when the lease is no longer owner's.
	SettlePostback(ctx context.Context, owner string, p *Postback) error
	// Postbacks lists the postbacks of a record, oldest first.
	Postbacks(ctx context.Context, recordID string) ([]Postback, error)
}

func isNotFound(err error) bool { return errors.Is(err, payments.ErrNotFound) }

// MemoryRecords is an in-memory RecordStore for tests and demos.
type MemoryRecords struct {
	mu         sync.Mutex
	records    map[string]*Record
	byMerchant map[[2]string]string
	byPayment  map[string]string
	postbacks  map[string]*Postback
	// seq orders postbacks as queued: their CreatedAt may tie.
	seq map[string]int
}

// NewMemoryRecords returns an empty MemoryRecords.
func NewMemoryRecords() *MemoryRecords {
	return &MemoryRecords{records: map[string]*Record{}, byMerchant: map[[2]string]string{},
		byPayment: map[string]string{}, postbacks: map[string]*Postback{}, seq: map[string]int{}}
}

// CreateRecord implements RecordStore.
func (s *MemoryRecords) CreateRecord(_ context.Context, r *Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := [2]string{r.Merchant, r.MerchantPaymentID}
	if _, ok := s.byMerchant[key]; ok {
		return fmt.Errorf("gate: payment %q of merchant %q: %w", r.MerchantPaymentID, r.Merchant, payments.ErrConflict)
	}
	if _, ok := s.records[r.ID]; ok {
		return fmt.Errorf("gate: record %s: %w", r.ID, payments.ErrConflict)
	}
	c := *r
	s.records[r.ID] = &c
	s.byMerchant[key] = r.ID
	if r.PaymentID != "" {
		s.byPayment[r.PaymentID] = r.ID
	}
	return nil
}

// Record implements RecordStore.
func (s *MemoryRecords) Record(_ context.Context, id string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(id)
}

func (s *MemoryRecords) get(id string) (*Record, error) {
	r, ok := s.records[id]
	if !ok {
		return nil, fmt.Errorf("gate: record %q: %w", id, payments.ErrNotFound)
	}
	c := *r
	return &c, nil
}

// RecordByMerchant implements RecordStore.
func (s *MemoryRecords) RecordByMerchant(_ context.Context, merchant, merchantPaymentID string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(s.byMerchant[[2]string{merchant, merchantPaymentID}])
}

// RecordByPayment implements RecordStore.
func (s *MemoryRecords) RecordByPayment(_ context.Context, paymentID string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.get(s.byPayment[paymentID])
}

// AttachPayment implements RecordStore.
func (s *MemoryRecords) AttachPayment(_ context.Context, id, gateway, paymentID string) (*Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return nil, fmt.Errorf("gate: record %q: %w", id, payments.ErrNotFound)
	}
	if r.PaymentID == "" {
		r.Gateway, r.PaymentID = gateway, paymentID
		s.byPayment[paymentID] = id
	}
	return s.get(id)
}

// Following implements RecordStore.
func (s *MemoryRecords) Following(_ context.Context, since time.Time) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		// Refunded is the last status a payment reaches but a dispute.
		if r.PaymentID != "" && !r.CreatedAt.Before(since) && r.Posted != StatusDisputed {
			out = append(out, *r)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// QueuePostback implements RecordStore.
func (s *MemoryRecords) QueuePostback(_ context.Context, p *Postback) (bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[p.RecordID]
	if !ok {
		return false, fmt.Errorf("gate: record %q: %w", p.RecordID, payments.ErrNotFound)
	}
	if _, dup := s.postbacks[p.MessageID]; dup || !PostbackDue(r.Posted, p.Status) {
		return false, nil
	}
	c := *p
	c.Body = slices.Clone(p.Body)
	s.postbacks[p.MessageID] = &c
	s.seq[p.MessageID] = len(s.seq)
	r.Posted = p.Status
	return true, nil
}

// ClaimPostbacks implements RecordStore.
func (s *MemoryRecords) ClaimPostbacks(_ context.Context, c PostbackClaim) ([]Postback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Postback
	blocked := map[string]bool{}
	for _, p := range s.queued() {
		if p.State != PostbackPending {
			continue
		}
		// Only a record's oldest pending postback may go, so that a
		// merchant hears a payment's statuses in the order they came.
		first := !blocked[p.RecordID]
		blocked[p.RecordID] = true
		if !first || p.NextAttempt.After(c.Now) || p.LeaseUntil.After(c.Now) {
			continue
		}
		if c.Limit > 0 && len(out) == c.Limit {
			break
		}
		p.LeaseOwner, p.LeaseUntil = c.Owner, c.Now.Add(c.Lease)
		out = append(out, *p)
	}
	return out, nil
}

// queued returns the postbacks in the order they were queued.
func (s *MemoryRecords) queued() []*Postback {
	all := make([]*Postback, 0, len(s.postbacks))
	for _, p := range s.postbacks {
		all = append(all, p)
	}
	sort.Slice(all, func(i, j int) bool { return s.seq[all[i].MessageID] < s.seq[all[j].MessageID] })
	return all
}

// SettlePostback implements RecordStore.
func (s *MemoryRecords) SettlePostback(_ context.Context, owner string, p *Postback) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	stored, ok := s.postbacks[p.MessageID]
	if !ok {
		return fmt.Errorf("gate: postback %q: %w", p.MessageID, payments.ErrNotFound)
	}
	if stored.LeaseOwner != owner {
		return fmt.Errorf("gate: postback %q is leased to another owner: %w", p.MessageID, payments.ErrConflict)
	}
	stored.State, stored.Attempts, stored.NextAttempt = p.State, p.Attempts, p.NextAttempt
	stored.LastStatus, stored.LastError = p.LastStatus, p.LastError
	stored.LeaseOwner, stored.LeaseUntil = "", time.Time{}
	return nil
}

// Postbacks implements RecordStore.
func (s *MemoryRecords) Postbacks(_ context.Context, recordID string) ([]Postback, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Postback
	for _, p := range s.queued() {
		if p.RecordID == recordID {
			out = append(out, *p)
		}
	}
	return out, nil
}
