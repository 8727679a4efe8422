package postback

import (
	"bytes"
	"errors"
	"io"
	"net/http"
)

// MaxBodyBytes bounds the body Handler reads. A postback is a payment or an
// entry, a few hundred bytes; anything near the bound is not one.
const MaxBodyBytes = 1 << 20

// Handler returns a handler that passes to next only the POST requests
// whose body and headers Verify accepts, with the verified body as
// r.Body; next reads the message id from the webhook-id header. Others it
// answers itself, without saying why (the reason is the sender's problem,
// and a forger's hint): 405 for another method, 413 for a body over
// MaxBodyBytes, 400 for a request that is not a postback, and 401 for a
// bad signature or a stale timestamp.
//
// The sender retries every answer but 2xx, so next answers 2xx once it
// has durably acted on the message, or already had (a repeated webhook-id),
// and also for event types it ignores.
func (v *Verifier) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", http.MethodPost)
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxBodyBytes))
		if err != nil {
			status := http.StatusBadRequest
			if _, tooLarge := errors.AsType[*http.MaxBytesError](err); tooLarge {
				status = http.StatusRequestEntityTooLarge
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		if _, err := v.Verify(body, r.Header); err != nil {
			status := http.StatusUnauthorized
			if errors.Is(err, ErrMissingHeaders) {
				status = http.StatusBadRequest
			}
			http.Error(w, http.StatusText(status), status)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}
