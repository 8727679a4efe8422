package payments

import (
	"strings"
	"time"
)

// Status is a payment's place in its lifecycle:
//
//	pending → authorized → succeeded | failed | canceled | expired
//	succeeded → partially_refunded → refunded, and disputed
//
// Status only moves forward (see Status.Advances): a late or out-of-order
// notification never moves a payment backwards.
type Status string

// Payment statuses.
const (
	StatusPending           Status = "pending"
	StatusAuthorized        Status = "authorized" // funds held, awaiting capture
	StatusFailed            Status = "failed"     // an attempt failed; a retry may still succeed
	StatusCanceled          Status = "canceled"
	StatusExpired           Status = "expired"
	StatusSucceeded         Status = "succeeded"
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusDisputed          Status = "disputed"
)

// statusRank orders statuses. A failure ranks below success because gateways
// report a failed attempt and then a successful retry of the same payment
// (Stripe's payment_intent.payment_failed then .succeeded); canceled and
// expired share a rank so neither overwrites the other.
var statusRank = map[Status]int{
	StatusPending:           0,
	StatusAuthorized:        1,
	StatusFailed:            2,
	StatusCanceled:          3,
	StatusExpired:           3,
	StatusSucceeded:         4,
	StatusPartiallyRefunded: 5,
	StatusRefunded:          6,
	StatusDisputed:          7,
}

// Valid reports whether s is one of the defined statuses.
func (s Status) Valid() bool {
	_, ok := statusRank[s]
	return ok
}

// Advances reports whether moving a payment from s to next is forward. The
// ledger applies a status change only when it advances; anything else is a
// late notification and leaves the payment as it is.
func (s Status) Advances(next Status) bool {
	from, ok1 := statusRank[s]
	if s == "" {
		from, ok1 = -1, true // a payment stored without a status can still start
	}
	to, ok2 := statusRank[next]
	return ok1 && ok2 && to > from
}

// Payment is one attempt to take money at one gateway.
type Payment struct {
	// ID is the library's id: "pay_" and 32 lower-case hex digits, the
	// first 12 the creation time in unix milliseconds. It is the
	// idempotency key of every call the Service makes to the gateway for
	// this payment, and drivers send it to the gateway so that
	// notifications can be matched back (PaymentUpdate.PaymentID).
	ID string
	// Gateway is the driver's Name.
	Gateway string
	// GatewayID is the gateway's id of the payment (a PaymentIntent id, an
	// order id, an invoice uuid). Empty until the gateway has answered.
	GatewayID string
	// Account is the host's id of the customer.
	Account string
	// Amount is what was asked for; what actually moved is in the ledger.
	Amount Money
	// Reference is the host's key for what is being paid (see Reference).
	Reference string
	Status    Status
	// RedirectURL is where the customer pays, for gateways that host a page.
	RedirectURL string
	// ClientSecret lets a client app confirm the payment (Stripe). It is
	// returned by Service.Checkout only: stores never persist it.
	ClientSecret string
	// CaptureBefore is the deadline for capturing an authorized payment.
	CaptureBefore time.Time
	// Metadata is sent to the gateway with the checkout and kept here.
	Metadata map[string]string
	// Version counts the payment's changes: 1 when it is created, one more
	// with every change the ledger applies. Events carry the payment as it
	// is after the change, so a subscriber that receives them out of order
	// drops one whose Version is not above the last it applied.
	Version   int64
	CreatedAt time.Time
	UpdatedAt time.Time
}

// PaymentUpdate is what a gateway reports about one payment. The ledger
// matches it to a stored payment by (gateway, GatewayID), creates the payment
// when it is unknown and the update carries an account, applies Status only
// when it advances, and fills Account, Reference, Amount and CaptureBefore
// only where the stored payment has none (see Batch.Plan).
type PaymentUpdate struct {
	GatewayID string
	// PaymentID is the library's id when the gateway echoes it back (from
	// metadata); it links a checkout to its notifications before GatewayID
	// is known. At least one of GatewayID and PaymentID is set.
	PaymentID     string
	Status        Status // empty for no status change
	Account       string
	Reference     string
	Amount        Money
	RedirectURL   string
	CaptureBefore time.Time
}

// StatusChange is one payment moving from one status to another, as
// published to subscribers.
type StatusChange struct {
	Payment Payment
	From    Status
	To      Status
}

// IsPaymentID reports whether s has the shape of a library payment id
// (Payment.ID): "pay_" and 32 lower-case hex digits, or 24 for ids that
// earlier versions issued and stored ledgers still hold. Drivers use it to
// tell, in what a gateway echoes back, the library's id from a host's own.
func IsPaymentID(s string) bool {
	hexPart, ok := strings.CutPrefix(s, "pay_")
	if !ok || (len(hexPart) != 32 && len(hexPart) != 24) {
		return false
	}
	for i := 0; i < len(hexPart); i++ {
		if c := hexPart[i]; (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
