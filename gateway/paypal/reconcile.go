package paypal

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Reconciliation reads PayPal's Transaction Search
// (https://developer.paypal.com/docs/api/transaction-search/v1/; the
// OpenAPI document is reporting_transactions_v1.json in
// github.com/paypal/paypal-rest-api-specifications): GET
// /v1/reporting/transactions with start_date and end_date (Internet
// date-time, seconds required, "The maximum supported range is 31 days"),
// page_size (1 to 500, default 100) and page (from 1), answering
// {"transaction_details":[{"transaction_info":{…}}],"page","total_items",
// "total_pages","last_refreshed_datetime",…}. Its notes: "It takes a
// maximum of three hours for executed transactions to appear", and it
// "lists transaction for the previous three years". The app's REST
// credentials need the Transaction Search permission
// (scope https://uri.paypal.com/services/reporting/search/read); without
// it PayPal answers 403 and the reconciliation fails, naming the call.
//
// A listed transaction names neither the order a payment is linked by nor
// a refund's capture, so it is only a pointer: the driver reads the
// Payments v2 object it points at and journals that, as the webhook of
// its movement carries it.

// TransactionSearchLag is how far behind PayPal's Transaction Search may
// be: a transaction can take up to three hours to be listed. Give the
// reconciler a payments.Reconcile.Lookback above it (the default, a day,
// is), so that each pass lists again what the previous one could not yet
// see.
const TransactionSearchLag = 3 * time.Hour

const (
	transactionsPath = "/v1/reporting/transactions"
	// maxSearchRange is the longest window one search takes.
	maxSearchRange = 31 * 24 * time.Hour
	// searchHistory is how far back the search lists (three years, kept
	// a day short of them so that a window at the edge is not refused).
	searchHistory = (3*365 - 1) * 24 * time.Hour
	// maxSearchPageSize and defaultSearchPageSize are page_size's maximum
	// and default.
	maxSearchPageSize     = 500
	defaultSearchPageSize = 100
	// maxSearchPages bounds the pages of one window: past it the listing
	// is an error that names the cure rather than a loop.
	maxSearchPages = 1000
)

// Transaction event codes (T-codes) the driver follows
// (https://developer.paypal.com/docs/transaction-search/transaction-event-codes/).
// The first three characters are the event group, which the page calls
// "sufficient for reconciliation": T00nn are payments received (T0006 is
// "PayPal Checkout APIs"), T11nn reversals and refunds, of which T1107 is
// the refund the merchant initiated. The code only says which object to
// read: the object read decides what is recorded.
const (
	tcodePaymentGroup   = "T00"
	tcodeMerchantRefund = "T1107"
)

// transactionDenied is transaction_status D, "PayPal or merchant rules
// denied the transaction": no money moved, so nothing is read.
const transactionDenied = "D"

// searchPage is one page of the Transaction Search, with only what the
// driver reads. It is decoded here rather than by plutov's
// ListTransactions, whose typed answer parses every date strictly (PayPal
// writes their offset without a colon, "+0000"): no date decides
// anything here, and one unreadable date would fail the whole listing.
type searchPage struct {
	TransactionDetails []struct {
		TransactionInfo transactionInfo `json:"transaction_info"`
	} `json:"transaction_details"`
	Page       int `json:"page"`
	TotalItems int `json:"total_items"`
	TotalPages int `json:"total_pages"`
}

type transactionInfo struct {
	TransactionID     string `json:"transaction_id"`
	EventCode         string `json:"transaction_event_code"`
	TransactionStatus string `json:"transaction_status"`
}

// movedRecord is what ListMoved journals for one movement: the Payments v2
// object it read, as GET /v2/payments/captures/{id} or
// /v2/payments/refunds/{id} answered, under the webhook envelope's name
// for its kind, with the listed transaction's id and T-code for whoever
// reads the journal.
type movedRecord struct {
	TransactionID string          `json:"transaction_id"`
	EventCode     string          `json:"transaction_event_code"`
	ResourceType  string          `json:"resource_type"`
	Resource      json.RawMessage `json:"resource"`
}

// Resource types of a record, as PayPal's webhook envelopes name them.
const (
	resourceCapture = "capture"
	resourceRefund  = "refund"
)

var _ payments.Reconciler = (*Gateway)(nil)

// ListMoved implements payments.Reconciler over the Transaction Search. It
// lists the transactions of the window from the cursor (an RFC 3339 time,
// less q.Lookback; q.Since without one) to now, reading every page
// (q.Limit, at most 500, is the page size asked for), and reads, for each
// transaction that can have moved money for this library, the object it
// points at: a payment (T00nn) is read as a capture, a merchant's refund
// (T1107) as a refund. It returns, each as a record of that object for
// ParseRecord, the captures that completed (those since refunded in part
// or in full included: their money came in, and their refunds are their
// own transactions) and the refunds that completed, when they are the
// library's: the capture's custom_id, or the refund's, is a payment id or
// names an account (CustomIDAccountPrefix), as the driver's own orders
// and refunds carry. A denied transaction, one PayPal has no such object
// for (404: a Payments v1 sale, a payment sent), a pending, declined or
// failed one, and one of another integration on the same PayPal account
// are not returned; neither are reversals, fees, holds or transfers.
//
// A window is at most 31 days, PayPal's limit: a longer one is listed 31
// days at a time, with MovedPage.More set and Next at the end of the part
// listed. The search lags up to TransactionSearchLag behind, and the
// listing is by transaction, not complete for the window, so the page is
// never Complete: keep the reconciler's Lookback above the lag. PayPal
// does not say which of a transaction's dates start_date and end_date
// filter on; if it is when the transaction began, a capture that
// completes (an eCheck) later than Lookback after it began is not listed
// again, and comes by its webhook only.
func (g *Gateway) ListMoved(ctx context.Context, q payments.MovedQuery) (*payments.MovedPage, error) {
	since := q.Since
	if q.Cursor != "" {
		t, err := time.Parse(time.RFC3339, q.Cursor)
		if err != nil {
			return nil, fmt.Errorf("paypal: reconciliation cursor %q is not an RFC 3339 time: %w", q.Cursor, payments.ErrInvalidInput)
		}
		since = t.Add(-q.Lookback)
	}
	// start_date and end_date take whole seconds; the next window starts
	// at this one's end, so no second falls between two windows.
	now := g.now().UTC().Truncate(time.Second)
	since = since.UTC().Truncate(time.Second)
	if oldest := now.Add(-searchHistory); since.Before(oldest) {
		since = oldest
	}
	until, more := now, false
	if until.Sub(since) > maxSearchRange {
		until, more = since.Add(maxSearchRange), true
	}
	page := &payments.MovedPage{Next: until.Format(time.RFC3339), More: more, From: since, Until: until}
	if !since.Before(until) {
		if q.Cursor != "" {
			page.Next = q.Cursor // a cursor ahead of this clock never moves back
		}
		return page, nil
	}
	l := lister{g: g, captures: map[string]*wireCapture{}, seen: map[string]bool{}}
	if err := l.search(ctx, since, until, searchPageSize(q.Limit), page); err != nil {
		return nil, err
	}
	return page, nil
}

func searchPageSize(limit int) int {
	switch {
	case limit <= 0:
		return defaultSearchPageSize
	case limit > maxSearchPageSize:
		return maxSearchPageSize
	}
	return limit
}

// lister reads one window; it remembers the captures it read, which
// several refunds may share, and the transactions it has read, which the
// search may list twice ("A transaction ID is not unique in the reporting
// system", the transaction_id parameter's description).
type lister struct {
	g        *Gateway
	captures map[string]*wireCapture
	seen     map[string]bool
}

// search reads every page of the window [since, until] and appends what
// moved to page.
func (l *lister) search(ctx context.Context, since, until time.Time, size int, page *payments.MovedPage) error {
	window := since.Format(time.RFC3339) + "/" + until.Format(time.RFC3339)
	for n := 1; ; n++ {
		if n > maxSearchPages {
			return fmt.Errorf("paypal: search transactions %s: more than %d pages; lower the reconciler's Lookback or reconcile more often",
				window, maxSearchPages)
		}
		v := url.Values{}
		v.Set("start_date", since.Format(time.RFC3339))
		v.Set("end_date", until.Format(time.RFC3339))
		// transaction_info is all the driver reads; fields=all would
		// add the payer's name, email and address, which nothing here
		// needs.
		v.Set("fields", "transaction_info")
		v.Set("page_size", strconv.Itoa(size))
		v.Set("page", strconv.Itoa(n))
		var sp searchPage
		if err := l.g.send(ctx, http.MethodGet, transactionsPath+"?"+v.Encode(), "", nil, &sp); err != nil {
			return wrapAPIError("search transactions", window, err)
		}
		for _, d := range sp.TransactionDetails {
			body, err := l.moved(ctx, d.TransactionInfo)
			if err != nil {
				return err
			}
			if body != nil {
				page.Records = append(page.Records, body)
			}
		}
		if n >= sp.TotalPages || len(sp.TransactionDetails) == 0 {
			return nil
		}
	}
}

// moved reads the object a listed transaction points at and returns it as
// a record when it moved money for this library; nil when it did not.
func (l *lister) moved(ctx context.Context, info transactionInfo) ([]byte, error) {
	id := info.TransactionID
	if !validID(id) || l.seen[id] || info.TransactionStatus == transactionDenied {
		return nil, nil
	}
	l.seen[id] = true
	rec := movedRecord{TransactionID: id, EventCode: info.EventCode}
	switch {
	case strings.HasPrefix(info.EventCode, tcodePaymentGroup):
		raw, err := l.g.getObject(ctx, "look up capture", "/v2/payments/captures/", id)
		if raw == nil || err != nil {
			return nil, err
		}
		var cp wireCapture
		if json.Unmarshal(raw, &cp) != nil || cp.ID != id {
			return nil, nil
		}
		l.captures[cp.ID] = &cp
		if !captureMoved(cp.Status) || !librarys(cp.CustomID) {
			return nil, nil
		}
		rec.ResourceType, rec.Resource = resourceCapture, raw
	case info.EventCode == tcodeMerchantRefund:
		raw, err := l.g.getObject(ctx, "look up refund", "/v2/payments/refunds/", id)
		if raw == nil || err != nil {
			return nil, err
		}
		var r wireRefund
		if json.Unmarshal(raw, &r) != nil || r.ID != id || r.Status != "COMPLETED" {
			return nil, nil
		}
		if ours, err := l.refundIsLibrarys(ctx, &r); !ours || err != nil {
			return nil, err
		}
		rec.ResourceType, rec.Resource = resourceRefund, raw
	default:
		// A reversal (T1106 and the rest of T11nn) is not read: GET
		// /v2/payments/refunds/{id} would answer it in a refund's shape,
		// and booked as a refund it would miss the chargeback key its
		// PAYMENT.CAPTURE.REVERSED records, and count twice.
		return nil, nil
	}
	return json.Marshal(rec)
}

// refundIsLibrarys reports whether a refund is of a payment of this
// library: its own custom_id says so (the driver's refunds carry the
// payment id), or the capture it refunds does (a refund made on PayPal's
// pages carries none).
func (l *lister) refundIsLibrarys(ctx context.Context, r *wireRefund) (bool, error) {
	if librarys(r.CustomID) {
		return true, nil
	}
	captureID := linkedID(r.Links, "/v2/payments/captures/")
	if captureID == "" {
		return false, nil
	}
	cp, ok := l.captures[captureID]
	if !ok {
		var err error
		if cp, err = l.g.lookupCapture(ctx, captureID); err != nil {
			return false, err
		}
		l.captures[captureID] = cp
	}
	return cp != nil && librarys(cp.CustomID), nil
}

// getObject reads a Payments v2 object as PayPal sent it; nil when PayPal
// has none of that id.
func (g *Gateway) getObject(ctx context.Context, op, prefix, id string) (json.RawMessage, error) {
	var raw json.RawMessage
	if err := g.send(ctx, http.MethodGet, prefix+id, "", nil, &raw); err != nil {
		if err = wrapAPIError(op, id, err); isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return raw, nil
}

// captureMoved reports whether a capture's status is one its money came
// in with: COMPLETED, or PARTIALLY_REFUNDED and REFUNDED, which a
// completed capture becomes when refunded
// (https://developer.paypal.com/docs/api/payments/v2/#captures_get,
// capture_status).
func captureMoved(status string) bool {
	return status == "COMPLETED" || status == "PARTIALLY_REFUNDED" || status == "REFUNDED"
}

// librarys reports whether a custom_id is one the webhook path books by:
// a payment id, or CustomIDAccountPrefix and an account.
func librarys(customID string) bool {
	paymentID, account := parseCustomID(customID)
	return paymentID != "" || account != ""
}

// ParseRecord implements payments.RecordParser: it translates a record
// ListMoved returned as the webhook of its movement is translated, by the
// same code (see ParseWebhook), under the same keys: a capture whose money
// came in as PAYMENT.CAPTURE.COMPLETED (a charge keyed by the capture id,
// linked to its order), a refund as PAYMENT.CAPTURE.REFUNDED (a refund
// keyed by the refund id; its capture, looked up, names the order and
// whether it is refunded in full). A capture whose money did not come in
// is reported with a note and nothing else. The record is authenticated by
// the API call that returned it and carries no signature. Entries are
// dated by the object's create_time, as the webhook's are. A record that
// is not one the driver can read is payments.ErrInvalidInput; a failed
// look-up of a refund's capture fails the record, as it fails the
// notification, and is not.
func (g *Gateway) ParseRecord(ctx context.Context, body []byte) (*payments.Changes, error) {
	var rec movedRecord
	if err := json.Unmarshal(body, &rec); err != nil {
		return nil, fmt.Errorf("paypal: decode record: %v: %w", err, payments.ErrInvalidInput)
	}
	var head struct {
		ID     string `json:"id"`
		Status string `json:"status"`
	}
	if err := decodeResource(rec.Resource, "listed "+rec.ResourceType, &head); err != nil {
		return nil, fmt.Errorf("paypal: record: %w", err)
	}
	if !validID(head.ID) {
		return nil, fmt.Errorf("paypal: record of a %s without a valid id: %w", rec.ResourceType, payments.ErrInvalidInput)
	}
	ev := event{ID: "list:" + head.ID, Resource: rec.Resource}
	switch rec.ResourceType {
	case resourceCapture:
		ev.EventType = EventCaptureCompleted
		if !captureMoved(head.Status) {
			return &payments.Changes{EventID: ev.ID, EventType: ev.EventType,
				Note: fmt.Sprintf("capture %s is %s; its money has not come in", head.ID, head.Status)}, nil
		}
	case resourceRefund:
		ev.EventType = EventCaptureRefunded
	default:
		return nil, fmt.Errorf("paypal: record of a %q, which the driver does not reconcile: %w", rec.ResourceType, payments.ErrInvalidInput)
	}
	return g.changesOf(ctx, &ev)
}
