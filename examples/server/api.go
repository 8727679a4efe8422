package main

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/webhook"
)

// maxRequestBytes bounds a JSON API request body.
const maxRequestBytes = 64 << 10

// api is the JSON API over a Service.
type api struct {
	svc *payments.Service
	log *slog.Logger
	// streamKey signs the stream tokens of checkouts, nil while live
	// status is off; onShutdown registers what ends the open streams
	// (stream.go).
	streamKey  []byte
	onShutdown func(func())
}

// newHandler mounts the webhooks (authenticated by the gateways' signatures)
// and the JSON API (behind apiToken, when set) on one mux.
func newHandler(svc *payments.Service, apiToken string, log *slog.Logger, opts ...handlerOption) http.Handler {
	a := &api{svc: svc, log: log}
	for _, o := range opts {
		o(a)
	}
	routes := http.NewServeMux()
	routes.HandleFunc("POST /checkout", a.checkout)
	routes.HandleFunc("GET /payments/{id}", a.payment)
	routes.HandleFunc("POST /payments/{id}/capture", a.capture)
	routes.HandleFunc("POST /payments/{id}/cancel", a.cancel)
	routes.HandleFunc("POST /payments/{id}/refund", a.refund)
	routes.HandleFunc("POST /purchases", a.verifyPurchase)
	routes.HandleFunc("GET /accounts/{account}/balances", a.balances)
	routes.HandleFunc("GET /status", a.status)
	// The operator's side: the journal, parked money, the ledger, the outbox.
	routes.HandleFunc("GET /notifications", a.notifications)
	routes.HandleFunc("GET /notifications/{id}", a.notification)
	routes.HandleFunc("POST /notifications/{id}/attribute", a.attribute)
	routes.HandleFunc("POST /notifications/{id}/replay", a.replay)
	routes.HandleFunc("GET /entries", a.entries)
	routes.HandleFunc("GET /sync-tasks", a.syncTasks)
	routes.HandleFunc("POST /sync-tasks/{entry}/requeue", a.requeueSync)

	mux := http.NewServeMux()
	webhook.Mount(mux, svc, webhook.WithLogger(log))
	a.mountStream(mux)
	mux.Handle("/", requireToken(apiToken, routes))
	return mux
}

// requireToken demands "Authorization: Bearer <token>" when token is set.
func requireToken(token string, next http.Handler) http.Handler {
	if token == "" {
		return next
	}
	want := []byte("Bearer " + token)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if subtle.ConstantTimeCompare([]byte(r.Header.Get("Authorization")), want) != 1 {
			w.Header().Set("WWW-Authenticate", "Bearer")
			writeJSON(w, http.StatusUnauthorized, map[string]string{"error": "unauthorized"})
			return
		}
		next.ServeHTTP(w, r)
	})
}

type checkoutRequest struct {
	Gateway     string               `json:"gateway"`
	Account     string               `json:"account"`
	Amount      string               `json:"amount"` // decimal, "25.00"
	Currency    string               `json:"currency"`
	Reference   string               `json:"reference"`
	Capture     payments.CaptureMode `json:"capture"` // "automatic" (default) or "manual"
	Description string               `json:"description"`
	Metadata    map[string]string    `json:"metadata"`
}

func (a *api) checkout(w http.ResponseWriter, r *http.Request) {
	var req checkoutRequest
	if !decode(w, r, &req) {
		return
	}
	if req.Capture != "" && req.Capture != payments.CaptureAutomatic && req.Capture != payments.CaptureManual {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"error": `capture must be "automatic" or "manual"`})
		return
	}
	amount, err := payments.ParseMoney(req.Amount, req.Currency)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	p, err := a.svc.Checkout(r.Context(), req.Gateway, payments.CheckoutRequest{
		Account: req.Account, Amount: amount, Reference: req.Reference, Capture: req.Capture,
		Description: req.Description, Metadata: req.Metadata,
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, a.withStreamToken(paymentJSON(p)))
}

func (a *api) payment(w http.ResponseWriter, r *http.Request) {
	p, err := a.svc.Payment(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, paymentJSON(p))
}

// operationRequest is the body of capture, cancel and refund; every field is
// optional. Amount is in the payment's currency; empty means all of it.
type operationRequest struct {
	Amount string `json:"amount"` // capture and refund
	Reason string `json:"reason"` // cancel and refund, for gateways that take one
	// Key makes the call idempotent across the caller's retries: the same
	// payment and key never capture or refund twice.
	Key string `json:"key"`
}

func (a *api) capture(w http.ResponseWriter, r *http.Request) {
	a.operate(w, r, func(ctx context.Context, id string, req operationRequest, amount *payments.Money) (*payments.OperationResult, error) {
		if req.Reason != "" {
			return nil, fmt.Errorf("capture takes no reason: %w", payments.ErrInvalidInput)
		}
		return a.svc.Capture(ctx, id, payments.CaptureOptions{Amount: amount, Key: req.Key})
	})
}

func (a *api) cancel(w http.ResponseWriter, r *http.Request) {
	a.operate(w, r, func(ctx context.Context, id string, req operationRequest, amount *payments.Money) (*payments.OperationResult, error) {
		if amount != nil {
			return nil, fmt.Errorf("cancel takes no amount: %w", payments.ErrInvalidInput)
		}
		return a.svc.Cancel(ctx, id, payments.CancelOptions{Reason: req.Reason, Key: req.Key})
	})
}

func (a *api) refund(w http.ResponseWriter, r *http.Request) {
	a.operate(w, r, func(ctx context.Context, id string, req operationRequest, amount *payments.Money) (*payments.OperationResult, error) {
		return a.svc.Refund(ctx, id, payments.RefundOptions{Amount: amount, Reason: req.Reason, Key: req.Key})
	})
}

type operation func(ctx context.Context, paymentID string, req operationRequest, amount *payments.Money) (*payments.OperationResult, error)

// operate answers {"result": "approved"} when the gateway's answer was
// recorded (money moved or the status changed, now or before), "received"
// when the gateway accepted the request but reports its outcome later by
// webhook (a refund still pending), and "rejected" when the payment, the
// amount or the gateway refused it.
func (a *api) operate(w http.ResponseWriter, r *http.Request, op operation) {
	var req operationRequest
	if !decode(w, r, &req) {
		return
	}
	id := r.PathValue("id")
	var amount *payments.Money
	if req.Amount != "" {
		p, err := a.svc.Payment(r.Context(), id)
		if err != nil {
			a.fail(w, r, err)
			return
		}
		m, err := payments.ParseMoney(req.Amount, string(p.Amount.Currency))
		if err != nil {
			a.fail(w, r, err)
			return
		}
		amount = &m
	}
	res, err := op(r.Context(), id, req, amount)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	result, code := "received", http.StatusAccepted
	if rec := res.Recorded; rec != nil && (!rec.Empty() || len(rec.Duplicates) > 0) {
		result, code = "approved", http.StatusOK
	}
	body := map[string]any{"result": result, "payment": paymentJSON(res.Payment)}
	if res.Recorded != nil {
		body["entries"] = entriesJSON(res.Recorded.Entries)
	}
	writeJSON(w, code, body)
}

// purchaseRequest is a purchase a client app reports: an App Store
// transaction id or signed transaction, or a Google Play purchase token
// with its product id.
type purchaseRequest struct {
	Gateway   string `json:"gateway"`
	Account   string `json:"account"`
	Reference string `json:"reference"`
	ProductID string `json:"product_id"`
	Token     string `json:"token"`
}

// verifyPurchase has the gateway confirm a purchase the app reports and
// records it once, however often the app reports it. A purchase recorded
// but not yet acknowledged to the gateway answers 500: the app reports it
// again, which is a duplicate that acknowledges it.
func (a *api) verifyPurchase(w http.ResponseWriter, r *http.Request) {
	var req purchaseRequest
	if !decode(w, r, &req) {
		return
	}
	res, err := a.svc.VerifyPurchase(r.Context(), req.Gateway, payments.PurchaseRequest{
		Account: req.Account, Reference: req.Reference, ProductID: req.ProductID, Token: req.Token,
	})
	if errors.Is(err, payments.ErrUnauthenticated) {
		// The gateway does not confirm it: a forged or foreign purchase.
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"result": "rejected", "error": "the gateway does not confirm this purchase"})
		return
	}
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"payment": paymentJSON(res.Payment), "entries": entriesJSON(res.Recorded.Entries),
		"duplicates": entriesJSON(res.Recorded.Duplicates),
	})
}

func (a *api) balances(w http.ResponseWriter, r *http.Request) {
	account := r.PathValue("account")
	bals, err := a.svc.Balances(r.Context(), account)
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(bals))
	for _, b := range bals {
		out = append(out, map[string]any{"currency": b.Money.Currency, "amount": b.Money.Decimal(),
			"minor_units": b.Money.Amount, "entries": b.Entries, "updated_at": b.UpdatedAt})
	}
	writeJSON(w, http.StatusOK, map[string]any{"account": account, "balances": out})
}

// status answers 200 while the Service can take payments (all or some
// gateways up) and 503 when it cannot.
func (a *api) status(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	h := a.svc.Health(ctx)
	component := func(c payments.ComponentHealth) map[string]any {
		return map[string]any{"name": c.Name, "up": c.Up, "checked": c.Checked, "error": c.Error,
			"latency_ms": c.Latency.Milliseconds()}
	}
	gateways := make([]map[string]any, 0, len(h.Gateways))
	for _, g := range h.Gateways {
		gateways = append(gateways, component(g))
	}
	code := http.StatusOK
	if h.Status == payments.HealthUnavailable {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, map[string]any{"status": h.Status, "store": component(h.Store), "gateways": gateways})
}

// fail answers an error: the caller's or the gateway's refusal with its
// message, anything else as an internal error that is logged, not echoed.
func (a *api) fail(w http.ResponseWriter, r *http.Request, err error) {
	code := http.StatusInternalServerError
	switch {
	case errors.Is(err, payments.ErrNotFound):
		code = http.StatusNotFound
	case errors.Is(err, payments.ErrConflict):
		code = http.StatusConflict
	case errors.Is(err, payments.ErrInvalidInput), errors.Is(err, payments.ErrNotSupported):
		code = http.StatusUnprocessableEntity
	}
	if code == http.StatusInternalServerError {
		a.log.ErrorContext(r.Context(), "api: request failed", "method", r.Method, "path", r.URL.Path, "error", err)
		writeJSON(w, code, map[string]string{"error": "internal error"})
		return
	}
	writeJSON(w, code, map[string]string{"result": "rejected", "error": err.Error()})
}

// decode reads a JSON body under maxRequestBytes, refusing unknown fields.
// An empty body leaves v as it is.
func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, maxRequestBytes))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil && !errors.Is(err, io.EOF) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": "invalid JSON body: " + err.Error()})
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
