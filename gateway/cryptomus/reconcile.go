package cryptomus

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/payrail/payments"
)

// The payment history (https://doc.cryptomus.com/business/payments/payment-history):
// POST /v1/payment/list, signed with the payment key like every call, with
// date_from and date_to ("YYYY-MM-DD H:mm:ss", both optional) filtering
// invoices by their creation date. The answer's result is
// {"items":[…invoices…],"paginate":{"count","hasPages","nextCursor",
// "previousCursor","perPage"}}; the next page is asked for with
// ?cursor=<nextCursor> in the query, as the page documents. Cryptomus's own
// PHP SDK sends the cursor in the JSON body instead
// (https://github.com/CryptomusCom/api-php-sdk, src/Payment.php, history),
// so the driver sends it in both places: either reading finds it. Each item
// is an invoice as payment information returns it
// (https://doc.cryptomus.com/business/payments/payment-information): uuid,
// order_id, amount, currency, payment_amount, payer_currency, status,
// additional_data, created_at, updated_at, … The page size is Cryptomus's
// own (perPage, 15 in the documented samples); the call takes none.

// historyPath is the payment history endpoint.
const historyPath = "/v1/payment/list"

// historyTimeLayout is date_from and date_to's "YYYY-MM-DD H:mm:ss", as the
// documented example writes it ("2023-05-04 00:00:00").
const historyTimeLayout = "2006-01-02 15:04:05"

// historyZone is the clock the history's dates are written in. Cryptomus
// states none for date_from and date_to, but dates its invoices in UTC+3
// (created_at "2023-05-02T13:52:28+03:00"; the payout history says "The
// timezone is UTC+3", https://doc.cryptomus.com/business/payouts/payout-history),
// so the filter is taken to be on that clock. Were it UTC, a window would
// start three hours late, which the reconciler's lookback lists again, and
// end three hours late, which lists more, never less.
var historyZone = time.FixedZone("UTC+3", 3*60*60)

// maxHistoryPages bounds one listing: a window with more invoices than this
// many pages is an error that names the cure rather than a listing that
// never ends.
const maxHistoryPages = 1000

type historyRequest struct {
	DateFrom string `json:"date_from"`
	DateTo   string `json:"date_to"`
	Cursor   string `json:"cursor,omitempty"`
}

type historyPage struct {
	Items    []json.RawMessage `json:"items"`
	Paginate struct {
		NextCursor *string `json:"nextCursor"`
	} `json:"paginate"`
}

// ListMoved implements payments.Reconciler over the payment history: it
// lists the invoices created in the window from the cursor (a Unix time,
// less q.Lookback; q.Since without one) to now, reading every page, with
// Config.HistoryPageInterval between pages, and returns, each as
// Cryptomus's own JSON of the invoice, those whose status moved money:
// paid and paid_over (a charge) and refund_paid (a refund, and the charge
// it returns; see ParseRecord). q.Limit is not sent: Cryptomus fixes the
// page size.
//
// The history filters on when an invoice was created, not on when it was
// paid or refunded, and shows only an invoice's latest status: an invoice
// paid or refunded later than q.Lookback after its creation is not listed
// again, so raise the reconciler's Lookback to the longest a refund may
// take, and the page is never Complete. An invoice that was paid and is
// now refund_process (a refund asked for, not yet paid) is not listed
// either: its charge reaches the ledger by its webhook or by a later pass
// that finds it refund_paid.
func (g *Gateway) ListMoved(ctx context.Context, q payments.MovedQuery) (*payments.MovedPage, error) {
	since := q.Since
	if q.Cursor != "" {
		sec, err := strconv.ParseInt(q.Cursor, 10, 64)
		if err != nil || sec <= 0 {
			return nil, fmt.Errorf("cryptomus: reconciliation cursor %q is not a Unix time: %w", q.Cursor, payments.ErrInvalidInput)
		}
		since = time.Unix(sec, 0).Add(-q.Lookback)
	}
	// The filter has a resolution of seconds and date_to is inclusive (the
	// documented "23:59:59"): the window ends the second before a whole
	// second, which the next window starts at, so no second is skipped or
	// listed twice by the windows themselves.
	since = since.Truncate(time.Second)
	until := time.Now().Truncate(time.Second)
	page := &payments.MovedPage{Next: strconv.FormatInt(until.Unix(), 10), From: since, Until: until}
	if !since.Before(until) {
		return page, nil
	}
	req := historyRequest{
		DateFrom: since.In(historyZone).Format(historyTimeLayout),
		DateTo:   until.Add(-time.Second).In(historyZone).Format(historyTimeLayout),
	}
	seen := map[string]bool{}
	for n := 0; ; n++ {
		if n == maxHistoryPages {
			return nil, fmt.Errorf("cryptomus: payment history from %s to %s runs over %d pages; lower the reconciler's Lookback or reconcile more often",
				req.DateFrom, req.DateTo, maxHistoryPages)
		}
		if n > 0 {
			if err := g.pauseBetweenPages(ctx); err != nil {
				return nil, err
			}
		}
		path := historyPath
		if req.Cursor != "" {
			path += "?cursor=" + url.QueryEscape(req.Cursor)
		}
		var hp historyPage
		if err := g.call(ctx, "payment history", path, PaymentAPIKey, req, &hp); err != nil {
			return nil, err
		}
		for _, item := range hp.Items {
			if historyItemMoved(item) {
				page.Records = append(page.Records, item)
			}
		}
		next := deref(hp.Paginate.NextCursor)
		if next == "" || len(hp.Items) == 0 {
			return page, nil
		}
		if seen[next] {
			return nil, fmt.Errorf("cryptomus: payment history: cursor %q came back a second time", next)
		}
		seen[next] = true
		req.Cursor = next
	}
}

// pauseBetweenPages waits Config.HistoryPageInterval, or until ctx ends.
func (g *Gateway) pauseBetweenPages(ctx context.Context) error {
	if g.cfg.HistoryPageInterval <= 0 {
		return nil
	}
	t := time.NewTimer(g.cfg.HistoryPageInterval)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return fmt.Errorf("cryptomus: payment history: %w", ctx.Err())
	case <-t.C:
		return nil
	}
}

// historyItemMoved reports whether a listed invoice's status is one whose
// webhook records money.
func historyItemMoved(item json.RawMessage) bool {
	var inv struct {
		Status string `json:"status"`
	}
	if json.Unmarshal(item, &inv) != nil {
		return false
	}
	rule, ok := ruleFor(inv.Status)
	return ok && rule.entry != ""
}

// ParseRecord implements payments.RecordParser: it translates one invoice
// ListMoved returned as the webhook of its status is translated (see
// ParseWebhook), under the same keys — the charge and the refund both
// keyed by the invoice uuid — with the account and reference from
// additional_data, the library's payment id from order_id, and the
// overpayment policy and USD settlement applied alike. The record is
// authenticated by the signed API call that returned it, so it carries no
// sign and none is checked.
//
// A refund_paid invoice also yields the charge it refunds, as its paid (or,
// when the refund is above the invoice amount, paid_over) webhook would
// have recorded it: the history shows an invoice's latest status only, so
// a charge whose webhook was lost and whose invoice was refunded before a
// reconciliation would otherwise never be booked, and its refund would
// take from the account money it was never credited. Where the charge was
// recorded, it is a duplicate.
//
// A listed invoice is dated by updated_at (when it last changed status;
// the implied charge of a refund by created_at), where a webhook is dated
// by its arrival. What the history does not carry (a webhook's
// payment_amount_usd, merchant_amount) leaves the entry without Cryptomus's
// USD figure, which the Service then takes from its RateSource. A record
// that is not an invoice the driver can read is payments.ErrInvalidInput.
func (g *Gateway) ParseRecord(ctx context.Context, body []byte) (*payments.Changes, error) {
	doc, err := parseJSON(body)
	if err != nil || doc.kind != jsonObject {
		return nil, fmt.Errorf("cryptomus: listed invoice is not a JSON object: %w", payments.ErrInvalidInput)
	}
	n, err := readNotification(doc)
	if err != nil {
		return nil, err
	}
	if n.UUID == "" {
		return nil, fmt.Errorf("cryptomus: listed invoice without uuid: %w", payments.ErrInvalidInput)
	}
	updated, created := recordTime(doc, "updated_at"), recordTime(doc, "created_at")
	c, err := g.translate(n, updated)
	if err != nil {
		return nil, err
	}
	c.EventID = "list:" + c.EventID
	if n.Status != "refund_paid" || len(c.Entries) != 1 {
		return c, nil
	}
	charge, err := g.refundedCharge(n, -c.Entries[0].Amount.Amount, created)
	if err != nil {
		return nil, err
	}
	c.Entries = append([]payments.Entry{charge}, c.Entries...)
	return c, nil
}

// refundedCharge is the charge a refund_paid invoice returns, as the paid
// or paid_over webhook before it recorded it: refunded is the refund's
// amount, which is the charge's (see chargeAmount), and is above the
// invoice amount only where the customer overpaid and Config.Overpayment
// charged it.
func (g *Gateway) refundedCharge(n notification, refunded int64, at time.Time) (payments.Entry, error) {
	invoice, err := payments.ParseMoney(n.Amount, n.Currency)
	if err != nil {
		return payments.Entry{}, fmt.Errorf("cryptomus: listed invoice %s: %w", n.UUID, err)
	}
	n.Status = "paid"
	if refunded > invoice.Amount {
		n.Status = "paid_over"
	}
	c, err := g.translate(n, at)
	if err != nil {
		return payments.Entry{}, err
	}
	if len(c.Entries) != 1 || c.Entries[0].Amount.Amount != refunded {
		return payments.Entry{}, fmt.Errorf("cryptomus: listed invoice %s: the refund of %d does not match its charge: %w",
			n.UUID, refunded, payments.ErrInvalidInput)
	}
	return c.Entries[0], nil
}

// recordTime reads an RFC 3339 time of a listed invoice; the zero time
// when absent or unreadable, which the ledger dates at recording.
func recordTime(doc jsonValue, key string) time.Time {
	v, ok := doc.member(key)
	if !ok || v.kind != jsonString {
		return time.Time{}
	}
	t, err := time.Parse(time.RFC3339, v.text)
	if err != nil {
		return time.Time{}
	}
	return t
}
