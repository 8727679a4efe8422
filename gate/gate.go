package gate

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/stream"
)

// Config configures a Gate.
type Config struct {
	// BaseURL is the gate's public base URL ("https://gate.example"): the
	// wrapper URLs it answers with and the return URLs it gives gateways
	// start with it. Required.
	BaseURL string
	// Merchants and Records keep merchants and the gate's records;
	// required (NewMemoryMerchants, NewMemoryRecords for tests).
	Merchants MerchantStore
	Records   RecordStore
	// AllowHTTP accepts http:// successUrl and errorUrl, for tests; by
	// default only https is.
	AllowHTTP bool
	// PostbackAllow lets postbacks reach addresses the SSRF guard refuses —
	// loopback, private, link-local, multicast, unspecified, shared — and
	// plain http, for tests and intranets, as payments.PostbackOptions.Allow
	// does for the library's postbacks.
	PostbackAllow []netip.Prefix
	// PayWithin is how long after init the wrapper URL still sends the
	// customer to pay; default 24 hours. Gateways' own pages expire too.
	PayWithin time.Duration
	// ReturnWait is how long the return pages follow a payment that has not
	// settled before sending the customer on to the merchant; default 10 s.
	ReturnWait time.Duration
	// Follow is how long after init the gate keeps checking a payment's
	// status for postbacks (refunds and disputes come late); default 30 days.
	Follow time.Duration
	// PostbackSchedule is the delay before each retry of a failed postback:
	// Standard Webhooks' 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h by default.
	PostbackSchedule []time.Duration
	// PostbackTimeout bounds one postback attempt; default 15 s.
	PostbackTimeout time.Duration
	// Interval is how often Run delivers due postbacks; default 1 s.
	// SweepEvery is how often Run rechecks the ledger for payments whose
	// change it did not see (another process recorded it); default 1 min.
	Interval, SweepEvery time.Duration
	// StreamKey signs the tokens with which the return pages follow their
	// payment's live status (package stream, mounted at PathEvents): at
	// least stream.MinKeyBytes random bytes, the same on every instance
	// behind one BaseURL. Without it each Gate draws a random key, which
	// serves a single instance; with several, a page whose stream reaches
	// another instance falls back to reloading itself.
	StreamKey []byte
	// Logger receives the gate's warnings; default discards.
	Logger *slog.Logger
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Gate is a hosted payment gate over a payments.Service. Construct it with
// New; it is safe for concurrent use.
type Gate struct {
	svc     *payments.Service
	cfg     Config
	base    *url.URL
	log     *slog.Logger
	now     func() time.Time
	client  *http.Client
	owner   string
	handler http.Handler
	// events serves the return pages' live status (PathEvents); streamKey
	// signs its tokens.
	events    *stream.Handler
	streamKey []byte
	// docsPage is the integration page's view of OpenAPI.
	docsPage *docsPage
	// checkoutLocks serialize the checkouts of one record (see
	// ensureCheckout), striped by id so that they cost nothing to keep.
	checkoutLocks [checkoutStripes]sync.Mutex
}

// New constructs a Gate over svc.
func New(svc *payments.Service, cfg Config) (*Gate, error) {
	if svc == nil || cfg.Merchants == nil || cfg.Records == nil {
		return nil, fmt.Errorf("gate: a Service, Merchants and Records are required: %w", payments.ErrInvalidInput)
	}
	base, err := url.Parse(strings.TrimSuffix(cfg.BaseURL, "/"))
	if err != nil || base.Host == "" || (base.Scheme != "https" && base.Scheme != "http") || base.RawQuery != "" {
		return nil, fmt.Errorf("gate: BaseURL %q: want https://host[/path]: %w", cfg.BaseURL, payments.ErrInvalidInput)
	}
	defaults(&cfg)
	g := &Gate{svc: svc, cfg: cfg, base: base, log: cfg.Logger, now: cfg.Now,
		client: guardedClient(cfg.PostbackAllow, cfg.PostbackTimeout), owner: "gate_" + randomHex(8)}
	g.streamKey = cfg.StreamKey
	if g.streamKey == nil {
		g.streamKey = make([]byte, stream.MinKeyBytes)
		_, _ = rand.Read(g.streamKey) // never fails on supported platforms
	}
	g.events, err = stream.New(svc, stream.Options{Key: g.streamKey, Logger: cfg.Logger,
		// A return page waits for an outcome, failures included: it sends
		// the customer on to errorUrl, where stream.IsFinal would wait for
		// a retry.
		Final: func(s payments.Status) bool { return outcomeOf(Status(s)) != outcomeWaiting }})
	if err != nil {
		return nil, fmt.Errorf("gate: StreamKey: %w", err)
	}
	if g.docsPage, err = buildDocs(OpenAPI, base.String()); err != nil {
		return nil, err
	}
	g.handler = g.routes()
	return g, nil
}

// Close ends the return pages' open status streams, which would otherwise
// hold a graceful shutdown until they end: register it with
// http.Server.RegisterOnShutdown. The pages reconnect, or reload, to an
// instance that is up.
func (g *Gate) Close() { g.events.Close() }

func defaults(cfg *Config) {
	if cfg.PayWithin <= 0 {
		cfg.PayWithin = 24 * time.Hour
	}
	if cfg.ReturnWait <= 0 {
		cfg.ReturnWait = 10 * time.Second
	}
	if cfg.Follow <= 0 {
		cfg.Follow = 30 * 24 * time.Hour
	}
	if len(cfg.PostbackSchedule) == 0 {
		cfg.PostbackSchedule = []time.Duration{5 * time.Second, 5 * time.Minute, 30 * time.Minute,
			2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour}
	}
	if cfg.PostbackTimeout <= 0 {
		cfg.PostbackTimeout = 15 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = time.Second
	}
	if cfg.SweepEvery <= 0 {
		cfg.SweepEvery = time.Minute
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
}

// Routes of the gate, relative to BaseURL's path.
const (
	PathInitPayment = "/api/v1/init-payment"
	PathOpenAPI     = "/api/v1/openapi.json"
	PathPay         = "/pay"
	PathSuccess     = "/success"
	PathError       = "/error"
	// PathStatus answers the payment's ledger status as JSON
	// ({"status":…,"settled":…}), for clients that poll.
	PathStatus = "/status"
	// PathEvents serves a payment's live status as Server-Sent Events
	// (package stream) at PathEvents+"{library payment id}", authorized by
	// the token the return page was given.
	PathEvents = "/events/"
	// PathDocs is the integration page rendered from OpenAPI.
	PathDocs = "/docs"
	// PathDailyReport and PathTransactionsCSV, PathTransactionsJSONL are
	// the merchant's reports (report_http.go).
	PathDailyReport       = "/api/v1/reports/daily"
	PathTransactionsCSV   = "/api/v1/transactions.csv"
	PathTransactionsJSONL = "/api/v1/transactions.jsonl"
)

// Handler returns the gate's handler: the merchant API and the customer's
// pages, at the paths above. Mount it at BaseURL's path (with
// http.StripPrefix when that is not "/").
func (g *Gate) Handler() http.Handler { return g.handler }

func (g *Gate) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST "+PathInitPayment, g.initPayment)
	mux.HandleFunc("GET "+PathOpenAPI, serveOpenAPI)
	mux.HandleFunc("GET "+PathPay, g.pay)
	mux.HandleFunc("POST "+PathPay, g.choose)
	mux.HandleFunc("GET "+PathSuccess, g.returned(outcomeSuccess))
	mux.HandleFunc("GET "+PathError, g.returned(outcomeFailure))
	mux.HandleFunc("GET "+PathStatus, g.status)
	mux.Handle("GET "+PathEvents+"{id}", g.events)
	mux.HandleFunc("GET "+PathDocs, g.docs)
	mux.HandleFunc("GET "+PathDailyReport, g.dailyReport)
	mux.HandleFunc("GET "+PathTransactionsCSV, g.exportTransactions(exportCSV))
	mux.HandleFunc("GET "+PathTransactionsJSONL, g.exportTransactions(exportJSONL))
	return mux
}

// link returns the gate's absolute URL of path with the gate id as ?id=.
func (g *Gate) link(path, id string) string {
	u := *g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = url.Values{"id": {id}}.Encode()
	return u.String()
}

// newGateID returns a gate payment id: 128 random bits. The library's own
// ids carry their creation time in their first 48 bits and are created only
// with the checkout, which a customer's gateway choice may come after, so
// the gate has ids of its own.
func newGateID() string { return "gp_" + randomHex(16) }

// isGateID reports whether s has the shape of a gate id, so that anything
// else is refused before a store is asked.
func isGateID(s string) bool {
	if len(s) != 3+32 || !strings.HasPrefix(s, "gp_") {
		return false
	}
	for _, c := range s[3:] {
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic("gate: crypto/rand failed: " + err.Error()) // never fails on supported platforms
	}
	return hex.EncodeToString(b)
}

// apiError is one error answer of the merchant API.
type apiError struct {
	status  int
	Code    ErrorCode `json:"code"`
	Message string    `json:"message"`
	// Field names the request field at fault, for CodeInvalidField.
	Field string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return string(e.Code) + ": " + e.Message }

func fieldError(field, message string) *apiError {
	return &apiError{status: http.StatusUnprocessableEntity, Code: CodeInvalidField, Field: field, Message: field + ": " + message}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err: its own status and code for an apiError, else a
// 500 that does not echo the internal error.
func (g *Gate) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		g.log.ErrorContext(r.Context(), "gate: request failed", "path", r.URL.Path, "error", err)
		ae = &apiError{status: http.StatusInternalServerError, Code: CodeInternal, Message: "the gate failed; retrying the same request is safe"}
	}
	if ae.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Token realm="gate"`)
	}
	writeJSON(w, ae.status, struct {
		Status string    `json:"status"`
		Error  *apiError `json:"error"`
	}{ResponseError, ae})
}

// readJSON decodes one JSON object of known fields, under limit bytes.
func readJSON(w http.ResponseWriter, r *http.Request, limit int64, v any) error {
	if ct := r.Header.Get("Content-Type"); ct != "" {
		if mt, _, _ := strings.Cut(ct, ";"); !strings.EqualFold(strings.TrimSpace(mt), "application/json") {
			return &apiError{status: http.StatusUnsupportedMediaType, Code: CodeUnsupportedMediaType, Message: "send application/json"}
		}
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, limit))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooLarge *http.MaxBytesError
		if errors.As(err, &tooLarge) {
			return &apiError{status: http.StatusRequestEntityTooLarge, Code: CodeBodyTooLarge, Message: "the body is too large"}
		}
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) && typeErr.Field != "" {
			return &apiError{status: http.StatusBadRequest, Code: CodeInvalidJSON, Field: typeErr.Field,
				Message: typeErr.Field + ": must be a JSON " + typeErr.Type.Kind().String()}
		}
		return &apiError{status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "the body is not a JSON object of the documented fields: " + err.Error()}
	}
	if _, err := dec.Token(); err != io.EOF {
		return &apiError{status: http.StatusBadRequest, Code: CodeInvalidJSON, Message: "the body has more than one JSON value"}
	}
	return nil
}
