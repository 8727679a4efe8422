package cryptomus

import (
	"bytes"
	"context"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// maxResponseBytes bounds what is read of an API answer.
const maxResponseBytes = 1 << 20

// Sign returns md5(base64(body) + key) in lower-case hex: the "sign" header
// of an API request over its exact body bytes
// (https://doc.cryptomus.com/business/general/request-format), and the
// "sign" field of a webhook over its PHP-encoded content.
func Sign(body []byte, key string) string {
	h := md5.New()
	enc := base64.NewEncoder(base64.StdEncoding, h)
	enc.Write(body) // writes to a hash cannot fail
	enc.Close()
	h.Write([]byte(key))
	return hex.EncodeToString(h.Sum(nil))
}

// APIError is an error answer from the Cryptomus API: a status other than
// 200, or "state" other than 0. Validation failures (HTTP 422 with "errors"
// or "message", HTTP 400, or state 1 on a 200) wrap
// payments.ErrInvalidInput; authentication failures ("Invalid Sign.", a
// wrong key or merchant) and server errors wrap nothing.
type APIError struct {
	// Op is the call that failed ("create invoice", "refund", …).
	Op string
	// HTTPStatus is the answer's status code.
	HTTPStatus int
	// State is the answer's "state" (1 for errors), or -1 when absent.
	State int
	// Message is the answer's "message", if any.
	Message string
	// Errors maps request fields to the validation rules they broke
	// ({"amount": ["validation.required"]}).
	Errors map[string][]string
}

// Error starts with "cryptomus: " and the call, then the status and what
// Cryptomus said.
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "cryptomus: %s: HTTP %d", e.Op, e.HTTPStatus)
	if e.State >= 0 {
		fmt.Fprintf(&b, " state %d", e.State)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	if len(e.Errors) > 0 {
		b.WriteString(": validation failed:")
		for i, field := range slices.Sorted(maps.Keys(e.Errors)) {
			if i > 0 {
				b.WriteString(";")
			}
			fmt.Fprintf(&b, " %s: %s", field, strings.Join(e.Errors[field], ", "))
		}
	}
	return b.String()
}

// Unwrap returns payments.ErrInvalidInput for validation failures.
func (e *APIError) Unwrap() error {
	if e.HTTPStatus == http.StatusUnprocessableEntity || e.HTTPStatus == http.StatusBadRequest ||
		(e.HTTPStatus == http.StatusOK && e.State != 0) {
		return payments.ErrInvalidInput
	}
	return nil
}

// envelope is every answer's outer shape: {"state":0,"result":…} or
// {"state":1,"message":…,"errors":…}.
type envelope struct {
	State   *int            `json:"state"`
	Message json.RawMessage `json:"message"`
	Errors  json.RawMessage `json:"errors"`
	Result  json.RawMessage `json:"result"`
}

// call POSTs payload to path signed with key and decodes "result" into
// result (when not nil). The body is marshaled once; the signature is over
// exactly the bytes sent.
func (g *Gateway) call(ctx context.Context, op, path string, key APIKey, payload, result any) error {
	body, err := json.Marshal(payload)
	if err != nil {
		return fmt.Errorf("cryptomus: %s: encode request: %w", op, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, g.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("cryptomus: %s: %w", op, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("merchant", g.cfg.MerchantID)
	req.Header.Set("sign", Sign(body, g.key(key)))
	start := time.Now()
	resp, err := g.client.Do(req)
	if err != nil {
		return fmt.Errorf("cryptomus: %s: %w", op, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes+1))
	if err != nil {
		return fmt.Errorf("cryptomus: %s: read answer: %w", op, err)
	}
	g.log.DebugContext(ctx, "cryptomus: api call", "op", op, "path", path, "status", resp.StatusCode,
		"duration", time.Since(start))
	if len(raw) > maxResponseBytes {
		return fmt.Errorf("cryptomus: %s: answer over %d bytes", op, maxResponseBytes)
	}
	var env envelope
	decodeErr := json.Unmarshal(raw, &env)
	if resp.StatusCode != http.StatusOK || decodeErr != nil || env.State == nil || *env.State != 0 {
		return apiError(op, resp.StatusCode, env, decodeErr)
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(env.Result, result); err != nil {
		return fmt.Errorf("cryptomus: %s: decode result: %w", op, err)
	}
	return nil
}

func apiError(op string, status int, env envelope, decodeErr error) error {
	e := &APIError{Op: op, HTTPStatus: status, State: -1}
	if env.State != nil {
		e.State = *env.State
	}
	if decodeErr != nil {
		e.Message = "unreadable answer"
		if status == http.StatusOK {
			// A 200 that is not the documented envelope is not a validation
			// failure; report it without the ErrInvalidInput of state 1.
			return fmt.Errorf("cryptomus: %s: answer is not JSON: %w", op, decodeErr)
		}
		return e
	}
	if env.State == nil && status == http.StatusOK {
		return fmt.Errorf("cryptomus: %s: answer without state", op)
	}
	var msg string
	if json.Unmarshal(env.Message, &msg) == nil {
		e.Message = msg
	}
	e.Errors = decodeFieldErrors(env.Errors)
	return e
}

// decodeFieldErrors reads "errors" as documented (field → list of rules),
// and tolerates field → single rule.
func decodeFieldErrors(raw json.RawMessage) map[string][]string {
	if len(raw) == 0 || string(raw) == "null" {
		return nil
	}
	var lists map[string][]string
	if json.Unmarshal(raw, &lists) == nil {
		return lists
	}
	var single map[string]string
	if json.Unmarshal(raw, &single) == nil {
		lists = make(map[string][]string, len(single))
		for k, v := range single {
			lists[k] = []string{v}
		}
		return lists
	}
	return map[string][]string{"errors": {string(raw)}}
}

// decimal is an amount as Cryptomus sends it: a JSON string ("15.00"), a
// bare number in a few answers, or null. It keeps the text; it is never a
// float.
type decimal string

func (d *decimal) UnmarshalJSON(b []byte) error {
	switch {
	case string(b) == "null":
		*d = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*d = decimal(s)
	default:
		var n json.Number
		if err := json.Unmarshal(b, &n); err != nil {
			return errors.New("cryptomus: amount is neither a string nor a number")
		}
		*d = decimal(n) // the literal as sent
	}
	return nil
}
