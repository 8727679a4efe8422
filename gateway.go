package payments

import (
	"context"
	"time"
)

// Gateway is what a driver must implement: a name and the translation of one
// authenticated notification into changes. Everything else a gateway can do
// is an optional interface below, discovered by type assertion; the Service
// answers ErrNotSupported when a driver lacks one.
type Gateway interface {
	// Name is the gateway's short name ("stripe"), used in ledger keys and
	// webhook paths. It must not change once entries are recorded.
	Name() string

	// ParseWebhook authenticates one notification and translates it. It
	// returns an error wrapping ErrUnauthenticated when it cannot
	// authenticate the request, and ErrInvalidInput when an authenticated
	// body cannot be understood. An event type the driver does not act on
	// returns Changes with no payments and no entries.
	ParseWebhook(ctx context.Context, req *WebhookRequest) (*Changes, error)
}

// Changes is what a gateway reports happened: payment status changes and
// money movements, recorded by the Service in one Store transaction.
type Changes struct {
	// EventID and EventType are the gateway's, for the journal.
	EventID   string
	EventType string
	Payments  []PaymentUpdate
	Entries   []Entry
	// Note says why nothing was done (an ignored event type), for the journal.
	Note string
	// Notice asks the Service to publish the notification to subscribers
	// as an EventNotice although it records nothing: something the host
	// must answer (App Store's CONSUMPTION_REQUEST).
	Notice bool
	// Followup is what the driver needs in AfterCommit (a purchase token
	// to acknowledge); the core never reads it.
	Followup any
}

// Empty reports whether the changes carry nothing to record.
func (c *Changes) Empty() bool { return len(c.Payments) == 0 && len(c.Entries) == 0 }

// Validate checks every update and entry as the ledger will before it
// records them (a known status, a key, a known currency, an amount whose
// sign matches its kind), taking gateway as the gateway of entries that name
// none. A driver's tests use it on what the driver reports.
func (c *Changes) Validate(gateway string) error {
	if err := validateUpdates(c.Payments); err != nil {
		return err
	}
	for _, e := range c.Entries {
		if err := validateEntry(gateway, &e); err != nil {
			return err
		}
	}
	return nil
}

// AfterCommitter is implemented by drivers that must tell their gateway
// once what they reported is durable (Google Play refunds a purchase not
// acknowledged within three days). The Service calls AfterCommit after each
// commit of a notification's or a verified purchase's changes — duplicates
// included, so that a retry finishes what a failed call left — with the
// changes and what they recorded. Its error fails the call although the
// ledger has recorded the changes: a webhook is answered 500, so that the
// gateway delivers it again, and VerifyPurchase returns the error, so that
// the client reports the purchase again; either way it is recorded once.
type AfterCommitter interface {
	AfterCommit(ctx context.Context, c *Changes, res *BatchResult) error
}

// RecordParser is implemented by drivers that read what moved from their
// gateway's API — a reconciliation, such as Google Play's voided purchases
// whose notification never arrived. Service.Record journals each record
// the driver read and records what ParseRecord makes of it, under the same
// ledger keys its notification would have, so that nothing is counted
// twice; a replay of the journal row parses it again.
type RecordParser interface {
	// ParseRecord translates one record. It is authenticated by the API
	// call that returned it, never by its content; a record it cannot
	// read is ErrInvalidInput.
	ParseRecord(ctx context.Context, body []byte) (*Changes, error)
}

// Reconciler is implemented by drivers that can list what moved at their
// gateway since a point, so that money whose notification never arrived
// reaches the ledger (Service.Reconcile). Each record it lists is a
// self-contained body that its ParseRecord translates, as Service.Record
// does any record: journaled with Source SourceRecord, replayable, and keyed
// as the record's notification would be, so that what a notification
// recorded is a duplicate and a notification arriving after the record is
// one too.
type Reconciler interface {
	RecordParser
	// ListMoved lists one page of what moved since q.Cursor. Its error
	// stops the reconciliation; the cursor is not moved.
	ListMoved(ctx context.Context, q MovedQuery) (*MovedPage, error)
}

// MovedQuery asks a Reconciler for what moved.
type MovedQuery struct {
	// Cursor is a MovedPage.Next the driver returned before; empty for a
	// gateway never reconciled, whose listing starts at Since.
	Cursor string
	// Since is where a listing without a cursor starts.
	Since time.Time
	// Lookback is how far before its cursor a listing starts again, for
	// money that moves after the object that carries it was created (a
	// payment captured days after it was authorized) and for the
	// gateway's listings lagging behind its clock. What is listed twice
	// records nothing twice.
	Lookback time.Duration
	// Limit caps the records of one page; 0 leaves it to the driver. A
	// driver may return more when its listing cannot stop in between.
	Limit int
}

// MovedPage is one page of a Reconciler's listing.
type MovedPage struct {
	// Records are bodies for the driver's ParseRecord, one per movement
	// or per object that carries money (a payment and its charge).
	Records [][]byte
	// Next is where the next listing starts: the reconciler saves it once
	// every record is recorded, and passes it back as MovedQuery.Cursor.
	Next string
	// More reports that the listing stopped at the limit: call again with
	// Next at once.
	More bool
	// Complete reports that the records are every movement the gateway
	// holds that occurred (Entry.OccurredAt) in [From, Until), so that a
	// ledger entry of that window the records do not carry is one the
	// gateway does not know (Reconcile.CheckUnlisted). A driver whose
	// listing is by something else (when the object was created) leaves
	// it false.
	Complete    bool
	From, Until time.Time
}

// HeaderNamer is implemented by drivers that need request headers; the
// journal keeps only the headers named here, never the full set, and
// Service.Replay hands only these back to the driver. A driver that reads a
// header it does not name here cannot verify a replay.
type HeaderNamer interface {
	WebhookHeaders() []string
}

// WebhookReply is the HTTP answer to one webhook.
type WebhookReply struct {
	Status      int
	ContentType string
	Body        []byte
}

// WebhookReplier is implemented by drivers whose gateway expects a
// particular answer to its webhooks (Payeer wants "<orderid>|success",
// Anypay "OK"). The Service calls it for every notification it handled,
// with res.Reply holding the answer it would give: 200 with the outcome as
// JSON once the notification is recorded, duplicate, ignored or parked; 400,
// 401 or 409 when it was rejected; 500 when it could not be recorded. The
// driver may change the body and content type, and the status within its
// class: a failure stays a failure and an acknowledgement an
// acknowledgement, whatever the driver answers — with one exception: a
// notification that verified and was rejected for good (a 400 or 409, and
// journaled) may be acknowledged, for gateways that retry refusals for days
// and disable the endpoint. res.Changes is nil when the notification did not
// verify.
type WebhookReplier interface {
	WebhookReply(req *WebhookRequest, res *WebhookResult) WebhookReply
}

// CaptureMode says when an authorized payment is captured.
type CaptureMode string

// Capture modes.
const (
	CaptureAutomatic CaptureMode = "automatic"
	CaptureManual    CaptureMode = "manual"
)

// CheckoutRequest asks for a new payment.
type CheckoutRequest struct {
	Account     string
	Amount      Money
	Reference   string
	Description string
	Capture     CaptureMode // empty means CaptureAutomatic
	// ReturnURL, CancelURL: where hosted pages send the customer back.
	ReturnURL string
	CancelURL string
	Metadata  map[string]string
	// PaymentID is set by the Service: the library's id of the payment,
	// which drivers send to the gateway as the idempotency key and in
	// metadata so notifications can be matched back.
	PaymentID string
}

// Checkout is a driver's answer to CreateCheckout.
type Checkout struct {
	GatewayID     string
	Status        Status // usually StatusPending
	ClientSecret  string
	RedirectURL   string
	CaptureBefore time.Time
}

// CheckoutCreator starts a payment: an intent, order, invoice or payment link.
type CheckoutCreator interface {
	CreateCheckout(ctx context.Context, req CheckoutRequest) (*Checkout, error)
}

// Capturer captures authorized payments, fully or partially.
type Capturer interface {
	Capture(ctx context.Context, p Payment, opts CaptureOptions) (*Changes, error)
}

// Canceler cancels payments that have not been captured.
type Canceler interface {
	Cancel(ctx context.Context, p Payment, opts CancelOptions) (*Changes, error)
}

// Refunder refunds captured payments, fully or partially.
type Refunder interface {
	Refund(ctx context.Context, p Payment, opts RefundOptions) (*Changes, error)
}

// PurchaseRequest is a purchase a client app reports (an App Store
// transaction, a Google Play purchase token) for the gateway to confirm.
type PurchaseRequest struct {
	Account   string
	Reference string
	ProductID string
	// Token is the receipt, signed transaction or purchase token.
	Token string
}

// PurchaseVerifier confirms client-reported purchases with the gateway.
type PurchaseVerifier interface {
	VerifyPurchase(ctx context.Context, req PurchaseRequest) (*Changes, error)
}

// HealthChecker checks that the gateway's API answers with our credentials.
type HealthChecker interface {
	CheckHealth(ctx context.Context) error
}
