package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/payrail/payments"
)

// The operator's routes: the journal of notifications, the money parked in
// it and how to credit it, the ledger, and the outbox of entries the
// BalanceService has not applied. They sit behind the API token with the
// rest of the JSON API. Listings page with an opaque cursor: an answer's
// "next" is passed back as ?after= to read on, and is "" after the last page.

// maxPageLimit caps ?limit=, the most rows one page of a listing holds.
const maxPageLimit = payments.DefaultListLimit

// errBadQuery marks a query parameter the server cannot read; it answers 400,
// as a body that is not JSON does.
var errBadQuery = errors.New("bad query")

// query reads the common paging parameters and checks that only known
// parameters are present, so that a misspelt filter does not silently list
// everything.
func query(r *http.Request, known ...string) (q url.Values, limit int, err error) {
	q = r.URL.Query()
	allowed := map[string]bool{"limit": true, "after": true}
	for _, k := range known {
		allowed[k] = true
	}
	for k := range q {
		if !allowed[k] {
			return nil, 0, fmt.Errorf("unknown query parameter %q: %w", k, errBadQuery)
		}
	}
	if v := q.Get("limit"); v != "" {
		limit, err = strconv.Atoi(v)
		if err != nil || limit < 1 || limit > maxPageLimit {
			return nil, 0, fmt.Errorf("limit must be a whole number from 1 to %d: %w", maxPageLimit, errBadQuery)
		}
	}
	return q, limit, nil
}

// badQuery answers 400 when err is the query's fault and reports whether it
// did.
func badQuery(w http.ResponseWriter, err error) bool {
	if errors.Is(err, errBadQuery) {
		writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		return true
	}
	return false
}

// notifications lists the journal, newest first:
// ?gateway=&outcome=&unresolved=true&limit=&after=. With outcome=parked and
// unresolved=true it is the money waiting to be attributed.
func (a *api) notifications(w http.ResponseWriter, r *http.Request) {
	q, limit, err := query(r, "gateway", "outcome", "unresolved")
	if err == nil {
		err = checkOutcome(q.Get("outcome"))
	}
	unresolved := false
	if err == nil && q.Get("unresolved") != "" {
		if unresolved, err = strconv.ParseBool(q.Get("unresolved")); err != nil {
			err = fmt.Errorf("unresolved must be true or false: %w", errBadQuery)
		}
	}
	if badQuery(w, err) {
		return
	}
	page, next, err := a.svc.Notifications(r.Context(), payments.NotificationFilter{
		Gateway: q.Get("gateway"), Outcome: payments.Outcome(q.Get("outcome")), Unresolved: unresolved,
		Limit: limit, After: q.Get("after"),
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(page))
	for i := range page {
		out = append(out, notificationJSON(&page[i]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"notifications": out, "next": next})
}

func checkOutcome(o string) error {
	switch payments.Outcome(o) {
	case "", payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeIgnored,
		payments.OutcomeRejected, payments.OutcomeParked, payments.OutcomeFailed:
		return nil
	}
	return fmt.Errorf("outcome must be recorded, duplicate, ignored, rejected, parked or failed: %w", errBadQuery)
}

// notification shows one journal row with its body, which the operator may
// need to see whose money it is.
func (a *api) notification(w http.ResponseWriter, r *http.Request) {
	n, err := a.svc.Notification(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, notificationWithBody(n))
}

// attributeRequest says whose a parked notification's money is.
type attributeRequest struct {
	Account   string `json:"account"`
	Reference string `json:"reference"`
}

// attribute credits a parked notification's money to an account through the
// ledger's rules (payments.Service.Attribute): the first call records it,
// the same call again records nothing twice, and another account for money
// that is already someone's is 409.
func (a *api) attribute(w http.ResponseWriter, r *http.Request) {
	var req attributeRequest
	if !decode(w, r, &req) {
		return
	}
	res, err := a.svc.Attribute(r.Context(), r.PathValue("id"), payments.Attribution{Account: req.Account, Reference: req.Reference})
	if err != nil {
		a.failReplay(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookResultJSON(res))
}

// replay runs a journaled notification through its driver and the ledger
// again (payments.Service.Replay): for one that failed while the store was
// down, or one whose payment has since become known.
func (a *api) replay(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}) {
		return
	}
	res, err := a.svc.Replay(r.Context(), r.PathValue("id"))
	if err != nil {
		a.failReplay(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, webhookResultJSON(res))
}

// failReplay answers a replay's or an attribution's error as fail does,
// and a notification that did not verify, when it arrived or now, as 422:
// the request is understood but cannot be carried out.
func (a *api) failReplay(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, payments.ErrUnauthenticated) {
		writeJSON(w, http.StatusUnprocessableEntity, map[string]string{"result": "rejected", "error": err.Error()})
		return
	}
	a.fail(w, r, err)
}

// entries lists the ledger, oldest first:
// ?account=&payment=&gateway=&limit=&after=.
func (a *api) entries(w http.ResponseWriter, r *http.Request) {
	q, limit, err := query(r, "account", "payment", "gateway")
	if badQuery(w, err) {
		return
	}
	page, next, err := a.svc.Entries(r.Context(), payments.EntryFilter{
		Account: q.Get("account"), PaymentID: q.Get("payment"), Gateway: q.Get("gateway"),
		Limit: limit, After: q.Get("after"),
	})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entries": entriesJSON(page), "next": next})
}

// syncTasks lists the outbox in the order its entries were queued:
// ?state=pending|done|parked&limit=&after=. state=parked lists the entries
// the BalanceService gave up on, for the operator to fix and requeue.
func (a *api) syncTasks(w http.ResponseWriter, r *http.Request) {
	q, limit, err := query(r, "state")
	state := payments.SyncState(q.Get("state"))
	if err == nil {
		switch state {
		case "", payments.SyncPending, payments.SyncDone, payments.SyncParked:
		default:
			err = fmt.Errorf("state must be pending, done or parked: %w", errBadQuery)
		}
	}
	if badQuery(w, err) {
		return
	}
	page, next, err := a.svc.SyncTasks(r.Context(), payments.SyncFilter{State: state, Limit: limit, After: q.Get("after")})
	if err != nil {
		a.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(page))
	for _, t := range page {
		out = append(out, syncTaskJSON(t))
	}
	writeJSON(w, http.StatusOK, map[string]any{"sync_tasks": out, "next": next})
}

// requeueSync makes a parked sync task pending and due now; a task that is
// not parked is 409.
func (a *api) requeueSync(w http.ResponseWriter, r *http.Request) {
	if !decode(w, r, &struct{}{}) {
		return
	}
	entry := r.PathValue("entry")
	if err := a.svc.RequeueSync(r.Context(), entry); err != nil {
		a.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"entry": entry, "state": payments.SyncPending})
}
