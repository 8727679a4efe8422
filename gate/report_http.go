package gate

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Report limits: a range of dates, and rows per export page.
const (
	maxReportDays      = 366
	defaultReportDays  = 31
	defaultExportLimit = 1000
	maxExportLimit     = 10000
)

// DailyTotals returns a merchant's totals by UTC day, gateway, status and
// currency for payments initiated in [from, to), each amount also as a
// decimal string. It needs a RecordStore that is a ReportStore
// (payments.ErrNotSupported otherwise).
func (g *Gate) DailyTotals(ctx context.Context, merchantID string, from, to time.Time) ([]DailyTotal, error) {
	rs, ok := g.cfg.Records.(ReportStore)
	if !ok {
		return nil, fmt.Errorf("gate: the RecordStore does not report: %w", payments.ErrNotSupported)
	}
	totals, err := rs.DailyTotals(ctx, ReportQuery{Merchant: merchantID, From: from, To: to})
	if err != nil {
		return nil, err
	}
	for i := range totals {
		totals[i].Amount = payments.Money{Amount: totals[i].AmountMinor, Currency: payments.Currency(totals[i].Currency)}.Decimal()
	}
	return totals, nil
}

// Transaction is one payment of a merchant as the export lists it.
type Transaction struct {
	// ID is the merchant's id of the payment; PaymentID the gate's.
	ID        string    `json:"id"`
	PaymentID string    `json:"paymentId"`
	CreatedAt time.Time `json:"createdAt"`
	Gateway   string    `json:"gateway"`
	// Status is the last status posted to the merchant, or pending.
	Status        Status `json:"status"`
	Amount        string `json:"amount"`
	AmountMinor   int64  `json:"amountMinor"`
	Currency      string `json:"currency"`
	CustomerEmail string `json:"customerEmail"`
	CustomerName  string `json:"customerName"`
}

// Transactions returns a page of a merchant's payments initiated in
// [from, to), oldest first, after cursor ("" for the first page), and the
// cursor of the next page ("" after the last).
func (g *Gate) Transactions(ctx context.Context, merchantID string, from, to time.Time, cursor string, limit int) ([]Transaction, string, error) {
	rs, ok := g.cfg.Records.(ReportStore)
	if !ok {
		return nil, "", fmt.Errorf("gate: the RecordStore does not report: %w", payments.ErrNotSupported)
	}
	after, err := parseCursor(cursor)
	if err != nil {
		return nil, "", err
	}
	if limit <= 0 || limit > maxExportLimit {
		limit = defaultExportLimit
	}
	// One more than asked tells whether there is a next page.
	recs, err := rs.Transactions(ctx, TransactionQuery{Merchant: merchantID, From: from, To: to, After: after, Limit: limit + 1})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if len(recs) > limit {
		recs = recs[:limit]
		last := recs[limit-1]
		next = formatCursor(RecordKey{CreatedAt: last.CreatedAt, ID: last.ID})
	}
	out := make([]Transaction, len(recs))
	for i := range recs {
		r := &recs[i]
		minor, err := r.AmountMinor()
		if err != nil {
			return nil, "", err
		}
		out[i] = Transaction{ID: r.MerchantPaymentID, PaymentID: r.ID, CreatedAt: r.CreatedAt.UTC(), Gateway: r.Gateway,
			Status: ReportStatus(r), Amount: r.Request.Amount, AmountMinor: minor, Currency: r.Request.Currency,
			CustomerEmail: r.Request.CustomerEmail, CustomerName: r.Request.CustomerName}
	}
	return out, next, nil
}

// A cursor is the last listed record's key, opaque to the merchant:
// base64url of "<unix micros>.<gate id>".
func formatCursor(k RecordKey) string {
	return base64.RawURLEncoding.EncodeToString([]byte(strconv.FormatInt(k.CreatedAt.UnixMicro(), 10) + "." + k.ID))
}

func parseCursor(s string) (*RecordKey, error) {
	if s == "" {
		return nil, nil
	}
	bad := fieldError("cursor", "must be a cursor from a previous page's Next-Cursor")
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	micros, id, ok := strings.Cut(string(raw), ".")
	n, err := strconv.ParseInt(micros, 10, 64)
	if !ok || err != nil || !isGateID(id) {
		return nil, bad
	}
	return &RecordKey{CreatedAt: time.UnixMicro(n).UTC(), ID: id}, nil
}

// dateRange reads ?from= and ?to=, UTC dates, both included: by default
// the last 31 days to today.
func (g *Gate) dateRange(q url.Values) (from, to time.Time, ae *apiError) {
	today := g.now().UTC().Truncate(24 * time.Hour)
	to, from = today, today.AddDate(0, 0, 1-defaultReportDays)
	var err error
	if v := q.Get("to"); v != "" {
		if to, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, fieldError("to", "must be a date such as 2026-03-14")
		}
		from = to.AddDate(0, 0, 1-defaultReportDays)
	}
	if v := q.Get("from"); v != "" {
		if from, err = time.Parse(time.DateOnly, v); err != nil {
			return from, to, fieldError("from", "must be a date such as 2026-03-01")
		}
	}
	if to.Before(from) {
		return from, to, fieldError("to", "must not be before from")
	}
	if to.Sub(from) >= maxReportDays*24*time.Hour {
		return from, to, fieldError("to", fmt.Sprintf("a report spans at most %d days", maxReportDays))
	}
	return from, to.AddDate(0, 0, 1), nil
}

// reportError answers a report's failure: ErrNotSupported is 501.
func (g *Gate) reportError(w http.ResponseWriter, r *http.Request, err error) {
	if isNotSupported(err) {
		err = &apiError{status: http.StatusNotImplemented, Code: CodeNotSupported, Message: "this gate keeps no reports"}
	}
	g.writeError(w, r, err)
}

func isNotSupported(err error) bool { return errors.Is(err, payments.ErrNotSupported) }

// dailyReport is GET /api/v1/reports/daily: the authenticated merchant's
// totals, never another's.
func (g *Gate) dailyReport(w http.ResponseWriter, r *http.Request) {
	m, ok := g.authorize(w, r)
	if !ok {
		return
	}
	from, to, ae := g.dateRange(r.URL.Query())
	if ae != nil {
		g.writeError(w, r, ae)
		return
	}
	totals, err := g.DailyTotals(r.Context(), m.ID, from, to)
	if err != nil {
		g.reportError(w, r, err)
		return
	}
	if totals == nil {
		totals = []DailyTotal{}
	}
	writeJSON(w, http.StatusOK, struct {
		Status     string       `json:"status"`
		MerchantID string       `json:"merchantId"`
		From       string       `json:"from"`
		To         string       `json:"to"`
		Totals     []DailyTotal `json:"totals"`
	}{ResponseSuccess, m.ID, from.Format(time.DateOnly), to.AddDate(0, 0, -1).Format(time.DateOnly), totals})
}

type exportFormat int

const (
	exportCSV exportFormat = iota
	exportJSONL
)

// csvHeader names the CSV columns, the JSON names of Transaction.
var csvHeader = []string{"id", "paymentId", "createdAt", "gateway", "status", "amount", "amountMinor", "currency", "customerEmail", "customerName"}

// exportTransactions is GET /api/v1/transactions.csv and .jsonl: one page
// of the authenticated merchant's payments; the next page's cursor is in
// the Next-Cursor header and a Link rel="next".
func (g *Gate) exportTransactions(format exportFormat) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		m, ok := g.authorize(w, r)
		if !ok {
			return
		}
		q := r.URL.Query()
		from, to, ae := g.dateRange(q)
		if ae != nil {
			g.writeError(w, r, ae)
			return
		}
		limit := defaultExportLimit
		if v := q.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > maxExportLimit {
				g.writeError(w, r, fieldError("limit", fmt.Sprintf("must be a number from 1 to %d", maxExportLimit)))
				return
			}
			limit = n
		}
		txs, next, err := g.Transactions(r.Context(), m.ID, from, to, q.Get("cursor"), limit)
		if err != nil {
			g.reportError(w, r, err)
			return
		}
		h := w.Header()
		h.Set("Cache-Control", "no-store")
		if next != "" {
			nq := url.Values{}
			for k, v := range q {
				nq[k] = v
			}
			nq.Set("cursor", next)
			h.Set("Next-Cursor", next)
			h.Set("Link", "<"+g.apiLink(r.URL.Path, nq)+`>; rel="next"`)
		}
		bw := bufio.NewWriter(w)
		if format == exportCSV {
			h.Set("Content-Type", "text/csv; charset=utf-8")
			h.Set("Content-Disposition", `attachment; filename="transactions.csv"`)
			writeCSV(bw, txs)
		} else {
			h.Set("Content-Type", "application/jsonl; charset=utf-8")
			enc := json.NewEncoder(bw)
			for i := range txs {
				_ = enc.Encode(&txs[i])
			}
		}
		_ = bw.Flush()
	}
}

// apiLink is the gate's absolute URL of path (as routed, relative to
// BaseURL) with query q.
func (g *Gate) apiLink(path string, q url.Values) string {
	u := *g.base
	u.Path = strings.TrimSuffix(u.Path, "/") + path
	u.RawQuery = q.Encode()
	return u.String()
}

func writeCSV(w *bufio.Writer, txs []Transaction) {
	cw := csv.NewWriter(w)
	_ = cw.Write(csvHeader)
	for _, t := range txs {
		_ = cw.Write([]string{cell(t.ID), t.PaymentID, t.CreatedAt.Format(time.RFC3339Nano), t.Gateway, string(t.Status),
			t.Amount, strconv.FormatInt(t.AmountMinor, 10), t.Currency, cell(t.CustomerEmail), cell(t.CustomerName)})
	}
	cw.Flush()
}

// cell defuses a text a spreadsheet would run as a formula (OWASP "CSV
// injection"): the merchant's ids and the customer's name are free text
// that an admin opens in Excel.
func cell(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
