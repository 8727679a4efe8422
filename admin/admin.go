// Package admin is an embeddable operator page for a payments.Service:
// server-rendered HTML over the same Service methods the operator JSON API
// uses — the journal of notifications, money parked in it, the ledger's
// entries and balances, the sync outbox and postback deliveries — with a
// chart of daily volume by gateway.
//
// The pages are read-only unless the host grants actions (Options.Actions or
// Options.Authorize). Actions are POST forms protected against cross-site
// request forgery twice over: a per-session token in a SameSite=Strict cookie
// that must match a hidden form field, and a refusal of cross-origin requests
// by Sec-Fetch-Site, Origin and Referer (net/http's CrossOriginProtection).
//
// The handler does not authenticate anyone: the host wraps it in its own
// authentication, as it would any operator tool, since every page shows
// accounts, amounts and raw gateway bodies.
package admin

import (
	"bytes"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Actions an operator can take, as passed to Options.Authorize.
const (
	// ActionAttribute credits a parked notification's money to an account
	// (payments.Service.Attribute).
	ActionAttribute = "attribute"
	// ActionReplay runs a journaled notification through its driver and
	// the ledger again (payments.Service.Replay).
	ActionReplay = "replay"
	// ActionRequeue puts a parked sync task back in the queue
	// (payments.Service.RequeueSync).
	ActionRequeue = "requeue"
	// ActionRedeliver makes a postback delivery due now
	// (payments.Service.Redeliver).
	ActionRedeliver = "redeliver"
)

// Defaults of Options' zero fields.
const (
	DefaultPageSize       = 50
	DefaultChartDays      = 14
	DefaultChartScanLimit = 50_000
)

const (
	// maxFormBytes bounds an action's form: a few short fields.
	maxFormBytes         = 16 << 10
	maxActionFieldLength = 512
	csrfCookieName       = "payments_admin_csrf"
	csrfFieldName        = "csrf"
	// contentSecurityPolicy allows no script at all and style only from
	// the embedded stylesheet; forms post only back to this origin.
	contentSecurityPolicy  = "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
	internalErrorForPublic = "internal error; the server log has the details"
)

// Options configure the admin handler. The zero value serves read-only pages
// at the root of whatever mux path the host strips.
type Options struct {
	// Prefix is the path the handler is mounted under, as the host strips
	// it with http.StripPrefix ("/admin"), so that links, form actions and
	// redirects point back under it. Empty for a handler at the root.
	Prefix string

	// Actions grants every action to everyone who reaches the handler.
	// Authorize, when set, decides instead.
	Actions bool
	// Authorize decides per request whether the operator may take an
	// action (one of the Action constants): a host checks its own session
	// or role here. The pages show a form only where it answers true, and
	// every POST asks again.
	Authorize func(r *http.Request, action string) bool

	// TrustedOrigins are origins ("https://ops.example.com") whose
	// cross-origin POSTs are accepted, for a proxy that rewrites Host.
	// Handler panics on one that is not an origin, as regexp.MustCompile
	// does on a bad pattern: it is a configuration mistake.
	TrustedOrigins []string
	// SecureCookie marks the CSRF cookie Secure even on a request that did
	// not arrive over TLS, for hosts behind a TLS-terminating proxy. It is
	// Secure whenever the request itself came over TLS.
	SecureCookie bool

	// PageSize is how many rows a listing shows; default DefaultPageSize.
	PageSize int
	// ChartDays is how many days, today included (UTC), the volume chart
	// covers; default DefaultChartDays.
	ChartDays int
	// ChartScanLimit bounds how many entries the overview reads to draw
	// the chart; default DefaultChartScanLimit. The ledger lists oldest
	// first with no time filter, so a larger ledger is drawn from its
	// oldest entries only and the page says so.
	ChartScanLimit int

	// Logger receives actions taken and internal errors; default discards.
	Logger *slog.Logger
	// Now is the clock the chart's days are counted by; default time.Now.
	Now func() time.Time
}

// handler serves the pages; one per Handler call, holding no per-request
// state.
type handler struct {
	svc    *payments.Service
	opts   Options
	prefix string
	log    *slog.Logger
	pages  map[string]*template.Template
	origin *http.CrossOriginProtection
	mux    *http.ServeMux
}

// Handler returns the admin pages of svc as one http.Handler. Mount it under
// a prefix with http.StripPrefix and name the same prefix in opts.Prefix:
//
//	mux.Handle("/admin/", http.StripPrefix("/admin", requireOperator(
//		admin.Handler(svc, admin.Options{Prefix: "/admin"}))))
func Handler(svc *payments.Service, opts Options) http.Handler {
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.PageSize > payments.DefaultListLimit {
		opts.PageSize = payments.DefaultListLimit
	}
	if opts.ChartDays <= 0 {
		opts.ChartDays = DefaultChartDays
	}
	if opts.ChartScanLimit <= 0 {
		opts.ChartScanLimit = DefaultChartScanLimit
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	h := &handler{
		svc:    svc,
		opts:   opts,
		prefix: normalizePrefix(opts.Prefix),
		log:    opts.Logger,
		origin: http.NewCrossOriginProtection(),
		mux:    http.NewServeMux(),
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, o := range opts.TrustedOrigins {
		if err := h.origin.AddTrustedOrigin(o); err != nil {
			panic(fmt.Sprintf("admin: Options.TrustedOrigins: %v", err))
		}
	}
	// The deny handler is only reached through Check in h.action, never
	// as middleware, so it is left as the default.
	h.pages = parsePages(h.prefix)
	h.routes()
	return h
}

// normalizePrefix makes "admin/", "/admin/" and "/admin" one prefix,
// "/admin", and "" or "/" the root, "".
func normalizePrefix(p string) string {
	p = strings.Trim(p, "/")
	if p == "" {
		return ""
	}
	return "/" + p
}

func (h *handler) routes() {
	h.mux.HandleFunc("GET /{$}", h.overview)
	h.mux.HandleFunc("GET /static/admin.css", serveCSS)
	h.mux.HandleFunc("GET /static/favicon.svg", serveFavicon)
	h.mux.HandleFunc("GET /journal", h.journal)
	h.mux.HandleFunc("GET /journal/{id}", h.notification)
	h.mux.HandleFunc("GET /parked", h.parked)
	h.mux.Handle("POST /journal/{id}/attribute", h.action(ActionAttribute, h.attribute))
	h.mux.Handle("POST /journal/{id}/replay", h.action(ActionReplay, h.replay))
	h.mux.HandleFunc("GET /entries", h.entries)
	h.mux.HandleFunc("GET /balances", h.balances)
	h.mux.HandleFunc("GET /sync", h.syncTasks)
	h.mux.Handle("POST /sync/{entry}/requeue", h.action(ActionRequeue, h.requeue))
	h.mux.HandleFunc("GET /postbacks", h.deliveries)
	h.mux.HandleFunc("GET /postbacks/{message}/{endpoint}", h.attempts)
	h.mux.Handle("POST /postbacks/{message}/{endpoint}/redeliver", h.action(ActionRedeliver, h.redeliver))
}

// ServeHTTP sets the security headers every answer carries, errors and
// redirects included, and routes.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	// No script at all, and style only from the embedded stylesheet: a
	// gateway body or a journaled header that slips past escaping still
	// cannot run or restyle the page.
	hd.Set("Content-Security-Policy", contentSecurityPolicy)
	hd.Set("X-Frame-Options", "DENY")
	// Operator URLs carry account ids and cursors; they leave no trace in
	// the Referer of a link followed out of the page.
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Cache-Control", "no-store")
	if r.URL.Path == "" {
		// http.StripPrefix("/admin") turns "/admin" into "": send the
		// browser to the overview, under the prefix.
		http.Redirect(w, r, h.prefix+"/", http.StatusSeeOther)
		return
	}
	h.mux.ServeHTTP(w, r)
}

// can reports whether the request may take action.
func (h *handler) can(r *http.Request, action string) bool {
	if h.opts.Authorize != nil {
		return h.opts.Authorize(r, action)
	}
	return h.opts.Actions
}

// link builds a path under the prefix with a query, dropping empty values so
// that links stay short and filters round-trip.
func (h *handler) link(path string, q url.Values) string {
	u := h.prefix + path
	clean := url.Values{}
	for k, vs := range q {
		for _, v := range vs {
			if v != "" {
				clean.Add(k, v)
			}
		}
	}
	if len(clean) > 0 {
		u += "?" + clean.Encode()
	}
	return u
}

// page is what every template receives.
type page struct {
	Title string
	Nav   string
	Base  string
	CSRF  string
	Flash string
	// Can says which actions the operator may take; forms are rendered
	// only for those.
	Can  map[string]bool
	Data any
}

// render executes a page into a buffer first, so that a template error
// answers 500 instead of half a page.
func (h *handler) render(w http.ResponseWriter, r *http.Request, status int, name, title string, data any) {
	p := page{Title: title, Nav: name, Base: h.prefix, Data: data, Flash: flash(r), Can: map[string]bool{}}
	for _, a := range []string{ActionAttribute, ActionReplay, ActionRequeue, ActionRedeliver} {
		p.Can[a] = h.can(r, a)
	}
	p.CSRF = h.csrfToken(w, r)
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, "layout", p); err != nil {
		h.log.ErrorContext(r.Context(), "admin: render", "page", name, "err", err)
		http.Error(w, internalErrorForPublic, http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.Copy(w, &buf)
}

// errorPage is the data of the error template.
type errorPage struct {
	Message string
	Back    string
}

// fail answers err with a status by the sentinel it wraps. Classified errors
// are the operator's to read (a conflict, a bad cursor); anything else may
// name a database host, so it is logged and answered generically.
func (h *handler) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := http.StatusInternalServerError, internalErrorForPublic
	switch {
	case errors.Is(err, payments.ErrNotFound):
		status, msg = http.StatusNotFound, err.Error()
	case errors.Is(err, payments.ErrInvalidInput):
		status, msg = http.StatusBadRequest, err.Error()
	case errors.Is(err, payments.ErrConflict), errors.Is(err, payments.ErrMismatch):
		status, msg = http.StatusConflict, err.Error()
	case errors.Is(err, payments.ErrUnauthenticated):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, payments.ErrUnattributed):
		status, msg = http.StatusUnprocessableEntity, err.Error()
	case errors.Is(err, payments.ErrNotSupported):
		status, msg = http.StatusNotImplemented, err.Error()
	default:
		h.log.ErrorContext(r.Context(), "admin: request failed", "path", r.URL.Path, "err", err)
	}
	h.refuse(w, r, status, msg)
}

// refuse answers status with an error page that says msg.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, status int, msg string) {
	h.render(w, r, status, "error", http.StatusText(status), errorPage{Message: msg, Back: h.prefix + "/"})
}

// badQuery is a filter the page cannot read; it answers 400 rather than
// silently listing everything.
type badQuery string

func (b badQuery) Error() string { return string(b) }

// redirect answers a done action with 303 to a page under the prefix, with
// a flash code the page turns into a fixed message.
func (h *handler) redirect(w http.ResponseWriter, r *http.Request, path string, q url.Values) {
	http.Redirect(w, r, h.link(path, q), http.StatusSeeOther)
}

// flash turns the done code of a redirect into a message. Only known codes
// are shown, so a crafted link cannot put words of its own on the page.
func flash(r *http.Request) string {
	q := r.URL.Query()
	switch q.Get("done") {
	case "attributed":
		return fmt.Sprintf("Attributed notification %s: %s.", q.Get("n"), outcomeWord(q.Get("outcome")))
	case "replayed":
		return fmt.Sprintf("Replayed: %s.", outcomeWord(q.Get("outcome")))
	case "requeued":
		return fmt.Sprintf("Requeued sync task %s: due now.", q.Get("entry"))
	case "redelivered":
		return "Redelivery queued: due now."
	}
	return ""
}

// outcomeWord keeps only known outcomes in a flash message.
func outcomeWord(o string) string {
	if validOutcome(payments.Outcome(o)) && o != "" {
		return o
	}
	return "done"
}
