package main

import (
	"context"
	"fmt"

	"github.com/payrail/payments"
)

// parked lists the money waiting for the host to say whose it is: parked
// rows no replay has resolved, which attribute credits.
func (c *cli) parked(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	q := journalQuery{filter: payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true}}
	f.fs.StringVar(&q.filter.Gateway, "gateway", "", "only this `gateway`'s notifications")
	q.page.add(f.fs)
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	return c.listJournal(ctx, f, q)
}

func (c *cli) attribute(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var a payments.Attribution
	f.fs.StringVar(&a.Account, "account", "", "the `account` to credit (required)")
	f.fs.StringVar(&a.Reference, "reference", "", "the host's `reference` for what was paid, when the notification carries none")
	pos, err := c.parse(cmd, f, args, 1)
	if err != nil {
		return err
	}
	if a.Account == "" {
		return usagef("--account is required")
	}
	return c.rerun(ctx, f, pos[0], func(svc *payments.Service) (*payments.WebhookResult, error) {
		return svc.Attribute(ctx, pos[0], a)
	}, a.Account)
}

func (c *cli) replay(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	pos, err := c.parse(cmd, f, args, 1)
	if err != nil {
		return err
	}
	return c.rerun(ctx, f, pos[0], func(svc *payments.Service) (*payments.WebhookResult, error) {
		return svc.Replay(ctx, pos[0])
	}, "")
}

// rerun runs a replay or an attribution of notification id and prints what it
// recorded, and the account's balances after it when account is set. It reads
// the notification first, so that the Service gets the one driver it needs
// and the operator learns which gateway is missing rather than "not
// supported".
func (c *cli) rerun(ctx context.Context, f *flags, id string, do func(*payments.Service) (*payments.WebhookResult, error), account string) error {
	store, _, err := c.openStore(ctx, f.store, false)
	if err != nil {
		return err
	}
	defer store.Close()
	n, err := store.Notification(ctx, id)
	if err != nil {
		return err
	}
	g, err := c.driver(id, n.Gateway)
	if err != nil {
		return err
	}
	svc, err := payments.New(store, payments.WithGateway(g))
	if err != nil {
		return err
	}
	res, err := do(svc)
	if err != nil {
		return err
	}
	var balances []payments.Balance
	if account != "" {
		if balances, err = svc.Balances(ctx, account); err != nil {
			return err
		}
	}
	return c.printResult(f.json, res, balances, account != "")
}

func (c *cli) printResult(asJSON bool, res *payments.WebhookResult, balances []payments.Balance, withBalances bool) error {
	rec := res.Recorded
	if rec == nil {
		rec = &payments.BatchResult{}
	}
	if asJSON {
		out := map[string]any{
			"outcome": res.Notification.Outcome, "notification": newNotificationView(&res.Notification),
			"entries": entryViews(rec.Entries), "duplicates": entryViews(rec.Duplicates),
		}
		if withBalances {
			out["balances"] = balanceViews(balances)
		}
		return writeJSON(c.stdout, out)
	}
	fmt.Fprintf(c.stdout, "%s: %s (journaled as %s)\n", res.Notification.ReplayOf, res.Notification.Outcome, res.Notification.ID)
	if d := res.Notification.Detail; d != "" {
		fmt.Fprintf(c.stdout, "detail: %s\n", cell(d, 0))
	}
	if len(rec.Entries)+len(rec.Duplicates) > 0 {
		tw := newTable(c.stdout)
		fmt.Fprintln(tw, "\nENTRY\tKIND\tACCOUNT\tAMOUNT\tPAYMENT\t")
		for _, group := range []struct {
			entries []payments.Entry
			note    string
		}{{rec.Entries, "recorded"}, {rec.Duplicates, "already recorded"}} {
			for _, e := range group.entries {
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", e.ID, e.Kind, cell(e.Account, 0), e.Amount, cell(e.PaymentID, 0), group.note)
			}
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if withBalances {
		fmt.Fprintln(c.stdout)
		return c.balanceTable(balances)
	}
	return nil
}
