// Package webhook turns a payments.Service into http.Handlers for gateway
// webhooks. The host owns the mux and the server; this package only hands
// out handlers.
package webhook

import (
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/payrail/payments"
)

// DefaultMaxBodyBytes bounds a webhook body. Gateways' notifications are a
// few kilobytes; Stripe's largest events stay well under this.
const DefaultMaxBodyBytes = 1 << 20

// Option configures the handlers.
type Option func(*config)

type config struct {
	maxBody int64
	pattern func(gateway string) string
	log     *slog.Logger
}

// WithMaxBodyBytes sets the largest body accepted; larger ones are answered
// 413 without reaching the driver.
func WithMaxBodyBytes(n int64) Option { return func(c *config) { c.maxBody = n } }

// WithPattern sets the ServeMux pattern Mount registers each gateway under,
// for example func(g string) string { return "POST /webhooks/" + g }.
func WithPattern(pattern func(gateway string) string) Option {
	return func(c *config) { c.pattern = pattern }
}

// WithLogger sets the logger for requests the Service never saw (oversized
// or unreadable bodies); the default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// DefaultPattern is "POST /{gateway}-handleWebhookEvents", the path
// convention of existing hosts (/stripe-handleWebhookEvents).
func DefaultPattern(gateway string) string { return "POST /" + gateway + "-handleWebhookEvents" }

func newConfig(opts []Option) config {
	c := config{maxBody: DefaultMaxBodyBytes, pattern: DefaultPattern, log: slog.New(slog.DiscardHandler)}
	for _, o := range opts {
		o(&c)
	}
	return c
}

// Mount registers a handler for every gateway of svc on mux, at
// DefaultPattern or the WithPattern pattern.
func Mount(mux *http.ServeMux, svc *payments.Service, opts ...Option) {
	c := newConfig(opts)
	for _, name := range svc.GatewayNames() {
		mux.Handle(c.pattern(name), handler{svc: svc, gateway: name, cfg: c})
	}
}

// Handler returns the handler for one gateway of svc. It reads the raw body
// under the size limit, has the Service verify, journal and record it, and
// answers:
//
//	2xx  recorded, duplicate, ignored or parked — only once it is durable;
//	     with the driver's own body where the gateway expects one
//	400  the body could not be understood
//	401  verification failed (the notification is journaled)
//	409  it contradicts the ledger (journaled; logged as an error)
//	413  the body is over the limit
//	500  the Store failed, so the gateway retries
//
// Error answers carry only the status text, never an internal error.
// Handler panics when svc has no gateway of that name, as http.ServeMux does
// for a malformed pattern: it is a wiring mistake, found at startup.
func Handler(svc *payments.Service, gateway string, opts ...Option) http.Handler {
	if _, ok := svc.Gateway(gateway); !ok {
		panic("webhook: the Service has no gateway " + strconv.Quote(gateway))
	}
	return handler{svc: svc, gateway: gateway, cfg: newConfig(opts)}
}

type handler struct {
	svc     *payments.Service
	gateway string
	cfg     config
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		httpError(w, http.StatusMethodNotAllowed)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.maxBody))
	if err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			h.cfg.log.WarnContext(r.Context(), "webhook: body over limit", "gateway", h.gateway, "limit", h.cfg.maxBody)
			httpError(w, http.StatusRequestEntityTooLarge)
			return
		}
		h.cfg.log.WarnContext(r.Context(), "webhook: read body", "gateway", h.gateway, "error", err)
		httpError(w, http.StatusBadRequest)
		return
	}
	req := &payments.WebhookRequest{Header: r.Header, Body: body, RemoteAddr: r.RemoteAddr}
	res, err := h.svc.HandleWebhook(r.Context(), h.gateway, req)
	if err != nil {
		httpError(w, statusFor(err))
		return
	}
	if g, ok := h.svc.Gateway(h.gateway); ok {
		if ack, ok := g.(payments.Acknowledger); ok {
			ack.Acknowledge(w, req, res.Changes)
			return
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_ = json.NewEncoder(w).Encode(map[string]string{"outcome": string(res.Notification.Outcome)})
}

func statusFor(err error) int {
	switch {
	case errors.Is(err, payments.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, payments.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, payments.ErrInvalidInput):
		return http.StatusBadRequest
	case errors.Is(err, payments.ErrNotSupported):
		return http.StatusNotFound
	}
	return http.StatusInternalServerError
}

func httpError(w http.ResponseWriter, code int) {
	http.Error(w, http.StatusText(code), code)
}
