package postback

import (
	"encoding/json"
	"errors"
	"fmt"
	"time"
)

// EventType names what a Message reports.
type EventType string

// The event types a payments.Service sends. More may come: a receiver
// answers 2xx to a type it does not know, or the sender retries it for days.
const (
	EventPaymentCreated EventType = "payment.created"
	EventStatusChanged  EventType = "payment.status_changed"
	EventEntryRecorded  EventType = "entry.recorded"
)

// ErrWrongType: Payment or Entry was asked of a message of another type.
var ErrWrongType = errors.New("postback: message is of another type")

// Message is the body of a postback.
type Message struct {
	Type EventType `json:"type"`
	// Timestamp is when the change it reports was recorded; it is the same
	// on every attempt, unlike the webhook-timestamp header.
	Timestamp time.Time `json:"timestamp"`
	// Data is the payment or the entry; Payment and Entry decode it.
	Data json.RawMessage `json:"data"`
}

// Decode reads a verified body. It fails on a body that is not a message,
// not on a type it does not know.
func Decode(body []byte) (*Message, error) {
	var m Message
	if err := json.Unmarshal(body, &m); err != nil {
		return nil, fmt.Errorf("postback: decode message: %w", err)
	}
	if m.Type == "" || len(m.Data) == 0 {
		return nil, errors.New("postback: decode message: no type or no data")
	}
	return &m, nil
}

// Payment is the data of payment.created and payment.status_changed.
// Amounts are decimal strings in the currency's units ("10.50"), never
// floats.
type Payment struct {
	ID        string `json:"id"`
	Gateway   string `json:"gateway"`
	GatewayID string `json:"gateway_id"`
	Account   string `json:"account"`
	Amount    string `json:"amount"`
	Currency  string `json:"currency"`
	Reference string `json:"reference"`
	Status    string `json:"status"`
	// Version counts the payment's changes. Messages may arrive out of
	// order (a failed delivery is retried after later ones went through):
	// apply one only when its Version is above the last one applied for
	// the payment.
	Version   int64     `json:"version"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Entry is the data of entry.recorded: money that moved. Amount is
// negative for a refund or chargeback. ID is the entry's idempotency key:
// the same money movement always has the same ID.
type Entry struct {
	ID         string    `json:"id"`
	Gateway    string    `json:"gateway"`
	Kind       string    `json:"kind"`
	GatewayRef string    `json:"gateway_ref"`
	PaymentID  string    `json:"payment_id"`
	Account    string    `json:"account"`
	Reference  string    `json:"reference"`
	Amount     string    `json:"amount"`
	Currency   string    `json:"currency"`
	OccurredAt time.Time `json:"occurred_at"`
	RecordedAt time.Time `json:"recorded_at"`
	// Settled is the entry converted into the Service's settlement
	// currency, when it converts and the rate was known.
	Settled *Settled `json:"settled,omitempty"`
}

// Settled is an entry's amount in the settlement currency and the rate
// it was converted at, both decimal strings.
type Settled struct {
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
	Rate     string `json:"rate"`
}

// Payment decodes the data of a payment.created or payment.status_changed
// message.
func (m *Message) Payment() (*Payment, error) {
	if m.Type != EventPaymentCreated && m.Type != EventStatusChanged {
		return nil, fmt.Errorf("%w: %s has no payment", ErrWrongType, m.Type)
	}
	var p Payment
	if err := json.Unmarshal(m.Data, &p); err != nil {
		return nil, fmt.Errorf("postback: decode %s payment: %w", m.Type, err)
	}
	return &p, nil
}

// Entry decodes the data of an entry.recorded message.
func (m *Message) Entry() (*Entry, error) {
	if m.Type != EventEntryRecorded {
		return nil, fmt.Errorf("%w: %s has no entry", ErrWrongType, m.Type)
	}
	var e Entry
	if err := json.Unmarshal(m.Data, &e); err != nil {
		return nil, fmt.Errorf("postback: decode %s entry: %w", m.Type, err)
	}
	return &e, nil
}
