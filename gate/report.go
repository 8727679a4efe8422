package gate

import (
	"context"
	"fmt"
	"sort"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate/internal/minorsum"
)

// Reports give a merchant's admins what the gate holds of their payments:
// totals by day, gateway, status and currency, and the payments themselves
// for export. A payment's status in a report is the last status the gate
// posted to the merchant (Record.Posted), or pending before any, so that a
// report never contradicts a postback; the ledger alone is the proof of
// payment. Amounts are what the merchant asked for, in minor units and as a
// decimal string, never a float.

// DailyTotal is the sum of one merchant's payments created on one UTC day
// at one gateway in one status and currency.
type DailyTotal struct {
	// Day is the UTC date the payments were initiated, "2006-01-02".
	Day string `json:"day"`
	// Gateway is empty for payments whose customer has not chosen one.
	Gateway  string `json:"gateway"`
	Status   Status `json:"status"`
	Currency string `json:"currency"`
	Count    int64  `json:"count"`
	// AmountMinor is the sum in the currency's minor units; Amount is the
	// same sum as a decimal string ("1050.00"), for people and
	// spreadsheets.
	AmountMinor int64  `json:"amountMinor"`
	Amount      string `json:"amount"`
}

// ReportQuery selects one merchant's records created in [From, To).
type ReportQuery struct {
	Merchant string
	From, To time.Time
}

// TransactionQuery pages through one merchant's records created in
// [From, To), oldest first, by (CreatedAt, ID); After, when not nil, is the
// last record of the previous page.
type TransactionQuery struct {
	Merchant string
	From, To time.Time
	After    *RecordKey
	Limit    int
}

// RecordKey is a record's position in the order transactions are listed.
type RecordKey struct {
	CreatedAt time.Time
	ID        string
}

// ReportStore is the optional power of a RecordStore to report; the
// gate's report and export routes answer 501 over a store without it. The
// memory, SQLite and PostgreSQL stores have it.
type ReportStore interface {
	// DailyTotals sums q.Merchant's records by UTC day of CreatedAt,
	// gateway, status (Posted, or pending) and currency, ordered by those.
	// Amount may be left empty: the gate formats it. A sum beyond int64
	// is payments.ErrInvalidInput, never a wrapped total.
	DailyTotals(ctx context.Context, q ReportQuery) ([]DailyTotal, error)
	// Transactions lists up to q.Limit of q.Merchant's records, ordered by
	// (CreatedAt, ID), after q.After.
	Transactions(ctx context.Context, q TransactionQuery) ([]Record, error)
}

// ReportStatus is the status a report shows for a record: what the
// merchant was last told, or pending.
func ReportStatus(r *Record) Status {
	if r.Posted == "" {
		return StatusPending
	}
	return r.Posted
}

// AmountMinor is the record's requested amount in minor units; stores keep
// it in a column so that reports sum integers.
func (r *Record) AmountMinor() (int64, error) {
	m, err := payments.ParseMoney(r.Request.Amount, r.Request.Currency)
	if err != nil {
		return 0, fmt.Errorf("gate: amount of record %s: %w", r.ID, err)
	}
	return m.Amount, nil
}

// Less reports whether key a comes before key b in the listing order.
func (a RecordKey) Less(b RecordKey) bool {
	if !a.CreatedAt.Equal(b.CreatedAt) {
		return a.CreatedAt.Before(b.CreatedAt)
	}
	return a.ID < b.ID
}

// DailyTotals implements ReportStore.
func (s *MemoryRecords) DailyTotals(_ context.Context, q ReportQuery) ([]DailyTotal, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type key struct{ day, gateway, status, currency string }
	sums := map[key]*DailyTotal{}
	// Exact sums, checked once complete: a total that passes beyond int64
	// on the way and comes back must not fail by the order of a map.
	exact := map[key]*minorsum.Sum{}
	for _, r := range s.records {
		if r.Merchant != q.Merchant || r.CreatedAt.Before(q.From) || !r.CreatedAt.Before(q.To) {
			continue
		}
		minor, err := r.AmountMinor()
		if err != nil {
			return nil, err
		}
		k := key{r.CreatedAt.UTC().Format(time.DateOnly), r.Gateway, string(ReportStatus(r)), r.Request.Currency}
		t, ok := sums[k]
		if !ok {
			t = &DailyTotal{Day: k.day, Gateway: k.gateway, Status: Status(k.status), Currency: k.currency}
			sums[k], exact[k] = t, &minorsum.Sum{}
		}
		t.Count++
		exact[k].Add(minor)
	}
	out := make([]DailyTotal, 0, len(sums))
	for k, t := range sums {
		var ok bool
		if t.AmountMinor, ok = exact[k].Total(); !ok {
			return nil, fmt.Errorf("gate: daily total of merchant %q in %s on %s overflows int64: %w",
				q.Merchant, k.currency, k.day, payments.ErrInvalidInput)
		}
		out = append(out, *t)
	}
	sortTotals(out)
	return out, nil
}

// sortTotals orders totals as ReportStore.DailyTotals returns them.
func sortTotals(ts []DailyTotal) {
	sort.Slice(ts, func(i, j int) bool {
		a, b := ts[i], ts[j]
		if a.Day != b.Day {
			return a.Day < b.Day
		}
		if a.Gateway != b.Gateway {
			return a.Gateway < b.Gateway
		}
		if a.Status != b.Status {
			return a.Status < b.Status
		}
		return a.Currency < b.Currency
	})
}

// Transactions implements ReportStore.
func (s *MemoryRecords) Transactions(_ context.Context, q TransactionQuery) ([]Record, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Record
	for _, r := range s.records {
		if r.Merchant != q.Merchant || r.CreatedAt.Before(q.From) || !r.CreatedAt.Before(q.To) {
			continue
		}
		if q.After != nil && !q.After.Less(RecordKey{r.CreatedAt, r.ID}) {
			continue
		}
		out = append(out, *r)
	}
	sort.Slice(out, func(i, j int) bool {
		return RecordKey{out[i].CreatedAt, out[i].ID}.Less(RecordKey{out[j].CreatedAt, out[j].ID})
	})
	if q.Limit > 0 && len(out) > q.Limit {
		out = out[:q.Limit]
	}
	return out, nil
}
