package payments

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Postbacks are outbound webhooks: every payment status change and recorded
// entry becomes a message to each endpoint that wants its type, queued in
// the transaction that records it and delivered by Run, signed per the
// Standard Webhooks specification (https://www.standardwebhooks.com).

// Endpoint is a receiver of postbacks.
type Endpoint struct {
	// ID is set by Service.AddEndpoint ("ep_…").
	ID string
	// URL receives a POST per message. It must be https, and its host
	// must resolve to a public address (see PostbackOptions.Allow).
	URL string
	// Secrets sign every message ("whsec_" and base64, as the
	// specification has them); each gives one signature, so that during a
	// rotation the receiver verifies with either.
	Secrets []string
	// Events are the event types it receives; empty for all.
	Events []EventType
	// Owner is the host's name for whose endpoint it is (a merchant id),
	// for listing; the library does not read it.
	Owner string
	// DisabledAt is set when the endpoint was disabled, by the host or
	// because its deliveries failed for PostbackOptions.DisableAfter;
	// DisabledReason says why. A disabled endpoint gets no new messages.
	DisabledAt     time.Time
	DisabledReason string
	CreatedAt      time.Time
}

// wants reports whether the endpoint receives events of type t.
func (e *Endpoint) wants(t EventType) bool {
	if !e.DisabledAt.IsZero() {
		return false
	}
	if len(e.Events) == 0 {
		return true
	}
	for _, w := range e.Events {
		if w == t {
			return true
		}
	}
	return false
}

// Message is one postback: the same id and body for every endpoint and
// every attempt (the receiver's idempotency key is its ID).
type Message struct {
	// ID is the webhook-id header ("msg_…").
	ID   string
	Type EventType
	// PaymentID names the payment the message is about.
	PaymentID string
	// Body is the JSON posted: {"type", "timestamp", "data"}, data being
	// the payment or the entry as the API shows them.
	Body      []byte
	CreatedAt time.Time
}

// DeliveryState is where one message's delivery to one endpoint stands.
type DeliveryState string

// Delivery states.
const (
	DeliveryPending   DeliveryState = "pending"   // due at NextAttempt (maybe leased)
	DeliveryDelivered DeliveryState = "delivered" // the endpoint answered 2xx
	DeliveryFailed    DeliveryState = "failed"    // retries exhausted, or the endpoint was disabled
)

// Valid reports whether s is one of the delivery states; a settlement that
// names another is ErrInvalidInput.
func (s DeliveryState) Valid() bool {
	switch s {
	case DeliveryPending, DeliveryDelivered, DeliveryFailed:
		return true
	}
	return false
}

// Delivery is one message to one endpoint.
type Delivery struct {
	Message     Message
	EndpointID  string
	State       DeliveryState
	Attempts    int
	NextAttempt time.Time
	// LastStatus and LastError describe the last attempt.
	LastStatus int
	LastError  string
	LeaseOwner string
	LeaseUntil time.Time
}

// Attempt is one try at a delivery, journaled whatever its outcome.
type Attempt struct {
	MessageID, EndpointID string
	At                    time.Time
	// Status is the HTTP status, 0 when no answer came.
	Status  int
	Latency time.Duration
	// Response is the start of the answer's body; Error why no answer.
	Response, Error string
}

// MaxAttemptText bounds, in bytes, the Response and the Error a
// PostbackStore keeps of an attempt, and the LastError of its delivery, so
// that a chatty endpoint cannot grow the journal.
const MaxAttemptText = 1024

// Bounded returns a with Response and Error cut to at most MaxAttemptText
// bytes, as a PostbackStore keeps them. A character the bound would split
// is left out whole, so that text that was valid UTF-8 stays so.
func (a Attempt) Bounded() Attempt {
	a.Response, a.Error = boundText(a.Response), boundText(a.Error)
	return a
}

func boundText(s string) string {
	if len(s) <= MaxAttemptText {
		return s
	}
	cut := MaxAttemptText
	// A character the bound splits starts in the last UTFMax-1 bytes before
	// it; bytes that are not UTF-8 are kept as they are, since Response may
	// be binary.
	for i := cut - 1; i > cut-utf8.UTFMax; i-- {
		if utf8.RuneStart(s[i]) {
			// Decoded from the whole text: a lead byte that no
			// continuation follows is one byte, kept.
			if _, size := utf8.DecodeRuneInString(s[i:]); i+size > cut {
				cut = i
			}
			break
		}
	}
	return s[:cut]
}

// DeliveryClaim asks a PostbackStore for due deliveries, as SyncClaim does
// for sync tasks.
type DeliveryClaim struct {
	Owner string
	Now   time.Time
	Lease time.Duration
	Limit int
}

// DeliverySettlement ends the lease on one delivery: delivered, retried at
// NextAttempt, or failed; the attempt is journaled with it. The delivery
// loop hands them to PostbackStore.SettleDeliveries in batches.
type DeliverySettlement struct {
	MessageID, EndpointID string
	Owner                 string
	State                 DeliveryState
	Attempts              int
	NextAttempt           time.Time
	Attempt               Attempt
}

// DeliveryFilter selects deliveries, oldest message first.
type DeliveryFilter struct {
	EndpointID string
	State      DeliveryState
	Limit      int
	After      string
}

// PostbackStore is implemented by Stores that keep postbacks. Commit of a
// Batch with Postbacks set queues, in its transaction, a pending delivery
// of each of the plan's Messages to every endpoint that wants its type
// (enabled, and Events empty or naming it). Every method follows the rules
// of the sync outbox's: no delivery is leased to two owners at once, a
// settlement of a lease that is no longer the owner's is ErrConflict.
type PostbackStore interface {
	// SaveEndpoint inserts or replaces the endpoint with e.ID.
	SaveEndpoint(ctx context.Context, e *Endpoint) error
	// Endpoint returns one endpoint, or ErrNotFound.
	Endpoint(ctx context.Context, id string) (*Endpoint, error)
	// Endpoints lists every endpoint, oldest first.
	Endpoints(ctx context.Context) ([]Endpoint, error)
	// ClaimDeliveries leases up to c.Limit due deliveries of enabled
	// endpoints, oldest first.
	ClaimDeliveries(ctx context.Context, c DeliveryClaim) ([]Delivery, error)
	// SettleDeliveries ends the leases of a batch of settlements and
	// journals their attempts in one transaction, so that a delivery pass
	// pays for one durable commit per batch rather than one per message.
	//
	// errs has an entry per settlement, in order: nil when it took (the
	// delivery changed and its attempt is journaled); ErrConflict when the
	// delivery is no longer pending under the settlement's Owner (another
	// owner's lease, redelivered, or settled already); ErrNotFound when
	// there is no such delivery; ErrInvalidInput for a State that is not
	// Valid; any other error when it did not take for a reason the
	// store could not tell. A refused settlement changes and journals
	// nothing, and does not keep the others from taking. Of two
	// settlements of one delivery in a call one takes at most, the other
	// being ErrConflict.
	//
	// A settlement that takes keeps its attempt, and the delivery's
	// LastError, as Attempt.Bounded has them; a store whose text columns
	// cannot hold bytes that are not UTF-8, or NUL, in Error may replace
	// them with U+FFFD (PostgreSQL does).
	//
	// err is the store failing as a whole: then nothing was settled and
	// errs is nil.
	SettleDeliveries(ctx context.Context, s []DeliverySettlement) (errs []error, err error)
	// Deliveries lists one page of deliveries and the next page's cursor.
	Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error)
	// Attempts lists one delivery's attempts, oldest first.
	Attempts(ctx context.Context, messageID, endpointID string) ([]Attempt, error)
	// Redeliver makes one delivery pending and due at now, with its
	// attempts kept; ErrNotFound for none.
	Redeliver(ctx context.Context, messageID, endpointID string, now time.Time) error
	// FailingSince returns, for each enabled endpoint with a pending
	// delivery that has failed at least once, the time of the oldest such
	// delivery's message: how long the endpoint has been failing.
	FailingSince(ctx context.Context) (map[string]time.Time, error)
}

// messages makes the postbacks of what a batch changed.
func messages(res *BatchResult, now time.Time) ([]Message, error) {
	var out []Message
	add := func(t EventType, paymentID string, data any) error {
		body, err := json.Marshal(struct {
			Type      EventType `json:"type"`
			Timestamp time.Time `json:"timestamp"`
			Data      any       `json:"data"`
		}{t, now, data})
		if err != nil {
			return fmt.Errorf("payments: encode %s postback: %w", t, err)
		}
		out = append(out, Message{ID: newID("msg"), Type: t, PaymentID: paymentID, Body: body, CreatedAt: now})
		return nil
	}
	for i := range res.Created {
		if err := add(EventPaymentCreated, res.Created[i].ID, paymentData(&res.Created[i])); err != nil {
			return nil, err
		}
	}
	for i := range res.Changes {
		p := &res.Changes[i].Payment
		if err := add(EventStatusChanged, p.ID, paymentData(p)); err != nil {
			return nil, err
		}
	}
	for i := range res.Entries {
		e := &res.Entries[i]
		if err := add(EventEntryRecorded, e.PaymentID, entryData(e)); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// paymentData is a payment as postbacks carry it: amounts as decimal
// strings, never floats, and nothing secret.
func paymentData(p *Payment) map[string]any {
	return map[string]any{
		"id": p.ID, "gateway": p.Gateway, "gateway_id": p.GatewayID, "account": p.Account,
		"amount": p.Amount.Decimal(), "currency": p.Amount.Currency, "reference": p.Reference,
		"status": p.Status, "version": p.Version, "updated_at": p.UpdatedAt,
	}
}

func entryData(e *Entry) map[string]any {
	d := map[string]any{
		"id": e.ID, "gateway": e.Gateway, "kind": e.Kind, "gateway_ref": e.GatewayRef, "payment_id": e.PaymentID,
		"account": e.Account, "reference": e.Reference, "amount": e.Amount.Decimal(), "currency": e.Amount.Currency,
		"occurred_at": e.OccurredAt, "recorded_at": e.RecordedAt,
	}
	if c := e.Settlement; c != nil && !c.Pending() {
		d["settled"] = map[string]any{"amount": c.Money.Decimal(), "currency": c.Money.Currency, "rate": c.Rate}
	}
	return d
}

// signPostback returns the webhook-signature header value of a message
// sent at ts: "v1,<base64 HMAC-SHA256 of id.timestamp.body>" for each
// secret, space-separated, per the Standard Webhooks specification.
func signPostback(secrets []string, id string, ts time.Time, body []byte) (string, error) {
	var sigs []string
	for _, s := range secrets {
		key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
		if err != nil || len(key) == 0 {
			return "", fmt.Errorf("payments: endpoint secret is not whsec_ and base64: %w", ErrInvalidInput)
		}
		mac := hmac.New(sha256.New, key)
		fmt.Fprintf(mac, "%s.%d.", id, ts.Unix())
		mac.Write(body)
		sigs = append(sigs, "v1,"+base64.StdEncoding.EncodeToString(mac.Sum(nil)))
	}
	return strings.Join(sigs, " "), nil
}
