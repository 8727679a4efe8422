package paypal_test

import (
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// The fake's Transaction Search (GET /v1/reporting/transactions), shaped as
// reporting_transactions_v1.json in paypal/paypal-rest-api-specifications
// describes it: start_date and end_date are required, in Internet
// date-time with seconds, at most 31 days apart; page_size is 1 to 500
// (default 100), page counts from 1; dates in the answer carry their
// offset without a colon, as PayPal writes them ("+0000"). It lists every
// capture and refund the fake made (T0006, T1107) and what a test adds
// (fees, reversals, payments of other integrations), by when they
// happened.

// fakeTransaction is one line of what the search lists.
type fakeTransaction struct {
	ID, Code string
	At       time.Time
	// Status and Amount are for lines that are no capture or refund of
	// the fake (a fee): captures and refunds show their own.
	Status string
	Amount payments.Money
}

// transactionTime dates a transaction the fake makes now: a second early,
// in whole seconds, so that a listing up to now, which the driver asks in
// whole seconds, finds it.
func transactionTime() time.Time { return time.Now().Truncate(time.Second).Add(-time.Second) }

// dateTimePattern is the spec's pattern for start_date and end_date.
var dateTimePattern = regexp.MustCompile(`^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])[T,t]([0-1][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)([.][0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$`)

const searchTimeLayout = "2006-01-02T15:04:05-0700"

func (f *fakeAPI) searchTransactions(q url.Values) (int, any) {
	f.searches = append(f.searches, q)
	if f.searchRefused {
		// What PayPal answers an app without the Transaction Search
		// permission.
		return f.refusal(http.StatusForbidden, "NOT_AUTHORIZED", "PERMISSION_DENIED")
	}
	bad := func(field string) (int, any) {
		return f.refusal(http.StatusBadRequest, "INVALID_REQUEST", "INVALID_PARAMETER_VALUE: "+field)
	}
	start, end := q.Get("start_date"), q.Get("end_date")
	if !dateTimePattern.MatchString(start) || !dateTimePattern.MatchString(end) {
		return bad("start_date/end_date")
	}
	from, _ := time.Parse(time.RFC3339, start)
	until, _ := time.Parse(time.RFC3339, end)
	if until.Before(from) || until.Sub(from) > 31*24*time.Hour {
		return bad("date range greater than 31 days")
	}
	size, page := 100, 1
	if s := q.Get("page_size"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return bad("page_size")
		}
		size = n
	}
	if s := q.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return bad("page")
		}
		page = n
	}
	var hits []fakeTransaction
	for _, tx := range f.ledger {
		if !tx.At.Before(from) && !tx.At.After(until) {
			hits = append(hits, tx)
		}
	}
	details := []any{}
	for i := (page - 1) * size; i < len(hits) && i < page*size; i++ {
		details = append(details, map[string]any{"transaction_info": f.transactionInfo(hits[i])})
	}
	pages := (len(hits) + size - 1) / size
	return http.StatusOK, map[string]any{
		"transaction_details": details, "account_number": "XZXSPECYZZSSJ",
		"start_date": from.UTC().Format(searchTimeLayout), "end_date": until.UTC().Format(searchTimeLayout),
		"last_refreshed_datetime": time.Now().UTC().Format(searchTimeLayout),
		"page":                    page, "total_items": len(hits), "total_pages": pages,
		"links": []any{map[string]any{"href": fakeHost + "/v1/reporting/transactions?page=" + strconv.Itoa(page), "rel": "self", "method": "GET"}},
	}
}

// captureTransactionStatus and refundTransactionStatus are the search's
// status codes (S, P, V, D) of each object status.
var (
	captureTransactionStatus = map[string]string{"COMPLETED": "S", "PARTIALLY_REFUNDED": "S", "REFUNDED": "V",
		"PENDING": "P", "DECLINED": "D", "FAILED": "D"}
	refundTransactionStatus = map[string]string{"COMPLETED": "S", "PENDING": "P", "FAILED": "D", "CANCELLED": "D"}
)

func (f *fakeAPI) transactionInfo(tx fakeTransaction) map[string]any {
	stamp := tx.At.UTC().Format(searchTimeLayout)
	info := map[string]any{"transaction_id": tx.ID, "transaction_event_code": tx.Code,
		"transaction_initiation_date": stamp, "transaction_updated_date": stamp,
		"transaction_status": tx.Status, "protection_eligibility": "01"}
	amount, negative := tx.Amount, false
	if c, ok := f.captures[tx.ID]; ok && tx.Code == "T0006" {
		info["transaction_status"], amount = captureTransactionStatus[c.Status], c.Amount
		info["custom_field"], info["invoice_id"] = c.CustomID, c.InvoiceID
		info["paypal_reference_id"], info["paypal_reference_id_type"] = c.OrderID, "ODR"
	} else if r, ok := f.refunds[tx.ID]; ok {
		info["transaction_status"], amount, negative = refundTransactionStatus[r.Status], r.Amount, true
		info["custom_field"], info["paypal_reference_id"], info["paypal_reference_id_type"] = r.CustomID, r.CaptureID, "TXN"
	}
	if amount.Currency != "" {
		m := money(amount)
		if negative {
			m["value"] = "-" + m["value"].(string)
		}
		info["transaction_amount"] = m
	}
	return info
}

// addTransaction has the search list tx.
func (f *fakeAPI) addTransaction(tx fakeTransaction) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if tx.At.IsZero() {
		tx.At = transactionTime()
	}
	f.ledger = append(f.ledger, tx)
}

// refuseSearch has the search answer 403, as PayPal does when the app
// lacks the Transaction Search permission.
func (f *fakeAPI) refuseSearch() {
	f.mu.Lock()
	f.searchRefused = true
	f.mu.Unlock()
}

// backdate moves everything the search lists d into the past.
func (f *fakeAPI) backdate(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := range f.ledger {
		f.ledger[i].At = f.ledger[i].At.Add(-d)
	}
}

func (f *fakeAPI) searchLog() []url.Values {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.searches)
}

// refundOnPayPal refunds amount of a capture as the merchant would on
// PayPal's pages: the refund carries no custom_id, and nothing is sent to
// the driver. It returns the refund as PAYMENT.CAPTURE.REFUNDED carries it.
func (f *fakeAPI) refundOnPayPal(t *testing.T, captureID string, amount payments.Money) map[string]any {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.captures[captureID]
	require.NotNil(t, c, captureID)
	status, answer := f.refund(c, map[string]any{"amount": money(amount)})
	require.Equal(t, http.StatusCreated, status, answer)
	return answer.(map[string]any)
}

// captureElsewhere has an order made outside the driver (custom_id as
// given) paid, and returns its capture id.
func (f *fakeAPI) captureElsewhere(t testing.TB, customID string, amount payments.Money) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	o := &fakeOrder{ID: f.id("8X"), Intent: "CAPTURE", Status: "COMPLETED", Amount: amount, CustomID: customID}
	f.orders[o.ID] = o
	return f.newCapture(o, "", amount).ID
}

// setCaptureStatus sets a capture's status, as PayPal moves it.
func (f *fakeAPI) setCaptureStatus(t *testing.T, id, status string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := f.captures[id]
	require.NotNil(t, c, id)
	c.Status = status
}

// addRefundObject stores a refund-shaped object of a capture with the
// status given, without a line in the search: PayPal answers a reversal
// in this shape at /v2/payments/refunds/{id}.
func (f *fakeAPI) addRefundObject(t *testing.T, captureID, status string, amount payments.Money) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	require.NotNil(t, f.captures[captureID], captureID)
	r := &fakeRefund{ID: f.id("9RA"), CaptureID: captureID, Status: status, Amount: amount}
	f.refunds[r.ID] = r
	return r.ID
}
