package admin

import (
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/payrail/payments"
)

// outcomes are the journal's outcomes, in the order the filter offers them.
var outcomes = []payments.Outcome{
	payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeIgnored,
	payments.OutcomeParked, payments.OutcomeRejected, payments.OutcomeFailed,
}

func validOutcome(o payments.Outcome) bool {
	return o == "" || slices.Contains(outcomes, o)
}

// journalPage is the journal listing with its filters.
type journalPage struct {
	Gateways   []string
	Outcomes   []payments.Outcome
	Gateway    string
	Outcome    string
	Unresolved bool
	Rows       []payments.Notification
	Paging     paging
}

// paging links a listing's pages: the cursors are forward-only, so there is
// a next page and a way back to the first.
type paging struct {
	Next, First string
}

func (h *handler) paging(path string, q url.Values, after, next string) paging {
	var p paging
	if next != "" {
		nq := cloneValues(q)
		nq.Set("after", next)
		p.Next = h.link(path, nq)
	}
	if after != "" {
		fq := cloneValues(q)
		fq.Del("after")
		p.First = h.link(path, fq)
	}
	return p
}

func cloneValues(q url.Values) url.Values {
	out := url.Values{}
	for k, v := range q {
		out[k] = slices.Clone(v)
	}
	return out
}

// journal lists notifications, newest first:
// ?gateway=&outcome=&unresolved=1&after=.
func (h *handler) journal(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f, err := h.notificationFilter(q)
	if err != nil {
		h.refuse(w, r, http.StatusBadRequest, err.Error())
		return
	}
	rows, next, err := h.svc.Notifications(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keep := url.Values{"gateway": {f.Gateway}, "outcome": {string(f.Outcome)}}
	if f.Unresolved {
		keep.Set("unresolved", "1")
	}
	h.render(w, r, http.StatusOK, "journal", "Journal", journalPage{
		Gateways: h.svc.GatewayNames(), Outcomes: outcomes,
		Gateway: f.Gateway, Outcome: string(f.Outcome), Unresolved: f.Unresolved,
		Rows: rows, Paging: h.paging("/journal", keep, f.After, next),
	})
}

func (h *handler) notificationFilter(q url.Values) (payments.NotificationFilter, error) {
	f := payments.NotificationFilter{
		Gateway: q.Get("gateway"), Outcome: payments.Outcome(q.Get("outcome")),
		Limit: h.opts.PageSize, After: q.Get("after"),
	}
	if !validOutcome(f.Outcome) {
		return f, badQuery("outcome must be one of recorded, duplicate, ignored, parked, rejected, failed")
	}
	if v := q.Get("unresolved"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return f, badQuery("unresolved must be 1 or 0")
		}
		f.Unresolved = b
	}
	return f, nil
}

// notificationPage is one journal row in full.
type notificationPage struct {
	N       *payments.Notification
	Headers []headerLine
	Body    string
	// Truncated: the journal kept only a prefix of an unverified body.
	Truncated bool
	Prefix    int
	// Attributable and Replayable say which forms make sense for the row;
	// the page also needs the grant to show them.
	Attributable, Replayable bool
}

type headerLine struct{ Name, Value string }

// notification shows one journal row: the headers the driver named, and the
// body as received, escaped, so that the operator can read whose money it is.
func (h *handler) notification(w http.ResponseWriter, r *http.Request) {
	n, err := h.svc.Notification(r.Context(), r.PathValue("id"))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	var lines []headerLine
	names := make([]string, 0, len(n.Header))
	for k := range n.Header {
		names = append(names, k)
	}
	slices.Sort(names)
	for _, k := range names {
		lines = append(lines, headerLine{k, strings.Join(n.Header[k], ", ")})
	}
	unresolved := n.ResolvedBy == ""
	h.render(w, r, http.StatusOK, "notification", "Notification "+n.ID, notificationPage{
		N: n, Headers: lines, Body: printable(n.Body),
		Truncated: n.BodyLen > 0, Prefix: payments.UnverifiedBodyPrefix,
		Attributable: n.Verified && n.Outcome == payments.OutcomeParked && unresolved,
		Replayable:   n.Verified && unresolved && (n.Outcome == payments.OutcomeParked || n.Outcome == payments.OutcomeFailed),
	})
}

// parkedPage lists money waiting for the host to say whose it is.
type parkedPage struct {
	Rows   []payments.Notification
	Paging paging
}

// parked lists unresolved parked notifications, each with a form to
// attribute it.
func (h *handler) parked(w http.ResponseWriter, r *http.Request) {
	after := r.URL.Query().Get("after")
	rows, next, err := h.svc.Notifications(r.Context(), payments.NotificationFilter{
		Outcome: payments.OutcomeParked, Unresolved: true, Limit: h.opts.PageSize, After: after,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "parked", "Parked money", parkedPage{
		Rows: rows, Paging: h.paging("/parked", url.Values{}, after, next),
	})
}

// attribute credits a parked notification's money to the account the form
// names (payments.Service.Attribute), then shows that account's balances.
func (h *handler) attribute(w http.ResponseWriter, r *http.Request) {
	account := strings.TrimSpace(r.PostFormValue("account"))
	reference := strings.TrimSpace(r.PostFormValue("reference"))
	if account == "" || len(account) > maxActionFieldLength || len(reference) > maxActionFieldLength {
		h.refuse(w, r, http.StatusBadRequest, "an account is required (at most 512 bytes, as is the reference)")
		return
	}
	id := r.PathValue("id")
	res, err := h.svc.Attribute(r.Context(), id, payments.Attribution{Account: account, Reference: reference})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "admin: attributed", "notification", id, "outcome", res.Notification.Outcome, "replay", res.Notification.ID)
	h.redirect(w, r, "/balances", url.Values{
		"account": {account}, "done": {"attributed"}, "n": {id}, "outcome": {string(res.Notification.Outcome)},
	})
}

// replay runs a journaled notification again (payments.Service.Replay) and
// shows the row the replay journaled.
func (h *handler) replay(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	res, err := h.svc.Replay(r.Context(), id)
	if err != nil {
		// A replay that failed may not have journaled its row (a Store
		// failure), so the error page says why rather than a link.
		h.fail(w, r, err)
		return
	}
	h.log.InfoContext(r.Context(), "admin: replayed", "notification", id, "outcome", res.Notification.Outcome, "replay", res.Notification.ID)
	h.redirect(w, r, "/journal/"+url.PathEscape(res.Notification.ID), url.Values{
		"done": {"replayed"}, "outcome": {string(res.Notification.Outcome)},
	})
}
