package paypal

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	pp "github.com/plutov/paypal/v4"

	"github.com/payrail/payments"
)

// maxRequestID is the longest PayPal-Request-Id the Orders API takes
// (https://developer.paypal.com/api/orders/v2/orders-create).
const maxRequestID = 108

// requestID is the PayPal-Request-Id for an idempotency key: the key
// itself, or its SHA-256 when it is longer than PayPal takes, which keeps
// one key one request.
func requestID(key string) string {
	if len(key) <= maxRequestID {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	return "sha256:" + hex.EncodeToString(sum[:])
}

// idPattern is what a PayPal id (an order, an authorization, a capture, a
// refund) looks like. Ids read from a notification are checked against it
// before they go into an API path.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9-]{1,64}$`)

func validID(id string) bool { return idPattern.MatchString(id) }

// call runs fn with the PayPal client. plutov's client fetches a token when
// it has none and a new one before it expires, but keeps one PayPal has
// stopped honouring (a rotated secret) until it expires; so when PayPal
// answers 401 the token is dropped and fn runs once more. A POST that PayPal
// refused with 401 did nothing, and carries the same PayPal-Request-Id.
func (g *Gateway) call(fn func(c *pp.Client) error) error {
	g.tokenMu.RLock()
	err := fn(g.api)
	g.tokenMu.RUnlock()
	var er *pp.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil || er.Response.StatusCode != http.StatusUnauthorized ||
		isTokenRequest(er.Response) {
		return err
	}
	g.tokenMu.Lock()
	g.api.Token = nil // the next call fetches a new one
	g.tokenMu.Unlock()
	g.tokenMu.RLock()
	defer g.tokenMu.RUnlock()
	return fn(g.api)
}

func isTokenRequest(r *http.Response) bool {
	return r.Request != nil && strings.HasSuffix(r.Request.URL.Path, "/v1/oauth2/token")
}

// send makes one API call: method on path (under the client's base URL),
// with body as JSON, key as PayPal-Request-Id, the answer decoded into out
// (nil for none).
func (g *Gateway) send(ctx context.Context, method, path, key string, body, out any) error {
	return g.call(func(c *pp.Client) error {
		req, err := c.NewRequest(ctx, method, c.APIBase+path, body)
		if err != nil {
			return err
		}
		if key != "" {
			req.Header.Set("PayPal-Request-Id", requestID(key))
		}
		return c.SendWithAuth(req, out)
	})
}

// CheckHealth implements payments.HealthChecker by fetching an OAuth token
// (https://developer.paypal.com/api/rest/authentication/), which proves the
// client id and secret. The token is thrown away; API calls keep their own.
func (g *Gateway) CheckHealth(ctx context.Context) error {
	err := g.call(func(c *pp.Client) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.APIBase+"/v1/oauth2/token",
			bytes.NewBufferString("grant_type=client_credentials"))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		var tok pp.TokenResponse
		if err := c.SendWithBasicAuth(req, &tok); err != nil {
			return err
		}
		if tok.Token == "" {
			return errors.New("the token answer has no access_token")
		}
		return nil
	})
	if err != nil {
		return wrapAPIError("fetch a token for", "the credentials", err)
	}
	return nil
}

// apiError is a failed API call as the driver returns it. errors.As reaches
// plutov's *paypal.ErrorResponse (name, debug id, details); errors.Is
// reaches the payments sentinel it maps to, if any:
//
//	404                                    payments.ErrNotFound
//	400                                    payments.ErrInvalidInput
//	422 a decline (INSTRUMENT_DECLINED,
//	    PAYER_ACTION_REQUIRED, …)          payments.ErrInvalidInput
//	422 any other (ORDER_ALREADY_CAPTURED,
//	    AUTHORIZATION_VOIDED, …)           payments.ErrConflict
//	401, 403, 409, 429, 5xx, network       none: not the caller's to fix
//
// See https://developer.paypal.com/api/rest/responses/.
type apiError struct {
	op, id   string
	cause    *pp.ErrorResponse
	sentinel error
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "paypal: %s %s: %d", e.op, e.id, e.status())
	if e.cause.Name != "" {
		b.WriteString(" " + e.cause.Name)
	}
	if issue := e.issue(); issue != "" {
		b.WriteString(" " + issue)
	}
	if e.cause.Message != "" {
		b.WriteString(": " + e.cause.Message)
	}
	if e.cause.DebugID != "" {
		b.WriteString(" (debug id " + e.cause.DebugID + ")")
	}
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

func (e *apiError) status() int {
	if e.cause.Response == nil {
		return 0
	}
	return e.cause.Response.StatusCode
}

// issue is the first detail's issue code, which says what PayPal refused.
func (e *apiError) issue() string {
	for _, d := range e.cause.Details {
		if d.Issue != "" {
			return d.Issue
		}
	}
	return ""
}

// declines are the 422 issues that refuse the buyer's funding rather than
// the request's state.
var declines = map[string]bool{
	"INSTRUMENT_DECLINED": true, "PAYER_ACTION_REQUIRED": true, "TRANSACTION_REFUSED": true,
	"PAYER_CANNOT_PAY": true, "PAYEE_BLOCKED_TRANSACTION": true, "MAX_NUMBER_OF_PAYMENT_ATTEMPTS_EXCEEDED": true,
}

// wrapAPIError prefixes err with the operation and what it was on
// ("paypal: capture 5O190127TN364715T: …") and classifies PayPal's refusals.
// A network error keeps its own text, which names a URL but never the
// secret or a token.
func wrapAPIError(op, id string, err error) error {
	var er *pp.ErrorResponse
	if !errors.As(err, &er) || er.Response == nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			return fmt.Errorf("paypal: %s %s: %s %s: %w", op, id, ue.Op, ue.URL, ue.Err)
		}
		return fmt.Errorf("paypal: %s %s: %w", op, id, err)
	}
	e := &apiError{op: op, id: id, cause: er}
	switch e.status() {
	case http.StatusNotFound:
		e.sentinel = payments.ErrNotFound
	case http.StatusBadRequest:
		e.sentinel = payments.ErrInvalidInput
	case http.StatusUnprocessableEntity:
		e.sentinel = payments.ErrConflict
		if declines[e.issue()] {
			e.sentinel = payments.ErrInvalidInput
		}
	}
	return e
}

// isNotFound reports whether err is PayPal's 404.
func isNotFound(err error) bool {
	var e *apiError
	return errors.As(err, &e) && e.status() == http.StatusNotFound
}
