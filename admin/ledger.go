package admin

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/payrail/payments"
)

// entriesPage is the ledger listing with its filters.
type entriesPage struct {
	Gateways []string
	Account  string
	Gateway  string
	Payment  string
	Rows     []payments.Entry
	Paging   paging
}

// entries lists ledger entries, oldest first: ?account=&gateway=&payment=&after=.
func (h *handler) entries(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := payments.EntryFilter{
		Account: strings.TrimSpace(q.Get("account")), Gateway: q.Get("gateway"),
		PaymentID: strings.TrimSpace(q.Get("payment")),
		Limit:     h.opts.PageSize, After: q.Get("after"),
	}
	rows, next, err := h.svc.Entries(r.Context(), f)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	keep := url.Values{"account": {f.Account}, "gateway": {f.Gateway}, "payment": {f.PaymentID}}
	h.render(w, r, http.StatusOK, "entries", "Entries", entriesPage{
		Gateways: h.svc.GatewayNames(), Account: f.Account, Gateway: f.Gateway, Payment: f.PaymentID,
		Rows: rows, Paging: h.paging("/entries", keep, f.After, next),
	})
}

// balancesPage is one account's balances.
type balancesPage struct {
	Account  string
	Rows     []payments.Balance
	Entries  string
	Searched bool
}

// balances shows every balance of the account named by ?account=. The
// Service reads balances per account, so the page asks for one.
func (h *handler) balances(w http.ResponseWriter, r *http.Request) {
	account := strings.TrimSpace(r.URL.Query().Get("account"))
	data := balancesPage{Account: account}
	if account != "" {
		rows, err := h.svc.Balances(r.Context(), account)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		data.Rows, data.Searched = rows, true
		data.Entries = h.link("/entries", url.Values{"account": {account}})
	}
	h.render(w, r, http.StatusOK, "balances", "Balances", data)
}
