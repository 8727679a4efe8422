package admin

import (
	"errors"
	"net/http"
	"net/url"

	"github.com/payrail/payments"
)

var deliveryStates = []payments.DeliveryState{payments.DeliveryPending, payments.DeliveryFailed, payments.DeliveryDelivered}

// deliveriesPage lists postback deliveries; Off when the Service has
// postbacks turned off.
type deliveriesPage struct {
	Off       bool
	Endpoints []payments.Endpoint
	States    []payments.DeliveryState
	Endpoint  string
	State     string
	Rows      []deliveryRow
	Paging    paging
}

type deliveryRow struct {
	payments.Delivery
	Attempts string
}

// deliveries lists postback deliveries, oldest message first:
// ?endpoint=&state=pending|failed|delivered&after=.
func (h *handler) deliveries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	state := payments.DeliveryState(q.Get("state"))
	if state != "" && !state.Valid() {
		h.refuse(w, r, http.StatusBadRequest, "state must be pending, failed or delivered")
		return
	}
	data := deliveriesPage{States: deliveryStates, Endpoint: q.Get("endpoint"), State: string(state)}
	eps, err := h.svc.Endpoints(r.Context())
	if errors.Is(err, payments.ErrNotSupported) {
		data.Off = true
		h.render(w, r, http.StatusOK, "postbacks", "Postbacks", data)
		return
	}
	if err != nil {
		h.fail(w, r, err)
		return
	}
	data.Endpoints = eps
	after := q.Get("after")
	rows, next, err := h.svc.Deliveries(r.Context(), payments.DeliveryFilter{
		EndpointID: data.Endpoint, State: state, Limit: h.opts.PageSize, After: after,
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	for _, d := range rows {
		data.Rows = append(data.Rows, deliveryRow{Delivery: d, Attempts: h.attemptsLink(d.Message.ID, d.EndpointID)})
	}
	data.Paging = h.paging("/postbacks", url.Values{"endpoint": {data.Endpoint}, "state": {string(state)}}, after, next)
	h.render(w, r, http.StatusOK, "postbacks", "Postbacks", data)
}

func (h *handler) attemptsLink(messageID, endpointID string) string {
	return h.link("/postbacks/"+url.PathEscape(messageID)+"/"+url.PathEscape(endpointID), nil)
}

// attemptsPage is every attempt at one delivery.
type attemptsPage struct {
	MessageID, EndpointID string
	Rows                  []payments.Attempt
	Redeliver             string
}

// attempts lists the attempts at one delivery, with the redeliver form.
func (h *handler) attempts(w http.ResponseWriter, r *http.Request) {
	msg, ep := r.PathValue("message"), r.PathValue("endpoint")
	rows, err := h.svc.Attempts(r.Context(), msg, ep)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.render(w, r, http.StatusOK, "attempts", "Delivery attempts", attemptsPage{
		MessageID: msg, EndpointID: ep, Rows: rows,
		Redeliver: h.attemptsLink(msg, ep) + "/redeliver",
	})
}

// redeliver makes one delivery due now, whatever became of it.
func (h *handler) redeliver(w http.ResponseWriter, r *http.Request) {
	msg, ep := r.PathValue("message"), r.PathValue("endpoint")
	if err := h.svc.Redeliver(r.Context(), msg, ep); err != nil {
		h.fail(w, r, err)
		return
	}
	h.redirect(w, r, "/postbacks/"+url.PathEscape(msg)+"/"+url.PathEscape(ep), url.Values{"done": {"redelivered"}})
}
