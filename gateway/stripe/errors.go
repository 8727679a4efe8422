package stripe

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// apiError is a failed API call as the driver returns it. errors.As reaches
// the *stripe.Error (its Code, DeclineCode, RequestID); errors.Is reaches the
// payments sentinel it maps to, if any:
//
//	card_error (a decline)                     payments.ErrInvalidInput
//	invalid_request_error, resource_missing    payments.ErrNotFound
//	invalid_request_error, other               payments.ErrInvalidInput
//	idempotency_error                          payments.ErrConflict
//	401, 403, 409, 429, api_error, network     none: not the caller's fault
//
// A 409 is a request that met another with the same idempotency key still
// executing (idempotency_key_in_use): Stripe saves no answer for it, so it
// is retried, and the retry gets the first request's answer
// (https://docs.stripe.com/api/idempotent_requests). See
// https://docs.stripe.com/error-handling.
type apiError struct {
	op, id   string
	cause    *stripego.Error
	sentinel error
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stripe: %s %s: ", e.op, e.id)
	if e.cause.Msg != "" {
		b.WriteString(e.cause.Msg)
	} else {
		b.WriteString(http.StatusText(e.cause.HTTPStatusCode))
	}
	fmt.Fprintf(&b, " (%s", e.cause.Type)
	if e.cause.Code != "" {
		fmt.Fprintf(&b, ", %s", e.cause.Code)
	}
	if e.cause.DeclineCode != "" {
		fmt.Fprintf(&b, ", %s", e.cause.DeclineCode)
	}
	if e.cause.RequestID != "" {
		fmt.Fprintf(&b, ", request %s", e.cause.RequestID)
	}
	b.WriteString(")")
	if e.sentinel != nil {
		b.WriteString(": " + e.sentinel.Error())
	}
	return b.String()
}

func (e *apiError) Unwrap() []error {
	if e.sentinel == nil {
		return []error{e.cause}
	}
	return []error{e.sentinel, e.cause}
}

// wrapAPIError prefixes err with the operation and the object it was on
// ("stripe: capture pi_…: …") and classifies Stripe's errors.
func wrapAPIError(op, id string, err error) error {
	var se *stripego.Error
	if !errors.As(err, &se) {
		return fmt.Errorf("stripe: %s %s: %w", op, id, err)
	}
	return &apiError{op: op, id: id, cause: se, sentinel: sentinelFor(se)}
}

func sentinelFor(se *stripego.Error) error {
	switch se.HTTPStatusCode {
	case http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests:
		return nil // the key, its permissions or the rate: the host's to fix
	case http.StatusConflict:
		return nil // a concurrent request with the same key: retry
	}
	if se.Code == stripego.ErrorCodeIdempotencyKeyInUse {
		return nil
	}
	switch se.Type {
	case stripego.ErrorTypeCard:
		return payments.ErrInvalidInput
	case stripego.ErrorTypeIdempotency:
		return payments.ErrConflict
	case stripego.ErrorTypeInvalidRequest:
		if se.Code == stripego.ErrorCodeResourceMissing {
			return payments.ErrNotFound
		}
		return payments.ErrInvalidInput
	}
	return nil
}
