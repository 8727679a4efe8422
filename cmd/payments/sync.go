package main

import (
	"context"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

type syncTaskView struct {
	Entry       entryView `json:"entry"`
	State       string    `json:"state"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"next_attempt"`
	LastError   string    `json:"last_error"`
}

func (c *cli) syncTasks(ctx context.Context, cmd *command, args []string) error {
	f := c.newFlags(cmd)
	var page pageFlags
	state := string(payments.SyncParked)
	f.fs.StringVar(&state, "state", state, "tasks in this `state`: parked, pending, done, or all")
	page.add(f.fs)
	if _, err := c.parse(cmd, f, args, 0); err != nil {
		return err
	}
	if err := page.check(); err != nil {
		return err
	}
	filter := payments.SyncFilter{State: payments.SyncState(state), Limit: page.limit, After: page.after}
	switch filter.State {
	case "all":
		filter.State = ""
	case payments.SyncParked, payments.SyncPending, payments.SyncDone:
	default:
		return usagef("--state must be parked, pending, done or all")
	}
	svc, done, err := c.open(ctx, f)
	if err != nil {
		return err
	}
	defer done()
	tasks, next, err := svc.SyncTasks(ctx, filter)
	if err != nil {
		return err
	}
	if f.json {
		views := make([]syncTaskView, 0, len(tasks))
		for _, t := range tasks {
			views = append(views, syncTaskView{Entry: newEntryView(t.Entry), State: string(t.State),
				Attempts: t.Attempts, NextAttempt: t.NextAttempt, LastError: t.LastError})
		}
		return writeJSON(c.stdout, map[string]any{"sync_tasks": views, "next": next})
	}
	tw := newTable(c.stdout)
	fmt.Fprintln(tw, "ENTRY\tSTATE\tATTEMPTS\tNEXT ATTEMPT\tACCOUNT\tAMOUNT\tLAST ERROR")
	for _, t := range tasks {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t%s\n", t.Entry.ID, t.State, t.Attempts, when(t.NextAttempt),
			cell(t.Entry.Account, 0), t.Entry.Amount, cell(t.LastError, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if next != "" {
		fmt.Fprintf(c.stderr, "more: --after %s\n", next)
	}
	return nil
}

func (c *cli) syncRequeue(ctx context.Context, cmd *command, args []string) error {
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
	if err := svc.RequeueSync(ctx, pos[0]); err != nil {
		return err
	}
	if f.json {
		return writeJSON(c.stdout, map[string]any{"entry": pos[0], "state": payments.SyncPending})
	}
	fmt.Fprintf(c.stdout, "%s is pending and due now: the host's Service applies it on its next sync pass\n", pos[0])
	return nil
}
