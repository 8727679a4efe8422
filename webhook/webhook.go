// Package webhook turns a payments.Service into http.Handlers for gateway
// webhooks. The host owns the mux and the server; this package only hands
// out handlers.
package webhook

import (
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
	maxBody  int64
	pattern  func(gateway string) string
	log      *slog.Logger
	rejected RejectedReply
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
// writes the reply the Service decided (WebhookResult.Reply) as it is: its
// status, its Content-Type and its body, which a driver whose gateway
// expects a particular answer has shaped (payments.WebhookReplier; such a
// driver may pick another status of the same class, 202 for 200). The
// statuses mean:
//
//	200  recorded, duplicate, ignored or parked — only once it is durable;
//	     by default the body is {"outcome":"recorded"} (or "duplicate",
//	     "ignored", "parked")
//	400  the notification verified but could not be understood (a field
//	     missing, an amount with more precision than its currency); it is
//	     journaled as verified, with why
//	401  no signature could be found or checked in it: absent, malformed,
//	     stale or wrong, whether the gateway signs in a header or in the
//	     body (the notification is journaled as unverified)
//	405  not a POST
//	409  it contradicts the ledger (journaled; logged as an error)
//	413  the body is over the limit; it never reaches the driver
//	500  the Store failed, or the driver could not finish, so the gateway
//	     retries
//
// A 400 or a 409 is a 200 instead where the driver acknowledges what the
// ledger rejected for good, because its gateway resends refusals for days
// (the Stripe driver does); WithRejectedReply overrides the drivers'
// choice. No setting changes a 401 or a 500.
//
// A body that cannot be authenticated is never 400, even when it is also
// malformed: a driver that finds no signature says ErrUnauthenticated
// before it tries to understand the body, so an unsigned probe and a forged
// one look alike to whoever sends them. Error answers carry only what the
// Service put in the reply (the status text, or the driver's fixed answer),
// never an internal error.
//
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
	// The error is the Service's to log; the reply already says all the
	// gateway may hear of it.
	res, err := h.svc.HandleWebhook(r.Context(), h.gateway, req)
	if res == nil {
		// The Service never handled it: only an unknown gateway does
		// that, which Mount and Handler never route here.
		code := http.StatusInternalServerError
		if errors.Is(err, payments.ErrNotSupported) {
			code = http.StatusNotFound
		}
		h.cfg.log.ErrorContext(r.Context(), "webhook: not handled", "gateway", h.gateway, "error", err)
		httpError(w, code)
		return
	}
	writeReply(w, h.replyTo(req, res, err))
}

// writeReply writes a reply as the Service decided it.
func writeReply(w http.ResponseWriter, reply payments.WebhookReply) {
	if reply.ContentType != "" {
		w.Header().Set("Content-Type", reply.ContentType)
	}
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(reply.Status)
	_, _ = w.Write(reply.Body)
}

func httpError(w http.ResponseWriter, code int) {
	http.Error(w, http.StatusText(code), code)
}
