package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/payrail/payments"
)

var outcomes = []payments.Outcome{
	payments.OutcomeRecorded, payments.OutcomeDuplicate, payments.OutcomeIgnored,
	payments.OutcomeRejected, payments.OutcomeParked, payments.OutcomeFailed,
}

// journalQuery is what journal and parked list.
type journalQuery struct {
	filter       payments.NotificationFilter
	since, until timeFlag
	page         pageFlags
}

func (c *cli) journal(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	q := journalQuery{since: timeFlag{now: time.Now}, until: timeFlag{now: time.Now}}
	var outcome string
	f.fs.StringVar(&q.filter.Gateway, "gateway", "", "only this `gateway`'s notifications")
	f.fs.StringVar(&outcome, "outcome", "", "only this `outcome`: recorded, duplicate, ignored, rejected, parked or failed")
	f.fs.BoolVar(&q.filter.Unresolved, "unresolved", false, "only rows no replay has resolved")
	f.fs.Var(&q.since, "since", "only rows received at or after this `time`")
	f.fs.Var(&q.until, "until", "only rows received before this `time`")
	q.page.add(f.fs)
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	if outcome != "" && !slices.Contains(outcomes, payments.Outcome(outcome)) {
		return usagef("--outcome must be recorded, duplicate, ignored, rejected, parked or failed")
	}
	q.filter.Outcome = payments.Outcome(outcome)
	return c.listJournal(ctx, f, q)
}

func (c *cli) listJournal(ctx context.Context, f *flags, q journalQuery) error {
	if err := q.page.check(); err != nil {
		return err
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	page, next, err := readJournal(ctx, svc, q)
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, map[string]any{"notifications": notificationViews(page), "next": next})
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ID\tRECEIVED\tGATEWAY\tOUTCOME\tVERIFIED\tEVENT\tRESOLVED BY\tDETAIL")
	for _, n := range page {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%t\t%s\t%s\t%s\n", n.ID, when(n.ReceivedAt), cell(n.Gateway, 20), n.Outcome,
			n.Verified, cell(n.EventType, 32), cell(n.ResolvedBy, 0), cell(n.Detail, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		// To stderr, so that stdout stays the table a pipe reads.
		fmt.Fprintf(c.stderr, "more: --after %s\n", next)
	}
	return nil
}

// readJournal reads up to q.page.limit rows in [since, until). The Service's
// filter has no time bounds, so they are applied here: the journal comes
// newest first, so rows newer than until are skipped and the first row older
// than since ends the listing. Each page asks for no more rows than are still
// wanted, so the cursor returned is exactly after the last row printed.
func readJournal(ctx context.Context, svc *payments.Service, q journalQuery) ([]payments.Notification, string, error) {
	f := q.filter
	f.After = q.page.after
	var out []payments.Notification
	for {
		f.Limit = q.page.limit - len(out)
		page, next, err := svc.Notifications(ctx, f)
		if err != nil {
			return nil, "", err
		}
		for _, n := range page {
			if !q.since.t.IsZero() && n.ReceivedAt.Before(q.since.t) {
				return out, "", nil
			}
			if q.until.t.IsZero() || n.ReceivedAt.Before(q.until.t) {
				out = append(out, n)
			}
		}
		if next == "" || len(out) == q.page.limit {
			return out, next, nil
		}
		f.After = next
	}
}

func (c *cli) journalShow(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	pos, err := c.parse(cmd, f, args, 1)
	if err != nil {
		return err
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	n, err := svc.Notification(ctx, pos[0])
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, showView(n))
	}
	tw := newTable(c.stdout)
	v := newNotificationView(n)
	for _, row := range [][2]string{
		{"id", v.ID}, {"gateway", v.Gateway}, {"received", when(n.ReceivedAt)}, {"remote address", n.RemoteAddr},
		{"outcome", v.Outcome}, {"verified", strconv.FormatBool(v.Verified)}, {"source", v.Source},
		{"event", strings.TrimSpace(v.EventType + " " + v.EventID)}, {"replay of", v.ReplayOf}, {"resolved by", v.ResolvedBy},
		{"detail", v.Detail},
	} {
		fmt.Fprintf(tw, "%s:\t%s\n", row[0], cell(row[1], 0))
	}
	for _, name := range sortedKeys(n.Header) {
		for _, value := range n.Header[name] {
			fmt.Fprintf(tw, "header %s:\t%s\n", cell(name, 0), cell(value, 0))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if n.BodyLen > 0 {
		fmt.Fprintf(c.stdout, "body: the first %d of %d bytes (sha256 %s): the journal keeps only a prefix of what did not verify\n",
			len(n.Body), n.BodyLen, n.BodySHA256)
	} else {
		fmt.Fprintf(c.stdout, "body: %d bytes\n", len(n.Body))
	}
	fmt.Fprintln(c.stdout)
	return writeBody(c.stdout, n.Body)
}

// writeBody writes the body as it was received, except on a terminal: there
// control characters other than line breaks and tabs are escaped, because
// an unverified body is anyone's text and escape sequences could drive the
// operator's terminal.
func writeBody(w io.Writer, body []byte) error {
	if !isTerminal(w) {
		_, err := w.Write(body)
		return err
	}
	var out []byte
	for len(body) > 0 {
		r, size := utf8.DecodeRune(body)
		switch {
		case r == utf8.RuneError && size <= 1, r < 0x20 && r != '\n' && r != '\t', r == 0x7f, r >= 0x80 && r < 0xa0:
			out = fmt.Appendf(out, "\\x%02x", body[0])
			size = 1
		default:
			out = append(out, body[:size]...)
		}
		body = body[size:]
	}
	out = append(out, '\n')
	_, err := w.Write(out)
	return err
}

func sortedKeys(h http.Header) []string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// showDoc is one notification with everything the journal keeps: the
// headers the driver named and the body, as text when it is UTF-8, else
// base64. BodyLen and BodySHA256 are the whole body's when Truncated.
type showDoc struct {
	Notification notificationView `json:"notification"`
	RemoteAddr   string           `json:"remote_addr"`
	Header       http.Header      `json:"header"`
	Truncated    bool             `json:"truncated"`
	BodyLen      int64            `json:"body_len"`
	BodySHA256   string           `json:"body_sha256,omitempty"`
	Body         *string          `json:"body,omitempty"`
	BodyBase64   string           `json:"body_base64,omitempty"`
}

func showView(n *payments.Notification) showDoc {
	doc := showDoc{
		Notification: newNotificationView(n), RemoteAddr: n.RemoteAddr, Header: n.Header,
		Truncated: n.BodyLen > 0, BodyLen: int64(len(n.Body)), BodySHA256: n.BodySHA256,
	}
	if doc.Header == nil {
		doc.Header = http.Header{}
	}
	if doc.Truncated {
		doc.BodyLen = n.BodyLen
	}
	if utf8.Valid(n.Body) {
		body := string(n.Body)
		doc.Body = &body
	} else {
		doc.BodyBase64 = base64.StdEncoding.EncodeToString(n.Body)
	}
	return doc
}

// defaultRetention is the library's default JournalRetention, which the
// Service prunes by and which is unexported: the dry run counts by it.
// Keep it in step with JournalRetention's doc.
var defaultRetention = []struct {
	outcome payments.Outcome
	age     time.Duration
}{
	{payments.OutcomeRejected, 30 * 24 * time.Hour},
	{payments.OutcomeIgnored, 90 * 24 * time.Hour},
}

func (c *cli) prune(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var dryRun bool
	f.fs.BoolVar(&dryRun, "dry-run", false, "count what would be deleted, and delete nothing")
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	var n int
	if dryRun {
		n, err = countPrunable(ctx, svc, time.Now())
	} else {
		n, err = svc.PruneJournal(ctx)
	}
	if err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, map[string]any{"dry_run": dryRun, "rows": n})
	}
	verb := "deleted"
	if dryRun {
		verb = "would delete"
	}
	fmt.Fprintf(c.stdout, "%s %d journal rows (rejected older than 30 days, ignored older than 90)\n", verb, n)
	return nil
}

// countPrunable counts the rows PruneJournal would delete, reading every row
// of each pruned outcome: the journal comes newest first and has no time
// bound to ask for.
func countPrunable(ctx context.Context, svc *payments.Service, now time.Time) (int, error) {
	n := 0
	for _, r := range defaultRetention {
		before := now.Add(-r.age)
		f := payments.NotificationFilter{Outcome: r.outcome, Limit: payments.DefaultListLimit}
		for {
			page, next, err := svc.Notifications(ctx, f)
			if err != nil {
				return n, err
			}
			for _, row := range page {
				if row.ReceivedAt.Before(before) {
					n++
				}
			}
			if next == "" {
				break
			}
			f.After = next
		}
	}
	return n, nil
}
