// Package gatewaytest holds what every driver's tests share: the
// conformance suite (RunConformance), which a driver runs from its own
// tests with a Harness over its fake peer and which exercises every power
// the driver declares; a fuzz helper (FuzzWebhook); and Fake, an
// HMAC-signed gateway with every power, for testing the core, stores and
// host apps without a real gateway.
package gatewaytest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// SignatureHeader carries the Fake gateway's signature: "t=<unix>,v1=<hex>",
// where v1 is HMAC-SHA256 of "<t>.<body>" under the shared secret — the
// scheme Stripe and many others use.
const SignatureHeader = "X-Fake-Signature"

// Fake is a gateway driver for tests. It authenticates notifications with an
// HMAC over a signed timestamp and the raw body, translates a small JSON
// event vocabulary into payment updates and entries, and implements every
// optional capability so the Service's routing can be tested.
type Fake struct {
	name      string
	secret    []byte
	tolerance time.Duration
	now       func() time.Time

	mu        sync.Mutex
	healthErr error
	seq       int
	calls     []string
	moved     []movement // what moved at the fake gateway, in order (Move)
	listErr   error      // ListMoved's next answer (FailListing)
}

// FakeOption configures a Fake.
type FakeOption func(*Fake)

// WithName sets the gateway name (default "fake").
func WithName(name string) FakeOption { return func(f *Fake) { f.name = name } }

// WithTolerance sets how old a signature may be (default 5 minutes).
func WithTolerance(d time.Duration) FakeOption { return func(f *Fake) { f.tolerance = d } }

// WithClock sets the clock the Fake checks signature age against.
func WithClock(now func() time.Time) FakeOption { return func(f *Fake) { f.now = now } }

// NewFake returns a Fake that verifies with secret.
func NewFake(secret string, opts ...FakeOption) *Fake {
	f := &Fake{name: "fake", secret: []byte(secret), tolerance: 5 * time.Minute, now: time.Now}
	for _, o := range opts {
		o(f)
	}
	return f
}

// Event is the Fake's notification body. Types:
//
//	payment.pending, payment.authorized, payment.failed, payment.canceled:
//	    status change only
//	payment.succeeded: status succeeded and a charge of Amount (ref PaymentID)
//	payment.overpaid: the same, reported as an overpayment: the gateway
//	    says more was paid than asked (payments.Entry.Overpayment)
//	refund.succeeded: a refund of Amount (ref RefundID)
//	refund.reversed: a refund reversal of Amount (ref RefundID)
//	dispute.lost: status disputed and a chargeback of Amount (ref DisputeID)
//
// Any other type is ignored. Amount is a positive decimal string.
type Event struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	PaymentID string `json:"payment_id"`
	Account   string `json:"account,omitempty"`
	Reference string `json:"reference,omitempty"`
	Amount    string `json:"amount,omitempty"`
	Currency  string `json:"currency,omitempty"`
	RefundID  string `json:"refund_id,omitempty"`
	DisputeID string `json:"dispute_id,omitempty"`
	// CaptureBefore, RFC 3339, is an authorization's capture deadline.
	CaptureBefore string `json:"capture_before,omitempty"`
	// OccurredAt, RFC 3339, is when the money moved (Entry.OccurredAt);
	// Move sets it.
	OccurredAt string `json:"occurred_at,omitempty"`
}

// Name implements payments.Gateway.
func (f *Fake) Name() string { return f.name }

// WebhookHeaders implements payments.HeaderNamer.
func (f *Fake) WebhookHeaders() []string { return []string{SignatureHeader} }

// Sign returns the header that authenticates body as signed at time at.
func (f *Fake) Sign(body []byte, at time.Time) http.Header {
	ts := strconv.FormatInt(at.Unix(), 10)
	h := http.Header{}
	h.Set(SignatureHeader, "t="+ts+",v1="+hex.EncodeToString(f.mac(ts, body)))
	return h
}

// Request returns a notification of ev signed at time at.
func (f *Fake) Request(ev Event, at time.Time) *payments.WebhookRequest {
	body, err := json.Marshal(ev)
	if err != nil {
		panic(err) // Event has only string fields
	}
	return &payments.WebhookRequest{Header: f.Sign(body, at), Body: body, RemoteAddr: "127.0.0.1:1"}
}

func (f *Fake) mac(ts string, body []byte) []byte {
	m := hmac.New(sha256.New, f.secret)
	m.Write([]byte(ts))
	m.Write([]byte("."))
	m.Write(body)
	return m.Sum(nil)
}

// ParseWebhook implements payments.Gateway.
func (f *Fake) ParseWebhook(ctx context.Context, req *payments.WebhookRequest) (*payments.Changes, error) {
	if err := f.verify(req); err != nil {
		return nil, err
	}
	var ev Event
	if err := json.Unmarshal(req.Body, &ev); err != nil {
		return nil, fmt.Errorf("%s: decode event: %v: %w", f.name, err, payments.ErrInvalidInput)
	}
	if ev.ID == "" || ev.Type == "" {
		return nil, fmt.Errorf("%s: event without id or type: %w", f.name, payments.ErrInvalidInput)
	}
	return f.translate(ev)
}

func (f *Fake) verify(req *payments.WebhookRequest) error {
	header := req.Header.Get(SignatureHeader)
	var ts, sig string
	for part := range strings.SplitSeq(header, ",") {
		k, v, _ := strings.Cut(part, "=")
		switch k {
		case "t":
			ts = v
		case "v1":
			sig = v
		}
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || sig == "" {
		return fmt.Errorf("%s: missing or malformed %s: %w", f.name, SignatureHeader, payments.ErrUnauthenticated)
	}
	got, err := hex.DecodeString(sig)
	if err != nil || !hmac.Equal(got, f.mac(ts, req.Body)) {
		return fmt.Errorf("%s: signature mismatch: %w", f.name, payments.ErrUnauthenticated)
	}
	if age := f.now().Sub(time.Unix(unix, 0)); !req.Replay && (age > f.tolerance || age < -f.tolerance) {
		return fmt.Errorf("%s: signature time %s outside tolerance %s: %w", f.name, age, f.tolerance, payments.ErrUnauthenticated)
	}
	return nil
}

func (f *Fake) translate(ev Event) (*payments.Changes, error) {
	c := &payments.Changes{EventID: ev.ID, EventType: ev.Type}
	update := payments.PaymentUpdate{GatewayID: ev.PaymentID, Account: ev.Account, Reference: ev.Reference}
	status := map[string]payments.Status{
		"payment.pending":    payments.StatusPending,
		"payment.authorized": payments.StatusAuthorized,
		"payment.failed":     payments.StatusFailed,
		"payment.canceled":   payments.StatusCanceled,
		"payment.succeeded":  payments.StatusSucceeded,
		"payment.overpaid":   payments.StatusSucceeded,
		"dispute.lost":       payments.StatusDisputed,
	}
	kinds := map[string]struct {
		kind payments.EntryKind
		ref  string
	}{
		"payment.succeeded": {payments.KindCharge, ev.PaymentID},
		"payment.overpaid":  {payments.KindCharge, ev.PaymentID},
		"refund.succeeded":  {payments.KindRefund, ev.RefundID},
		"refund.reversed":   {payments.KindRefundReversal, ev.RefundID},
		"dispute.lost":      {payments.KindChargeback, ev.DisputeID},
	}
	s, hasStatus := status[ev.Type]
	k, hasEntry := kinds[ev.Type]
	if !hasStatus && !hasEntry {
		c.Note = "event type " + ev.Type + " is not acted on"
		return c, nil
	}
	if ev.PaymentID == "" || (hasEntry && k.ref == "") {
		return nil, fmt.Errorf("%s: %s without payment_id, refund_id or dispute_id: %w", f.name, ev.Type, payments.ErrInvalidInput)
	}
	update.Status = s
	if ev.CaptureBefore != "" {
		t, err := time.Parse(time.RFC3339, ev.CaptureBefore)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: capture_before: %v: %w", f.name, ev.ID, err, payments.ErrInvalidInput)
		}
		update.CaptureBefore = t
	}
	var occurred time.Time
	if ev.OccurredAt != "" {
		t, err := time.Parse(time.RFC3339Nano, ev.OccurredAt)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: occurred_at: %v: %w", f.name, ev.ID, err, payments.ErrInvalidInput)
		}
		occurred = t
	}
	if ev.Amount != "" {
		m, err := payments.ParseMoney(ev.Amount, ev.Currency)
		if err != nil {
			return nil, fmt.Errorf("%s: %s: %w", f.name, ev.ID, err)
		}
		if hasStatus && ev.Type == "payment.succeeded" {
			update.Amount = m
		}
		if hasEntry {
			if m.Amount <= 0 {
				return nil, fmt.Errorf("%s: %s: amount must be positive: %w", f.name, ev.ID, payments.ErrInvalidInput)
			}
			if k.kind.Sign() < 0 {
				m.Amount = -m.Amount
			}
			c.Entries = append(c.Entries, payments.Entry{
				Gateway: f.name, Kind: k.kind, GatewayRef: k.ref, GatewayPaymentID: ev.PaymentID,
				Account: ev.Account, Amount: m, Overpayment: ev.Type == "payment.overpaid", OccurredAt: occurred,
			})
		}
	} else if hasEntry {
		return nil, fmt.Errorf("%s: %s without amount: %w", f.name, ev.Type, payments.ErrInvalidInput)
	}
	c.Payments = append(c.Payments, update)
	return c, nil
}
