package main

import (
	"encoding/json"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"
	"unicode"

	"github.com/payrail/payments"
)

// The JSON views below are what --json prints. They are structs, not maps,
// so that keys come in a reading order, and money is an exact decimal string
// with its minor units beside it, never a float.

type entryView struct {
	ID               string    `json:"id"`
	RecordedAt       time.Time `json:"recorded_at"`
	OccurredAt       time.Time `json:"occurred_at"`
	Gateway          string    `json:"gateway"`
	Kind             string    `json:"kind"`
	GatewayRef       string    `json:"gateway_ref"`
	GatewayPaymentID string    `json:"gateway_payment_id"`
	PaymentID        string    `json:"payment_id"`
	Account          string    `json:"account"`
	Reference        string    `json:"reference"`
	Currency         string    `json:"currency"`
	AmountMinor      int64     `json:"amount_minor"`
	Amount           string    `json:"amount"`
	// The settlement, when the host converts entries (payments.Settlement);
	// empty otherwise, and SettledMinor is then 0.
	SettledCurrency string `json:"settled_currency"`
	SettledMinor    int64  `json:"settled_minor"`
	SettlementRate  string `json:"settlement_rate"`
}

func newEntryView(e payments.Entry) entryView {
	v := entryView{
		ID: e.ID, RecordedAt: e.RecordedAt, OccurredAt: e.OccurredAt, Gateway: e.Gateway, Kind: string(e.Kind),
		GatewayRef: e.GatewayRef, GatewayPaymentID: e.GatewayPaymentID, PaymentID: e.PaymentID,
		Account: e.Account, Reference: e.Reference, Currency: string(e.Amount.Currency),
		AmountMinor: e.Amount.Amount, Amount: e.Amount.Decimal(),
	}
	if s := e.Settlement; s != nil {
		v.SettledCurrency, v.SettledMinor, v.SettlementRate = string(s.Money.Currency), s.Money.Amount, s.Rate
	}
	return v
}

func entryViews(entries []payments.Entry) []entryView {
	out := make([]entryView, 0, len(entries))
	for _, e := range entries {
		out = append(out, newEntryView(e))
	}
	return out
}

type notificationView struct {
	ID         string    `json:"id"`
	Gateway    string    `json:"gateway"`
	ReceivedAt time.Time `json:"received_at"`
	Outcome    string    `json:"outcome"`
	Verified   bool      `json:"verified"`
	EventID    string    `json:"event_id"`
	EventType  string    `json:"event_type"`
	Detail     string    `json:"detail"`
	Source     string    `json:"source,omitempty"`
	ReplayOf   string    `json:"replay_of"`
	ResolvedBy string    `json:"resolved_by"`
}

func newNotificationView(n *payments.Notification) notificationView {
	return notificationView{
		ID: n.ID, Gateway: n.Gateway, ReceivedAt: n.ReceivedAt, Outcome: string(n.Outcome), Verified: n.Verified,
		EventID: n.EventID, EventType: n.EventType, Detail: n.Detail, Source: n.Source,
		ReplayOf: n.ReplayOf, ResolvedBy: n.ResolvedBy,
	}
}

func notificationViews(page []payments.Notification) []notificationView {
	out := make([]notificationView, 0, len(page))
	for i := range page {
		out = append(out, newNotificationView(&page[i]))
	}
	return out
}

type balanceView struct {
	Account         string    `json:"account"`
	Currency        string    `json:"currency"`
	AmountMinor     int64     `json:"amount_minor"`
	Amount          string    `json:"amount"`
	Entries         int64     `json:"entries"`
	SettledCurrency string    `json:"settled_currency"`
	SettledMinor    int64     `json:"settled_minor"`
	UpdatedAt       time.Time `json:"updated_at"`
}

func balanceViews(list []payments.Balance) []balanceView {
	out := make([]balanceView, 0, len(list))
	for _, b := range list {
		out = append(out, balanceView{
			Account: b.Account, Currency: string(b.Money.Currency), AmountMinor: b.Money.Amount,
			Amount: b.Money.Decimal(), Entries: b.Entries, SettledCurrency: string(b.Settled.Currency),
			SettledMinor: b.Settled.Amount, UpdatedAt: b.UpdatedAt,
		})
	}
	return out
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func newTable(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
}

// cell makes text safe for one table cell: control characters (a driver's
// error text may quote what anyone sent) become spaces, so that they can
// neither break the table nor drive the terminal, and long text is cut.
func cell(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return ' '
		}
		return r
	}, s)
	if max > 0 && len([]rune(s)) > max {
		s = string([]rune(s)[:max-1]) + "…"
	}
	if s == "" {
		return "-"
	}
	return s
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.UTC().Format(time.RFC3339)
}

// isTerminal reports whether w is a character device: a person watching,
// not a pipe or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
