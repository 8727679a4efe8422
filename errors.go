package payments

import "errors"

// Sentinel errors. Every error the library returns wraps at most one of these,
// so callers branch with errors.Is and never by matching message text.
var (
	// ErrNotFound reports that a payment, entry, notification or sync task
	// does not exist.
	ErrNotFound = errors.New("not found")

	// ErrConflict reports that a write contradicts what is already stored:
	// the same ledger key with a different amount or account, or a payment id
	// that is taken.
	ErrConflict = errors.New("conflict")

	// ErrNotSupported reports that a gateway's driver lacks the power asked
	// of it (for example Capture on a gateway that only takes immediate
	// payments), or that the Service has no gateway of that name.
	ErrNotSupported = errors.New("not supported")

	// ErrUnauthenticated reports that a notification failed verification:
	// a missing, wrong or stale signature, a sender that is not allowed, or
	// a body in which no signature can be found or checked, whether the
	// gateway signs in a header or inside the body. Webhooks answer 401.
	ErrUnauthenticated = errors.New("unauthenticated")

	// ErrInvalidInput reports malformed input: an amount with more precision
	// than its currency, an unknown currency, a malformed reference, a
	// cursor the Store did not issue, an operation extension of another
	// driver, or a notification that verified but cannot be understood
	// (webhooks answer 400).
	ErrInvalidInput = errors.New("invalid input")

	// ErrUnattributed reports ledger movements that cannot be attributed to an
	// account: the gateway did not carry one and no known payment supplies it.
	// The Service journals such notifications as parked instead of dropping
	// them, so the host can attribute and replay them.
	ErrUnattributed = errors.New("no account for payment")

	// ErrMismatch reports money that does not match its payment: a
	// currency other than the payment's, or a charge above the payment's
	// amount that the gateway did not report as an overpayment. The
	// Service parks such notifications for review instead of booking them.
	ErrMismatch = errors.New("money does not match its payment")
)

// permanentError marks a BalanceService failure that retrying cannot fix.
type permanentError struct{ err error }

func (e *permanentError) Error() string { return "permanent: " + e.err.Error() }

func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so that the sync loop parks the entry it failed on
// instead of retrying it. Parked entries are listed by Service.SyncTasks and
// can be requeued with Service.RequeueSync once the cause is fixed.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

// IsPermanent reports whether err, or an error it wraps, was marked with
// Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
