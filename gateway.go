package payments

import (
	"context"
	"net/http"
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
}

// Empty reports whether the changes carry nothing to record.
func (c *Changes) Empty() bool { return len(c.Payments) == 0 && len(c.Entries) == 0 }

// HeaderNamer is implemented by drivers that need request headers; the
// journal keeps only the headers named here, never the full set, and
// Service.Replay hands only these back to the driver. A driver that reads a
// header it does not name here cannot verify a replay.
type HeaderNamer interface {
	WebhookHeaders() []string
}

// Acknowledger is implemented by drivers whose gateway expects a specific
// body in the 2xx answer to a webhook (Payeer wants "orderid|success",
// Anypay "OK"). It is called only after the notification was recorded.
type Acknowledger interface {
	Acknowledge(w http.ResponseWriter, req *WebhookRequest, changes *Changes)
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

// OperationRequest is a capture, cancel or refund of one payment.
type OperationRequest struct {
	Payment Payment
	// Amount is nil for the full (remaining) amount, else a partial amount.
	Amount *Money
	// Reason is passed to gateways that take one (refund reasons).
	Reason string
	// Params carries what only one gateway needs, under keys its driver
	// documents (a crypto refund's destination address).
	Params map[string]string
	// IdempotencyKey is derived by the Service from its own ids, so a retried
	// call never moves money twice.
	IdempotencyKey string
}

// Capturer captures authorized payments, fully or partially.
type Capturer interface {
	Capture(ctx context.Context, req OperationRequest) (*Changes, error)
}

// Canceler cancels payments that have not been captured.
type Canceler interface {
	Cancel(ctx context.Context, req OperationRequest) (*Changes, error)
}

// Refunder refunds captured payments, fully or partially.
type Refunder interface {
	Refund(ctx context.Context, req OperationRequest) (*Changes, error)
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
