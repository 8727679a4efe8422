package gate

import (
	"context"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments/stream"
)

// refreshSeconds is the return page's meta-refresh period: the fallback
// for browsers without script, and what bounds how often it asks.
const refreshSeconds = 2

// maxFormBytes bounds the choice page's form.
const maxFormBytes = 4 << 10

// pay sends the customer to pay: to the gateway's hosted page, to the choice
// page when the customer is to choose, or to the return pages when the
// payment has an outcome already.
func (g *Gate) pay(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	rec, ok := g.pageRecord(w, r, r.URL.Query().Get("id"))
	if !ok {
		return
	}
	if rec.PaymentID == "" {
		if g.expired(rec) {
			g.errorPage(w, http.StatusGone, "This payment link has expired.")
			return
		}
		if rec.Gateway == "" {
			g.choicePage(w, r, rec)
			return
		}
		if !g.checkoutFor(w, r, rec, rec.Gateway) {
			return
		}
	}
	p, err := g.svc.Payment(ctx, rec.PaymentID)
	if err != nil {
		g.internalPage(w, r, err)
		return
	}
	switch outcomeOf(Status(p.Status)) {
	case outcomeSuccess:
		http.Redirect(w, r, g.link(PathSuccess, rec.ID), http.StatusSeeOther)
		return
	case outcomeFailure:
		http.Redirect(w, r, g.link(PathError, rec.ID), http.StatusSeeOther)
		return
	}
	if g.expired(rec) {
		g.errorPage(w, http.StatusGone, "This payment link has expired.")
		return
	}
	if u, err := url.Parse(p.RedirectURL); p.RedirectURL == "" || err != nil || (u.Scheme != "https" && u.Scheme != "http") {
		// A gateway that pays in the client (a Stripe client secret) has
		// no hosted page to send the customer to.
		g.errorPage(w, http.StatusBadGateway, "This payment method has no payment page. Please contact the merchant.")
		return
	}
	http.Redirect(w, r, p.RedirectURL, http.StatusSeeOther)
}

// choose takes the customer's choice of gateway from the choice page and
// starts the checkout there.
func (g *Gate) choose(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		g.errorPage(w, http.StatusBadRequest, "The form could not be read.")
		return
	}
	rec, ok := g.pageRecord(w, r, r.PostForm.Get("id"))
	if !ok {
		return
	}
	if rec.PaymentID == "" {
		if g.expired(rec) {
			g.errorPage(w, http.StatusGone, "This payment link has expired.")
			return
		}
		m, err := g.cfg.Merchants.Merchant(r.Context(), rec.Merchant)
		if err != nil {
			g.internalPage(w, r, err)
			return
		}
		gateway := r.PostForm.Get("gateway")
		if !slices.Contains(g.usableGateways(m), gateway) {
			g.errorPage(w, http.StatusBadRequest, "This payment method is not available.")
			return
		}
		if !g.checkoutFor(w, r, rec, gateway) {
			return
		}
	}
	// Whoever chose first, /pay sends the customer to the payment attached.
	http.Redirect(w, r, g.link(PathPay, rec.ID), http.StatusSeeOther)
}

// checkoutFor creates rec's checkout at gateway, answering an error page
// when it fails; rec is updated with the payment attached.
func (g *Gate) checkoutFor(w http.ResponseWriter, r *http.Request, rec *Record, gateway string) bool {
	m, err := g.cfg.Merchants.Merchant(r.Context(), rec.Merchant)
	if err != nil {
		g.internalPage(w, r, err)
		return false
	}
	if _, err := g.ensureCheckout(r.Context(), m, rec, gateway); err != nil {
		if _, ok := err.(*apiError); ok {
			g.errorPage(w, http.StatusBadGateway, "The payment could not be started. Please try again in a moment.")
			return false
		}
		g.internalPage(w, r, err)
		return false
	}
	return true
}

// returned is /success and /error: where gateways send the customer back.
// The way back says nothing about the payment — anyone can open it — so the
// page follows the ledger's status until it settles or ReturnWait passes,
// and only then sends the customer to the merchant: to successUrl or
// errorUrl by the ledger's outcome, and by the way back only when the
// ledger has none yet (the merchant learns the truth from the postback).
func (g *Gate) returned(route outcome) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec, ok := g.pageRecord(w, r, r.URL.Query().Get("id"))
		if !ok {
			return
		}
		status, err := g.ledgerStatus(r.Context(), rec)
		if err != nil {
			g.internalPage(w, r, err)
			return
		}
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		polls := int(g.cfg.ReturnWait.Seconds()) / refreshSeconds
		decided := outcomeOf(status)
		if decided == outcomeWaiting && n >= polls {
			decided = route
		}
		switch decided {
		case outcomeSuccess:
			http.Redirect(w, r, rec.Request.SuccessURL, http.StatusSeeOther)
			return
		case outcomeFailure:
			http.Redirect(w, r, rec.Request.ErrorURL, http.StatusSeeOther)
			return
		}
		self := g.link(PathError, rec.ID)
		if route == outcomeSuccess {
			self = g.link(PathSuccess, rec.ID)
		}
		next := self + "&n=" + strconv.Itoa(n+1)
		g.render(w, http.StatusOK, "waiting", waitingPage{
			Refresh:    strconv.Itoa(refreshSeconds) + ";url=" + next,
			EventsURL:  g.eventsURL(rec),
			NextURL:    next,
			GiveUpURL:  self + "&n=" + strconv.Itoa(polls),
			WaitMillis: max(0, polls-n) * refreshSeconds * 1000,
		})
	}
}

// eventsTokenSlack is how long a return page's stream token outlives the
// page's wait, so that a slow page still connects.
const eventsTokenSlack = time.Minute

// eventsURL is the live status stream of rec's payment with a token for
// it, or "" before a checkout (there is no payment to follow yet). The
// token is bound to the payment and lasts a little longer than the page
// waits; it is signed against the wall clock, which is what the stream
// checks it by, not Config.Now.
func (g *Gate) eventsURL(rec *Record) string {
	if rec.PaymentID == "" {
		return ""
	}
	u := *g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + PathEvents + url.PathEscape(rec.PaymentID)
	u.RawQuery = url.Values{"token": {stream.Token(g.streamKey, rec.PaymentID, g.cfg.ReturnWait+eventsTokenSlack, time.Now())}}.Encode()
	return u.String()
}

// status answers a payment's ledger status as JSON, for the return page's
// polling; the gate id is the capability.
func (g *Gate) status(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("id")
	var rec *Record
	var err error
	if isGateID(id) {
		rec, err = g.cfg.Records.Record(r.Context(), id)
	}
	if rec == nil {
		if err != nil && !isNotFound(err) {
			g.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusNotFound, map[string]any{"status": ResponseError,
			"error": apiError{Code: "not_found", Message: "unknown payment"}})
		return
	}
	status, err := g.ledgerStatus(r.Context(), rec)
	if err != nil {
		g.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Status  Status `json:"status"`
		Settled bool   `json:"settled"`
	}{status, outcomeOf(status) != outcomeWaiting})
}

// ledgerStatus is the payment's status as the ledger has it (pending before
// a checkout), queueing its postback on the way so that a merchant hears as
// soon as anyone looks.
func (g *Gate) ledgerStatus(ctx context.Context, rec *Record) (Status, error) {
	if rec.PaymentID == "" {
		return StatusPending, nil
	}
	p, err := g.svc.Payment(ctx, rec.PaymentID)
	if err != nil {
		return "", err
	}
	if err := g.observe(ctx, rec, p); err != nil {
		g.log.WarnContext(ctx, "gate: queue postback", "gate_payment", rec.ID, "error", err)
	}
	return Status(p.Status), nil
}

func (g *Gate) expired(rec *Record) bool {
	return g.now().Sub(rec.CreatedAt) > g.cfg.PayWithin
}

// pageRecord finds the record of a page's id, answering the error page for
// an id that is malformed or unknown (alike, so a prober learns nothing).
func (g *Gate) pageRecord(w http.ResponseWriter, r *http.Request, id string) (*Record, bool) {
	if !isGateID(id) {
		g.errorPage(w, http.StatusNotFound, "This payment link is not valid.")
		return nil, false
	}
	rec, err := g.cfg.Records.Record(r.Context(), id)
	if isNotFound(err) {
		g.errorPage(w, http.StatusNotFound, "This payment link is not valid.")
		return nil, false
	}
	if err != nil {
		g.internalPage(w, r, err)
		return nil, false
	}
	return rec, true
}

func (g *Gate) choicePage(w http.ResponseWriter, r *http.Request, rec *Record) {
	m, err := g.cfg.Merchants.Merchant(r.Context(), rec.Merchant)
	if err != nil {
		g.internalPage(w, r, err)
		return
	}
	name := m.Name
	if name == "" {
		name = m.ID
	}
	g.render(w, http.StatusOK, "choice", choicePage{ID: rec.ID, Action: g.link(PathPay, rec.ID),
		Merchant: name, Amount: rec.Request.Amount + " " + rec.Request.Currency, Gateways: g.usableGateways(m)})
}

func (g *Gate) errorPage(w http.ResponseWriter, status int, message string) {
	g.render(w, status, "error", errorPage{Message: message})
}

// internalPage logs err and answers a page that says nothing of it.
func (g *Gate) internalPage(w http.ResponseWriter, r *http.Request, err error) {
	g.log.ErrorContext(r.Context(), "gate: page failed", "path", r.URL.Path, "error", err)
	g.errorPage(w, http.StatusInternalServerError, "Something went wrong. Please try again in a moment.")
}

type errorPage struct{ Message string }

type choicePage struct {
	ID, Action, Merchant, Amount string
	Gateways                     []string
}

// waitingPage follows the payment: by its live status stream where the
// browser runs script (EventsURL, empty before a checkout), else by
// reloading itself (Refresh, in <noscript>). Either way it only ever goes
// to the gate's own return URL, whose handler decides by the ledger: the
// stream tells the page when to look, never where the customer goes.
type waitingPage struct {
	Refresh, EventsURL, NextURL, GiveUpURL string
	// WaitMillis is how long the page follows before GiveUpURL, which
	// sends the customer on by the way back.
	WaitMillis int
}

type pageData struct {
	Nonce string
	Page  any
}

// render writes a page with headers that keep its id to itself: no
// referrer (the id is in the URL), no caching, no framing, and script only
// from the page itself.
func (g *Gate) render(w http.ResponseWriter, status int, name string, page any) {
	nonce := randomHex(16)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; script-src 'nonce-"+nonce+"'; style-src 'nonce-"+nonce+
		"'; connect-src 'self'; base-uri 'none'; frame-ancestors 'none'")
	var b strings.Builder
	if err := pages.ExecuteTemplate(&b, name, pageData{Nonce: nonce, Page: page}); err != nil {
		g.log.Error("gate: render page", "page", name, "error", err)
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	w.WriteHeader(status)
	_, _ = w.Write([]byte(b.String()))
}

// The "follow" template follows the payment's status stream with
// EventSource; the page navigates only to its own URLs. A stream that
// cannot be opened (closed with an error, such as a token from another
// instance's key) falls back to reloading, as the <noscript> refresh does.
var pages = template.Must(template.New("pages").Parse(`
{{define "head"}}<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">
<style nonce="{{.Nonce}}">body{font-family:system-ui,sans-serif;max-width:32rem;margin:4rem auto;padding:0 1rem;color:#222}button{font-size:1rem;margin:.25rem 0;padding:.6rem 1rem;width:100%}</style>
{{end}}
{{define "error"}}{{template "head" .}}<title>Payment</title></head><body>
<h1>Payment</h1><p>{{.Page.Message}}</p></body></html>{{end}}
{{define "choice"}}{{template "head" .}}<title>Choose how to pay</title></head><body>
<h1>Pay {{.Page.Amount}}</h1><p>to {{.Page.Merchant}}. Choose how to pay:</p>
<form method="post" action="{{.Page.Action}}"><input type="hidden" name="id" value="{{.Page.ID}}">
{{range .Page.Gateways}}<button type="submit" name="gateway" value="{{.}}">{{.}}</button>
{{end}}</form></body></html>{{end}}
{{define "follow"}}<script nonce="{{.Nonce}}">
(function () {
  var events = {{.Page.EventsURL}}, next = {{.Page.NextURL}}, giveUp = {{.Page.GiveUpURL}}, gone = false;
  function go(u) { if (!gone) { gone = true; location.replace(u); } }
  setTimeout(function () { go(giveUp); }, {{.Page.WaitMillis}});
  if (!events || !window.EventSource) { setTimeout(function () { go(next); }, 2000); return; }
  var es = new EventSource(events);
  es.onmessage = function (e) {
    var s = JSON.parse(e.data);
    if (s.final) { es.close(); go(next); }
  };
  es.addEventListener("expired", function () { es.close(); go(next); });
  es.onerror = function () { if (es.readyState === EventSource.CLOSED) { setTimeout(function () { go(next); }, 2000); } };
})();
</script>{{end}}
{{define "waiting"}}{{template "head" .}}<noscript><meta http-equiv="refresh" content="{{.Page.Refresh}}"></noscript>
<title>Confirming your payment</title></head><body>
<h1>Confirming your payment…</h1><p>This takes a few seconds. You will be sent back to the shop.</p>
{{template "follow" .}}</body></html>{{end}}
`))
