// Package stream serves one payment's status, live, to the client that
// pays: an http.Handler that speaks Server-Sent Events, which a browser
// follows with EventSource and any HTTP client can read.
//
// A stream is authorized by a short-lived token bound to the payment (see
// Token), never by the payment's id alone. Each event carries the payment's
// Version as its id, so a client that reconnects with Last-Event-ID is sent
// only what it has not seen. The stream ends after the payment reaches a
// final status (IsFinal) or when its token expires.
//
// Changes reach a stream two ways: at once, from the Service's in-process
// events (payments.Service.Subscribe), and by reading the payment from the
// store every Options.PollInterval, which is how a change that another
// process recorded on the same database (several instances on one
// PostgreSQL) reaches it.
package stream

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// Source is what a Handler reads payments from. *payments.Service is one.
type Source interface {
	// Payment reads a payment as stored; an unknown id is an error that
	// errors.Is payments.ErrNotFound.
	Payment(ctx context.Context, id string) (*payments.Payment, error)
	// Subscribe delivers the Service's events until ctx ends.
	Subscribe(ctx context.Context, buffer int) <-chan payments.Event
}

// Options configures a Handler. Only Key is required.
type Options struct {
	// Key verifies tokens: the key Token signed them with, at least
	// MinKeyBytes random bytes, the same on every instance that serves
	// streams.
	Key []byte
	// PollInterval is how often a stream reads its payment from the store,
	// to see changes that other processes recorded; default 1 second.
	// Every open stream reads once per interval.
	PollInterval time.Duration
	// Heartbeat is how often an idle stream sends an SSE comment, so that
	// proxies and load balancers do not close it as idle and a vanished
	// client is noticed; default 15 seconds.
	Heartbeat time.Duration
	// Retry is the reconnection delay the stream advises EventSource to use
	// (the SSE "retry" field); default 2 seconds.
	Retry time.Duration
	// PaymentID reads the payment's id from a request; the default is
	// r.PathValue("id"), for a pattern such as "GET /payments/{id}/events".
	PaymentID func(r *http.Request) string
	// Final reports whether a status ends the stream; the default is
	// IsFinal.
	Final func(payments.Status) bool
	// Logger receives failures to read the store; the default discards.
	// Tokens are never logged.
	Logger *slog.Logger
}

// Defaults of Options.
const (
	DefaultPollInterval = time.Second
	DefaultHeartbeat    = 15 * time.Second
	DefaultRetry        = 2 * time.Second
)

// writeSlack is how long one write may take beyond the next heartbeat
// before the stream gives up on a client that does not read.
const writeSlack = 10 * time.Second

// IsFinal reports whether a payment in status s has reached an outcome the
// client waits for: succeeded (or, later, refunded or disputed), canceled or
// expired. Failed is not final: a gateway reports a failed attempt and then
// a successful retry of the same payment. Neither is authorized, which
// waits for a capture.
func IsFinal(s payments.Status) bool {
	switch s {
	case payments.StatusSucceeded, payments.StatusCanceled, payments.StatusExpired,
		payments.StatusPartiallyRefunded, payments.StatusRefunded, payments.StatusDisputed:
		return true
	}
	return false
}

// Handler streams one payment's status as Server-Sent Events. Mount it on
// a GET pattern with the payment's id in it, such as
// "GET /payments/{id}/events" (or set Options.PaymentID), outside any
// authentication that needs headers: EventSource cannot send them, and the
// token is the stream's authorization.
//
// The client passes the token as ?token= or as "Authorization: Bearer".
// A missing, malformed, foreign or expired token, or one for another
// payment, is answered 401 before the payment is read, so the answer says
// nothing about the payment, not even whether it exists. A valid token for
// a payment the store does not have is answered 404.
//
// A stream is "text/event-stream". Each event is
//
//	id: <Payment.Version>
//	data: {"payment_id":"pay_…","status":"pending","version":1,"amount":"25.00","currency":"USD","updated_at":"…","final":false}
//
// sent as an unnamed event (EventSource's onmessage). The current state is
// sent at once unless the client already has it: a reconnecting
// EventSource sends the id of the last event it received as Last-Event-ID
// (a client that reconnects by hand can pass ?lastEventId=). A newer state
// is sent when it is recorded. After an event whose status is final the
// stream ends; a client that reconnects holding the final state is
// answered 204, which tells EventSource to stop reconnecting. When the
// token expires the stream sends an event named "expired" and ends; the
// reconnect then gets 401, and the client needs a new token. Comments
// (": heartbeat") are sent every Options.Heartbeat.
type Handler struct {
	key       []byte
	src       Source
	poll      time.Duration
	heartbeat time.Duration
	retry     time.Duration
	paymentID func(*http.Request) string
	final     func(payments.Status) bool
	log       *slog.Logger
	hub       *hub
	// closing is closed by Close.
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns a Handler over src. It fails when Options.Key is shorter than
// MinKeyBytes or a duration is negative.
func New(src Source, opts Options) (*Handler, error) {
	if src == nil {
		return nil, errors.New("stream: nil source")
	}
	if len(opts.Key) < MinKeyBytes {
		return nil, fmt.Errorf("stream: the key is %d bytes; it must be at least %d", len(opts.Key), MinKeyBytes)
	}
	if opts.PollInterval < 0 || opts.Heartbeat < 0 || opts.Retry < 0 {
		return nil, errors.New("stream: negative interval")
	}
	h := &Handler{
		key:       append([]byte(nil), opts.Key...),
		src:       src,
		poll:      cmp.Or(opts.PollInterval, DefaultPollInterval),
		heartbeat: cmp.Or(opts.Heartbeat, DefaultHeartbeat),
		retry:     cmp.Or(opts.Retry, DefaultRetry),
		paymentID: opts.PaymentID,
		final:     opts.Final,
		log:       opts.Logger,
		hub:       &hub{src: src},
		closing:   make(chan struct{}),
	}
	if h.paymentID == nil {
		h.paymentID = func(r *http.Request) string { return r.PathValue("id") }
	}
	if h.final == nil {
		h.final = IsFinal
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// Close ends every open stream, and every later one right after its first
// event, without a final event: EventSource reconnects, with Last-Event-ID,
// after the retry delay. Register it with http.Server.RegisterOnShutdown:
// Shutdown waits for handlers to return, and a stream would otherwise hold
// it until its payment is final or its token expires. Close does not wait
// for the streams to end; Shutdown does.
func (h *Handler) Close() {
	h.closeOnce.Do(func() { close(h.closing) })
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	id := h.paymentID(r)
	token, given := requestToken(r)
	if !given {
		w.Header().Set("WWW-Authenticate", `Bearer realm="payment stream"`)
		http.Error(w, "a stream token is required", http.StatusUnauthorized)
		return
	}
	expiry, ok := verifyToken(h.key, id, token, time.Now())
	if !ok {
		// One answer for every bad token (RFC 6750's invalid_token), so a
		// prober learns nothing from which check failed.
		w.Header().Set("WWW-Authenticate", `Bearer realm="payment stream", error="invalid_token"`)
		http.Error(w, "invalid or expired stream token", http.StatusUnauthorized)
		return
	}
	ctx := r.Context()
	// Watch before the first read, so that nothing recorded between the
	// read and the subscription is missed.
	watch := h.hub.watch(id)
	defer watch.stop()
	p, err := h.src.Payment(ctx, id)
	switch {
	case errors.Is(err, payments.ErrNotFound):
		http.Error(w, "no such payment", http.StatusNotFound)
		return
	case err != nil:
		if ctx.Err() == nil {
			h.log.ErrorContext(ctx, "stream: read payment", "payment", id, "error", err)
		}
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	last := lastEventID(r)
	if last > p.Version {
		last = 0 // no client has seen a version that does not exist: resend
	}
	if last == p.Version && h.final(p.Status) {
		// The client has the outcome; 204 stops EventSource reconnecting.
		w.WriteHeader(http.StatusNoContent)
		return
	}
	h.serve(ctx, w, id, p, last, expiry, watch)
}

// requestToken reads the token from ?token= or "Authorization: Bearer",
// the query first because EventSource can only send that.
func requestToken(r *http.Request) (token string, given bool) {
	if t := r.URL.Query().Get("token"); t != "" {
		return t, true
	}
	scheme, t, ok := strings.Cut(r.Header.Get("Authorization"), " ")
	if ok && strings.EqualFold(scheme, "Bearer") && strings.TrimSpace(t) != "" {
		return strings.TrimSpace(t), true
	}
	return "", false
}

// lastEventID is the version the client says it has: the Last-Event-ID
// header EventSource sends when it reconnects, or ?lastEventId= for a
// client that opens a new stream by hand. Anything unreadable is 0.
func lastEventID(r *http.Request) int64 {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
	if err != nil || n < 0 {
		return 0
	}
	return n
}
