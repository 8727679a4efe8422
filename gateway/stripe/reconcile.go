package stripe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	stripego "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/form"

	"github.com/payrail/payments"
)

var _ payments.Reconciler = (*Gateway)(nil)

// listPageSize is the most a Stripe list call returns
// (https://docs.stripe.com/api/pagination).
const listPageSize = 100

// movedListings are the list endpoints a reconciliation reads, and which of
// their objects carry money.
var movedListings = []struct {
	path  string
	moved func(raw json.RawMessage) bool
}{
	{"/v1/payment_intents", intentMoved},
	{"/v1/refunds", refundMoved},
	{"/v1/disputes", disputeMoved},
}

// ListMoved implements payments.Reconciler: it lists the PaymentIntents,
// refunds and disputes created in the window from the cursor (a Unix time,
// less q.Lookback; q.Since without one) to now, through
// GET /v1/payment_intents, /v1/refunds and /v1/disputes with created[gte]
// and created[lt] (https://docs.stripe.com/api/payment_intents/list), and
// returns those that moved money, each as Stripe's own JSON object, for
// ParseRecord: intents that succeeded, refunds that succeeded (or failed
// after succeeding: failure_balance_transaction is set), and disputes that
// withdrew funds. Every page of each listing is read (MovedPage.More is
// never set); q.Limit is the page size asked of Stripe, at most 100.
//
// Stripe lists by when an object was created, not by when its money
// moved: an intent captured, a refund that failed, or a dispute's funds
// reinstated later than q.Lookback after the object's creation is not
// listed again. The page is therefore never Complete.
func (g *Gateway) ListMoved(ctx context.Context, q payments.MovedQuery) (*payments.MovedPage, error) {
	api, err := g.client("list", "what moved")
	if err != nil {
		return nil, err
	}
	since := q.Since
	if q.Cursor != "" {
		sec, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || sec <= 0 {
			return nil, fmt.Errorf("stripe: reconciliation cursor %q is not a Unix time: %w", q.Cursor, payments.ErrInvalidInput)
		}
		since = time.Unix(sec, 0).Add(-q.Lookback)
	}
	// created has a resolution of seconds: the window ends at a whole
	// second, which the next one starts at, so no second is skipped.
	until := time.Now().Truncate(time.Second)
	page := &payments.MovedPage{Next: strconv.FormatInt(until.Unix(), 10), From: since, Until: until}
	if !since.Before(until) {
		return page, nil
	}
	limit := int64(listPageSize)
	if q.Limit > 0 && q.Limit < listPageSize {
		limit = int64(q.Limit)
	}
	for _, l := range movedListings {
		err := listCreated(ctx, api, l.path, since, until, limit, func(raw json.RawMessage) {
			if l.moved(raw) {
				page.Records = append(page.Records, raw)
			}
		})
		if err != nil {
			return nil, err
		}
	}
	return page, nil
}

// rawList is one page of a Stripe list, its objects kept as Stripe sent
// them so that the journal holds Stripe's own JSON.
type rawList struct {
	stripego.APIResource
	Data    []json.RawMessage `json:"data"`
	HasMore bool              `json:"has_more"`
}

// listCreated reads every page of a list endpoint over the objects created
// in [since, until), newest first, as Stripe lists.
func listCreated(ctx context.Context, api *client.API, path string, since, until time.Time, limit int64, each func(json.RawMessage)) error {
	backend, key := api.PaymentIntents.B, api.PaymentIntents.Key
	after := ""
	for {
		// Every list endpoint read here takes the same created range,
		// limit and starting_after.
		q := &form.Values{}
		q.Add("created[gte]", strconv.FormatInt(since.Unix(), 10))
		q.Add("created[lt]", strconv.FormatInt(until.Unix(), 10))
		q.Add("limit", strconv.FormatInt(limit, 10))
		if after != "" {
			q.Add("starting_after", after)
		}
		var list rawList
		if err := backend.CallRaw(http.MethodGet, path, key, q, &stripego.Params{Context: ctx}, &list); err != nil {
			return wrapAPIError("list", path, err)
		}
		for _, raw := range list.Data {
			each(raw)
		}
		if !list.HasMore || len(list.Data) == 0 {
			return nil
		}
		var last struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(list.Data[len(list.Data)-1], &last); err != nil || last.ID == "" || last.ID == after {
			return fmt.Errorf("stripe: list %s: a page ends without a new object id", path)
		}
		after = last.ID
	}
}

func intentMoved(raw json.RawMessage) bool {
	var pi struct {
		Status         string `json:"status"`
		AmountReceived int64  `json:"amount_received"`
	}
	return json.Unmarshal(raw, &pi) == nil && pi.Status == string(stripego.PaymentIntentStatusSucceeded) && pi.AmountReceived > 0
}

func refundMoved(raw json.RawMessage) bool {
	var r struct {
		Status                    string          `json:"status"`
		FailureBalanceTransaction json.RawMessage `json:"failure_balance_transaction"`
	}
	if json.Unmarshal(raw, &r) != nil {
		return false
	}
	return r.Status == string(stripego.RefundStatusSucceeded) || refundReversed(r.Status, len(r.FailureBalanceTransaction) > 0 && string(r.FailureBalanceTransaction) != "null")
}

// refundReversed reports a refund that failed or was canceled after its
// money had left: Stripe sets failure_balance_transaction only when it
// gives the money back (https://docs.stripe.com/api/refunds/object).
func refundReversed(status string, failureTransaction bool) bool {
	return (status == string(stripego.RefundStatusFailed) || status == string(stripego.RefundStatusCanceled)) && failureTransaction
}

func disputeMoved(raw json.RawMessage) bool {
	var d stripego.Dispute
	return json.Unmarshal(raw, &d) == nil && fundsWithdrawn(&d)
}

// ParseRecord implements payments.RecordParser: it translates one object
// ListMoved returned as the events that report it would be, under the same
// keys: a succeeded PaymentIntent as payment_intent.succeeded (its charge
// keyed by the intent's id), a refund as refund.updated (keyed by its id,
// with its reversal when it failed after succeeding), a dispute whose funds
// were withdrawn as charge.dispute.funds_withdrawn and, when they were
// reinstated, as charge.dispute.funds_reinstated. Its OccurredAt is the
// object's creation, the only time a listed object carries.
func (g *Gateway) ParseRecord(ctx context.Context, body []byte) (*payments.Changes, error) {
	var head struct {
		Object  string `json:"object"`
		ID      string `json:"id"`
		Created int64  `json:"created"`
	}
	if err := json.Unmarshal(body, &head); err != nil || head.ID == "" {
		return nil, fmt.Errorf("stripe: not a listed Stripe object: %w", payments.ErrInvalidInput)
	}
	c := &payments.Changes{EventID: "list:" + head.ID, EventType: head.Object + ".list"}
	at := unixTime(head.Created)
	var err error
	switch head.Object {
	case "payment_intent":
		var pi stripego.PaymentIntent
		if err = json.Unmarshal(body, &pi); err == nil {
			err = g.intentChanges(ctx, c, &pi, intentStatusOf(&pi), at)
		}
	case "refund":
		var r stripego.Refund
		if err = json.Unmarshal(body, &r); err == nil {
			previous := ""
			if refundReversed(string(r.Status), r.FailureBalanceTransaction != nil) {
				previous = string(stripego.RefundStatusSucceeded)
			}
			err = g.refundChanges(c, &r, previous, at)
		}
	case "dispute":
		var d stripego.Dispute
		if err = json.Unmarshal(body, &d); err == nil {
			typ := stripego.EventTypeChargeDisputeCreated
			switch {
			case fundsReinstated(&d):
				typ = stripego.EventTypeChargeDisputeFundsReinstated
			case fundsWithdrawn(&d):
				typ = stripego.EventTypeChargeDisputeFundsWithdrawn
			}
			err = g.disputeChanges(c, typ, &d, at)
		}
	default:
		return nil, fmt.Errorf("stripe: listed object %s is a %q, which the driver does not reconcile: %w", head.ID, head.Object, payments.ErrInvalidInput)
	}
	var api *apiError
	var syntax *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case errors.As(err, &api):
		return nil, err
	case errors.As(err, &syntax) || errors.As(err, &typeErr):
		return nil, fmt.Errorf("stripe: listed %s %s: %v: %w", head.Object, head.ID, err, payments.ErrInvalidInput)
	case err != nil:
		return nil, fmt.Errorf("stripe: listed %s %s: %w", head.Object, head.ID, err)
	}
	return c, nil
}

// fundsReinstated reports whether a dispute gave back what it withdrew: one
// of its balance transactions is positive.
func fundsReinstated(d *stripego.Dispute) bool {
	for _, bt := range d.BalanceTransactions {
		if bt != nil && bt.Amount > 0 {
			return true
		}
	}
	return false
}
