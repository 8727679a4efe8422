package gate

import "github.com/payrail/payments"

// Status is a payment's status as the gate shows it to merchants: the
// ledger's status (payments.Status), named here so that the merchant API
// is documented by this package's constants.
type Status string

// Statuses a merchant sees in postbacks and status answers.
const (
	// StatusPending: the customer has not paid yet (or has not chosen a
	// gateway); the gateway may still report success.
	StatusPending Status = "pending"
	// StatusAuthorized: funds are held, capture pending.
	StatusAuthorized Status = "authorized"
	// StatusSucceeded: the money was taken.
	StatusSucceeded Status = "succeeded"
	// StatusFailed: an attempt failed; the customer may still retry and
	// succeed, in which case a succeeded postback follows.
	StatusFailed Status = "failed"
	// StatusCanceled: the payment was canceled.
	StatusCanceled Status = "canceled"
	// StatusExpired: the customer did not pay in time.
	StatusExpired Status = "expired"
	// StatusPartiallyRefunded, StatusRefunded and StatusDisputed follow a
	// success.
	StatusPartiallyRefunded Status = "partially_refunded"
	StatusRefunded          Status = "refunded"
	StatusDisputed          Status = "disputed"
)

// EventType names a postback's type (the "type" field of its body).
type EventType string

// Postback event types: one per status a merchant is told about. Pending and
// authorized are not posted: they are not an outcome.
const (
	EventPaymentSucceeded         EventType = "payment.succeeded"
	EventPaymentFailed            EventType = "payment.failed"
	EventPaymentCanceled          EventType = "payment.canceled"
	EventPaymentExpired           EventType = "payment.expired"
	EventPaymentPartiallyRefunded EventType = "payment.partially_refunded"
	EventPaymentRefunded          EventType = "payment.refunded"
	EventPaymentDisputed          EventType = "payment.disputed"
)

// eventFor maps a status to the postback it causes; ok is false for the
// statuses that are not posted.
func eventFor(s Status) (EventType, bool) {
	switch s {
	case StatusSucceeded:
		return EventPaymentSucceeded, true
	case StatusFailed:
		return EventPaymentFailed, true
	case StatusCanceled:
		return EventPaymentCanceled, true
	case StatusExpired:
		return EventPaymentExpired, true
	case StatusPartiallyRefunded:
		return EventPaymentPartiallyRefunded, true
	case StatusRefunded:
		return EventPaymentRefunded, true
	case StatusDisputed:
		return EventPaymentDisputed, true
	}
	return "", false
}

// outcome says where a status sends the customer back to.
type outcome int

const (
	outcomeWaiting outcome = iota // no outcome yet: keep following
	outcomeSuccess                // the merchant's successUrl
	outcomeFailure                // the merchant's errorUrl
)

// outcomeOf classifies a ledger status for the return pages. A refund or
// dispute follows a success, so the customer did pay.
func outcomeOf(s Status) outcome {
	switch s {
	case StatusSucceeded, StatusPartiallyRefunded, StatusRefunded, StatusDisputed:
		return outcomeSuccess
	case StatusFailed, StatusCanceled, StatusExpired:
		return outcomeFailure
	}
	return outcomeWaiting
}

// PostbackDue reports whether a record whose merchant was last told posted
// ("" for nothing yet) is to be told next: the gate posts each status once,
// and never a step backwards by the ledger's own order. Every store's
// QueuePostback applies it under the record's lock.
func PostbackDue(posted, next Status) bool {
	return next != posted && (posted == "" || payments.Status(posted).Advances(payments.Status(next)))
}

// ErrorCode is the machine-readable code of an API error
// ({"status":"error","error":{"code":…}}).
type ErrorCode string

// API error codes.
const (
	// CodeUnauthorized: no token, or one that is unknown or revoked (401).
	CodeUnauthorized ErrorCode = "unauthorized"
	// CodeInvalidJSON: the body is not one JSON object of the documented
	// fields (400).
	CodeInvalidJSON ErrorCode = "invalid_json"
	// CodeUnsupportedMediaType: Content-Type is not application/json (415).
	CodeUnsupportedMediaType ErrorCode = "unsupported_media_type"
	// CodeBodyTooLarge: the body exceeds 64 KiB (413).
	CodeBodyTooLarge ErrorCode = "body_too_large"
	// CodeInvalidField: a field is missing or invalid; Field names it (422).
	CodeInvalidField ErrorCode = "invalid_field"
	// CodeGatewayNotAllowed: the gateway is not enabled for the merchant
	// (422), or the merchant has none.
	CodeGatewayNotAllowed ErrorCode = "gateway_not_allowed"
	// CodeIdempotencyConflict: the id was used before with another body
	// (409).
	CodeIdempotencyConflict ErrorCode = "idempotency_conflict"
	// CodeGatewayUnavailable: the gateway refused or failed the checkout;
	// retrying the same request is safe (502).
	CodeGatewayUnavailable ErrorCode = "gateway_unavailable"
	// CodeInternal: the gate failed; retrying the same request is safe (500).
	CodeInternal ErrorCode = "internal_error"
)

// Response statuses of the merchant API ("status" of every answer).
const (
	ResponseSuccess = "success"
	ResponseError   = "error"
)

// CodeNotSupported: the gate's RecordStore cannot report (501).
const CodeNotSupported ErrorCode = "not_supported"
