package main

import (
	"bufio"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/payrail/payments"
)

func (c *cli) balances(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var account string
	f.fs.StringVar(&account, "account", "", "the `account` whose balances to show (required)")
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	if account == "" {
		// Service.Balances reads one account's; nothing lists every account.
		return usagef("--account is required: the library reads balances by account and cannot list them all")
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	list, err := svc.Balances(ctx, account)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, map[string]any{"balances": balanceViews(list)})
	}
	return c.balanceTable(list)
}

func (c *cli) balanceTable(list []payments.Balance) error {
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ACCOUNT\tCURRENCY\tAMOUNT\tENTRIES\tSETTLED\tUPDATED")
	for _, b := range list {
		settled := "-"
		if b.Settled.Currency != "" {
			settled = b.Settled.String()
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%s\t%s\n", cell(b.Account, 0), b.Money.Currency, b.Money.Decimal(),
			b.Entries, settled, when(b.UpdatedAt))
	}
	return tw.Flush()
}

// csvHeader is the CSV export's first line: entryView's JSON names, so that
// the two formats read alike.
var csvHeader = []string{
	"id", "recorded_at", "occurred_at", "gateway", "kind", "gateway_ref", "gateway_payment_id", "payment_id",
	"account", "reference", "currency", "amount_minor", "amount", "settled_currency", "settled_minor", "settlement_rate",
}

func csvRecord(v entryView) []string {
	return []string{
		v.ID, v.RecordedAt.Format(time.RFC3339Nano), v.OccurredAt.Format(time.RFC3339Nano), v.Gateway, v.Kind,
		v.GatewayRef, v.GatewayPaymentID, v.PaymentID, v.Account, v.Reference, v.Currency,
		strconv.FormatInt(v.AmountMinor, 10), v.Amount, v.SettledCurrency, strconv.FormatInt(v.SettledMinor, 10), v.SettlementRate,
	}
}

func (c *cli) entries(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var filter payments.EntryFilter
	var format string
	var progress bool
	f.fs.StringVar(&format, "format", "", "`csv` or jsonl (default csv; jsonl with --json)")
	f.fs.StringVar(&filter.Account, "account", "", "only this `account`'s entries")
	f.fs.StringVar(&filter.Gateway, "gateway", "", "only this `gateway`'s entries")
	f.fs.StringVar(&filter.PaymentID, "payment", "", "only this payment's entries (the library's `id`)")
	f.fs.BoolVar(&filter.Unsettled, "unsettled", false, "only entries whose conversion waits for a rate")
	f.fs.BoolVar(&progress, "progress", false, "report progress on stderr even when it is not a terminal")
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	if format == "" {
		format = "csv"
		if f.json {
			format = "jsonl"
		}
	}
	if format != "csv" && format != "jsonl" {
		return usagef("--format must be csv or jsonl")
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	out := bufio.NewWriter(c.stdout)
	write := jsonlWriter(out)
	if format == "csv" {
		write = csvWriter(out)
	}
	n, err := exportEntries(ctx, svc, filter, write, c.progress(progress))
	if ferr := out.Flush(); err == nil {
		err = ferr
	}
	if err != nil {
		return fmt.Errorf("after %d entries: %w", n, err)
	}
	return nil
}

// exportEntries follows the cursor through every page, writing each entry
// (nil entries once the last page is written), and reports after each page.
func exportEntries(ctx context.Context, svc *payments.Service, f payments.EntryFilter,
	write func([]payments.Entry) error, report func(n int, last bool)) (int, error) {
	f.Limit = payments.DefaultListLimit
	n := 0
	for {
		page, next, err := svc.Entries(ctx, f)
		if err != nil {
			return n, err
		}
		if err := write(page); err != nil {
			return n, err
		}
		n += len(page)
		report(n, next == "")
		if next == "" {
			return n, write(nil)
		}
		f.After = next
	}
}

// progress returns the export's progress report: one line rewritten in place
// on a terminal, a line per page otherwise (with --progress), nothing for a
// script that did not ask.
func (c *cli) progress(forced bool) func(n int, last bool) {
	term := isTerminal(c.stderr)
	if !term && !forced {
		return func(int, bool) {}
	}
	return func(n int, last bool) {
		switch {
		case term && last:
			fmt.Fprintf(c.stderr, "\rexported %d entries\n", n)
		case term:
			fmt.Fprintf(c.stderr, "\rexported %d entries…", n)
		default:
			fmt.Fprintf(c.stderr, "exported %d entries\n", n)
		}
	}
}

func jsonlWriter(w io.Writer) func([]payments.Entry) error {
	enc := json.NewEncoder(w) // one compact object a line
	return func(page []payments.Entry) error {
		for _, e := range page {
			if err := enc.Encode(newEntryView(e)); err != nil {
				return err
			}
		}
		return nil
	}
}

// csvWriter writes the header first and flushes after each page, so that an
// error on the way is seen where it happens.
func csvWriter(w io.Writer) func([]payments.Entry) error {
	cw := csv.NewWriter(w)
	header := false
	return func(page []payments.Entry) error {
		if !header {
			header = true
			if err := cw.Write(csvHeader); err != nil {
				return err
			}
		}
		for _, e := range page {
			if err := cw.Write(csvRecord(newEntryView(e))); err != nil {
				return err
			}
		}
		cw.Flush()
		return cw.Error()
	}
}
