package main

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/gatewayenv"
)

// exitDifferences is reconcile's exit code when a pass reported a
// difference it cannot fix, so that a script run from cron can alert on it
// apart from a failure (1).
const exitDifferences = 5

// differencesError reports that reconcile found differences: nothing
// failed, but an operator must look.
type differencesError struct{ n int }

func (e *differencesError) Error() string {
	return fmt.Sprintf("%d difference(s) the reconciliation cannot fix; see the report", e.n)
}

// reconcile lists what moved at one gateway, or at every gateway the
// environment enables whose driver lists, and records what the ledger
// lacks, through the host's Service code (Service.Reconcile): the same
// keys, the same cursor in the store as the host's reconciler.
func (c *cli) reconcile(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var opts payments.Reconcile
	f.fs.DurationVar(&opts.Lookback, "lookback", payments.DefaultReconcileLookback,
		"how far before the saved cursor to list again, and how far back a gateway never reconciled is listed")
	f.fs.BoolVar(&opts.CheckUnlisted, "check-unlisted", false,
		"also report ledger entries the gateway does not list, where its listing is complete (reads every entry of the gateway)")
	pos, err := c.parseUpTo(cmd, f, args, 1)
	if err != nil {
		return err
	}
	if opts.Lookback <= 0 {
		return usagef("--lookback must be positive")
	}
	gateways, err := c.reconcilers(pos)
	if err != nil {
		return err
	}
	store, _, err := c.openStore(ctx, f.store, false)
	if err != nil {
		return err
	}
	defer store.Close()
	svc, err := payments.New(store, payments.WithGateway(gateways...), payments.WithReconcile(opts),
		payments.WithLogger(c.driverLog()))
	if err != nil {
		return err
	}
	var reports []*payments.ReconcileReport
	var failures []error
	for _, g := range gateways {
		rep, err := svc.Reconcile(ctx, g.Name())
		if rep != nil {
			reports = append(reports, rep)
		}
		if err != nil {
			failures = append(failures, err)
		}
	}
	if err := c.printReconcile(f.json, reports, failures); err != nil {
		return err
	}
	if err := errors.Join(failures...); err != nil {
		return err
	}
	if n := countDifferences(reports); n > 0 {
		return &differencesError{n}
	}
	return nil
}

// reconcilers are the drivers to reconcile: the one named, or every one
// the environment enables (and the cli's, in tests) that lists what moved.
// A named gateway that is not enabled, or enabled but no lister, is
// refused; so is an environment that enables none that lists.
func (c *cli) reconcilers(pos []string) ([]payments.Gateway, error) {
	if len(pos) == 1 {
		g, err := c.reconciler(pos[0])
		if err != nil {
			return nil, err
		}
		if _, ok := g.(payments.Reconciler); !ok {
			return nil, fmt.Errorf("the %s driver lists nothing to reconcile: %w", pos[0], payments.ErrNotSupported)
		}
		return []payments.Gateway{g}, nil
	}
	all := append([]payments.Gateway(nil), c.gateways...)
	enabled, err := gatewayenv.FromEnv(c.getenv, c.driverLog())
	if err != nil {
		return nil, usagef("configuring gateways from the environment: %v", err)
	}
	seen := map[string]bool{}
	for _, g := range all {
		seen[g.Name()] = true
	}
	for _, g := range enabled {
		if !seen[g.Name()] {
			all = append(all, g)
		}
	}
	var out []payments.Gateway
	for _, g := range all {
		if _, ok := g.(payments.Reconciler); ok {
			out = append(out, g)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("the environment enables no gateway whose driver lists what moved: run the command with the host app's environment (%s): %w",
			strings.Join(gatewayenv.EnabledVars(), ", "), payments.ErrNotSupported)
	}
	return out, nil
}

// reconciler is the driver of gateway name (namedGateway), which the
// operator named to reconcile.
func (c *cli) reconciler(name string) (payments.Gateway, error) {
	g, err := c.namedGateway(name)
	if err != nil || g != nil {
		return g, err
	}
	enable := gatewayenv.EnabledVar(name)
	if enable == "" {
		return nil, fmt.Errorf("this command builds no driver for gateway %q: %w", name, payments.ErrNotSupported)
	}
	return nil, fmt.Errorf("gateway %q is not enabled here: run the command with the host app's environment (%s=true and the gateway's other variables): %w",
		name, enable, payments.ErrNotSupported)
}

func countDifferences(reports []*payments.ReconcileReport) int {
	n := 0
	for _, r := range reports {
		n += len(r.Differences)
	}
	return n
}

// reconcileView is a ReconcileReport for --json.
type reconcileView struct {
	Gateway        string           `json:"gateway"`
	Cursor         string           `json:"cursor"`
	Next           string           `json:"next"`
	Listed         int              `json:"listed"`
	Recorded       int              `json:"recorded"`
	Duplicates     int              `json:"duplicates"`
	CursorInMemory bool             `json:"cursor_in_memory"`
	Differences    []differenceView `json:"differences"`
}

type differenceView struct {
	Kind           string     `json:"kind"`
	Gateway        string     `json:"gateway"`
	Entry          *entryView `json:"entry,omitempty"`
	Reported       *entryView `json:"reported,omitempty"`
	NotificationID string     `json:"notification_id,omitempty"`
	Detail         string     `json:"detail,omitempty"`
	At             time.Time  `json:"at"`
}

func newReconcileView(r *payments.ReconcileReport) reconcileView {
	v := reconcileView{Gateway: r.Gateway, Cursor: r.Cursor, Next: r.Next, Listed: r.Listed, Recorded: r.Recorded,
		Duplicates: r.Duplicates, CursorInMemory: r.CursorInMemory, Differences: []differenceView{}}
	for _, d := range r.Differences {
		dv := differenceView{Kind: string(d.Kind), Gateway: d.Gateway, NotificationID: d.NotificationID, Detail: d.Detail, At: d.At}
		if d.Entry != nil {
			e := newEntryView(*d.Entry)
			dv.Entry = &e
		}
		if d.Reported != nil {
			e := newEntryView(*d.Reported)
			dv.Reported = &e
		}
		v.Differences = append(v.Differences, dv)
	}
	return v
}

// printReconcile prints the reports, and the gateways that failed: a
// table of counts, then one row per difference.
func (c *cli) printReconcile(asJSON bool, reports []*payments.ReconcileReport, failures []error) error {
	if asJSON {
		views := make([]reconcileView, 0, len(reports))
		for _, r := range reports {
			views = append(views, newReconcileView(r))
		}
		errs := make([]string, 0, len(failures))
		for _, err := range failures {
			errs = append(errs, err.Error())
		}
		return writeJSON(c.stdout, map[string]any{"reports": views, "differences": countDifferences(reports), "errors": errs})
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "GATEWAY\tLISTED\tRECORDED\tDUPLICATES\tDIFFERENCES\tNEXT CURSOR\t")
	for _, r := range reports {
		next := r.Next
		if r.CursorInMemory {
			next += " (not saved: the store keeps no cursors)"
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\t%s\t\n", r.Gateway, r.Listed, r.Recorded, r.Duplicates, len(r.Differences), cell(next, 0))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if countDifferences(reports) == 0 {
		return nil
	}
	tw = newTable(c.stdout)
	fmt.Fprintln(tw, "\nGATEWAY\tKIND\tENTRY\tLEDGER\tGATEWAY SAYS\tNOTIFICATION\tDETAIL")
	for _, r := range reports {
		for _, d := range r.Differences {
			entry, ledger, reported := "-", "-", "-"
			if d.Entry != nil {
				entry, ledger = d.Entry.ID, d.Entry.Amount.String()
			}
			if d.Reported != nil {
				if entry == "-" {
					entry = d.Reported.ID
				}
				reported = d.Reported.Amount.String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", d.Gateway, d.Kind, cell(entry, 0), ledger, reported,
				cell(orDash(d.NotificationID), 0), cell(d.Detail, 120))
		}
	}
	return tw.Flush()
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
