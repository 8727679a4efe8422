package gatewaytest

import (
	"testing"
	"time"

	"github.com/payrail/payments"
)

// Harness tells RunConformance how to drive one driver and its fake peer
// (an httptest server standing in for the gateway's API, or the driver
// itself when it has no peer). Which fields are required follows from the
// powers the driver declares by the interfaces it implements: the suite
// exercises every one of them and fails, naming the missing field, when a
// power has nothing to drive it. What the gateway cannot do although the
// driver has the power is declared in Lacks, and the suite then checks that
// the driver refuses it.
type Harness struct {
	// Gateway is the driver under test, configured with the test's secrets
	// and pointed at its fake peer.
	Gateway payments.Gateway

	// Valid returns a fresh notification, authentic and signed at time at,
	// that records at least one ledger entry with an account. Required.
	Valid func(t *testing.T, at time.Time) *payments.WebhookRequest
	// ValidFor, for a gateway whose notifications cannot name an account
	// (nothing signed could carry one), returns Valid's kind of
	// notification for p, a payment the suite checked out through the
	// Service first, so that the checks that record money have an account
	// to credit. Requires a CheckoutCreator; nil when Valid names the
	// account itself.
	ValidFor func(t *testing.T, p payments.Payment, at time.Time) *payments.WebhookRequest
	// WrongKey returns the same kind of notification signed with a key the
	// driver does not hold. Required.
	WrongKey func(t *testing.T, at time.Time) *payments.WebhookRequest
	// Unsign removes the signature from req (a header, or a body field for
	// gateways that sign inside the body). Required.
	Unsign func(t *testing.T, req *payments.WebhookRequest)
	// Tolerance is how old a signature the driver accepts; zero when the
	// gateway signs no time, which skips the staleness check.
	Tolerance time.Duration
	// Sign, when the gateway signs outside the body (a header), returns body
	// as an authentic notification, so garbage reaches the parser behind the
	// signature check. Nil for gateways that sign inside the body.
	Sign func(body []byte) *payments.WebhookRequest
	// Unattributed returns an authentic notification, signed at time at, of
	// money for a payment the library never saw and that names no account,
	// so the Service parks it. Required.
	Unattributed func(t *testing.T, at time.Time) *payments.WebhookRequest

	// Amount is what the suite's checkouts ask for (default 25.00 USD): a
	// currency the gateway takes and at least 10 minor units, so that the
	// partial amounts the suite derives from it are whole.
	Amount payments.Money
	// Paid returns an authentic, fresh notification that p, made by the
	// driver's CreateCheckout at the fake peer, was paid amount, and makes
	// the peer hold p as paid. Required for a CheckoutCreator.
	//
	// The suite asks for p.Amount, paid in full, and also for amounts the
	// gateway should never report for p — another currency, or more than p
	// asked — to check that the ledger parks them instead of booking them.
	// Paid reports each as the gateway's ordinary payment, never as an
	// overpayment (see Overpaid): a driver that flags it as one fails.
	Paid func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest
	// Overpaid returns the gateway's own report that p was paid amount,
	// more than p asked (Cryptomus's paid_over), and makes the peer hold p
	// as paid. Set it when the driver, as configured, books such a charge in
	// full, which it does by setting payments.Entry.Overpayment; the suite
	// checks that the whole amount is booked. Nil declares that the driver
	// books no overpayment: a gateway that reports none (Stripe), or a
	// configuration that books the invoice amount instead.
	Overpaid func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest
	// Authorize makes the fake peer hold p, checked out with
	// payments.CaptureManual, as authorized and awaiting capture, as a
	// customer confirming the payment would. Required for a Capturer or a
	// Canceler.
	Authorize func(t *testing.T, p payments.Payment)
	// Refunded returns the authentic notification that a refund of amount
	// of p, accepted by the peer, has completed, and makes the peer hold it
	// as completed. Required for a Refunder whose Refund records no entry
	// (the gateway refunds asynchronously); the suite delivers it after
	// each refund it asked for.
	Refunded func(t *testing.T, p payments.Payment, amount payments.Money) *payments.WebhookRequest
	// Requests returns how many requests the driver has sent to its fake
	// peer so far, so that the suite can check that what the driver must
	// refuse never reaches the gateway. Required for a Capturer, Canceler
	// or Refunder.
	Requests func() int
	// WantReply returns the exact reply the gateway expects to an
	// acknowledged (2xx) notification, for a WebhookReplier that shapes
	// its acknowledgements. Nil means the Service's own: 200 with the
	// outcome as JSON.
	WantReply func(req *payments.WebhookRequest) payments.WebhookReply
	// AcknowledgesRejected declares that the driver answers 2xx to a
	// notification that verified but that the ledger rejected for good
	// (a 409 conflict), as a payments.WebhookReplier may for a gateway
	// that retries refusals for days and disables the endpoint; false
	// declares that it keeps the Service's 4xx. The suite checks the
	// declared class.
	AcknowledgesRejected bool
	// SenderOnly declares a gateway that authenticates its sender, not the
	// body: a bearer token (Pub/Sub's OIDC token) that covers many
	// deliveries and says nothing of what they carry, so that the driver
	// takes what moves money from the gateway's API, never from the body.
	// The suite then checks that a changed or garbage body under the
	// sender's valid credentials never panics and is refused as
	// ErrInvalidInput or ignored (400, or an acknowledgement for a driver
	// that AcknowledgesRejected), and that what it records is only what
	// the gateway's API reports; without the credentials it stays 401.
	SenderOnly bool

	// Lacks declares what the gateway cannot do although the driver has the
	// power; the suite checks the driver refuses it with
	// payments.ErrNotSupported before calling the gateway.
	Lacks Lacks
}

// Lacks declares the gaps of a gateway, as watermill's Features struct
// does: a gap is declared and checked, never skipped in silence.
type Lacks struct {
	// PartialCapture: the gateway captures all that is authorized or
	// nothing.
	PartialCapture bool
	// PartialRefund: the gateway refunds whole payments only.
	PartialRefund bool
}

// defaultAmount is what checkouts ask for when Harness.Amount is zero.
var defaultAmount = payments.Money{Amount: 2500, Currency: "USD"}

func (h *Harness) amount() payments.Money {
	if h.Amount == (payments.Money{}) {
		return defaultAmount
	}
	return h.Amount
}

// part returns num/den of the harness's amount.
func (h *Harness) part(num, den int64) payments.Money {
	m := h.amount()
	m.Amount = m.Amount * num / den
	return m
}
