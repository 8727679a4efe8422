package admin

import (
	"net/http"
	"net/url"

	"github.com/payrail/payments"
)

var syncStates = []payments.SyncState{payments.SyncPending, payments.SyncParked, payments.SyncDone}

// syncPage is the outbox listing with its filter.
type syncPage struct {
	States []payments.SyncState
	State  string
	Rows   []payments.SyncTask
	Paging paging
}

// syncTasks lists the outbox in the order its entries were queued:
// ?state=pending|parked|done&after=. Parked tasks are the entries the host's
// BalanceService gave up on; once the cause is fixed they are requeued here.
func (h *handler) syncTasks(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := payments.SyncState(q.Get("state"))
	if state != "" && state != payments.SyncPending && state != payments.SyncParked && state != payments.SyncDone {
		h.refuse(w, r, http.StatusBadRequest, "state must be pending, parked or done")
		return
	}
	after := q.Get("after")
	rows, next, err := h.svc.SyncTasks(r.Context(), payments.SyncFilter{State: state, Limit: h.opts.PageSize, After: after})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "sync", "Sync outbox", syncPage{
		States: syncStates, State: string(state), Rows: rows,
		Paging: h.paging("/sync", url.Values{"state": {string(state)}}, after, next),
	})
}

// requeue makes a parked sync task pending and due now; a task that is not
// parked is 409.
func (h *handler) requeue(w http.ResponseWriter, r *http.Request) {
	entry := r.PathValue("entry")
	if err := h.svc.RequeueSync(r.Context(), entry); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, "/sync", url.Values{"state": {string(payments.SyncParked)}, "done": {"requeued"}, "entry": {entry}})
}
