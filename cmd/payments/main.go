// Command payments is the operator's command for a payments ledger: it reads
// the journal of notifications, credits parked money, reconciles gateways,
// reads balances, exports the ledger, looks after the sync outbox, migrates
// the schema and prunes the journal, on the same store the host app uses.
//
//	payments journal --sqlite payments.db --outcome rejected --since 24h
//	payments attribute ntf_… --account user-42 --postgres "$DATABASE_URL"
//	(set -a; . ./host.env; payments replay ntf_…)   # the host's gateway variables
//	payments entries --format jsonl > ledger.jsonl   # store from DATABASE_URL
//	(set -a; . ./host.env; payments reconcile --json) || alert   # exit 5: differences
//
// The store is a SQLite file (--sqlite PATH, or SQLITE_PATH) or a PostgreSQL
// database (--postgres DSN, or DATABASE_URL, which wins over SQLITE_PATH as it
// does in examples/server). Only the migrate command changes the schema: every
// other command opens the store as it is, so that running one never migrates
// a database behind the host's back.
//
// Output is an aligned table for people; --json prints one JSON document
// (JSON lines for entries), for scripts. Exit codes:
//
//	0  done
//	1  failed: the store or the database could not do it
//	2  usage: a bad flag or argument, no store named, or (attribute,
//	   replay) gateway variables that do not configure the driver
//	3  not found: no notification, sync task or file with that id or path
//	4  refused: understood, but the ledger refuses it and nothing changed
//	   (another account's money, a task that is not parked, a notification
//	   that did not verify, a gateway the environment does not enable)
//	5  differences: reconcile ran, and reported differences between a
//	   gateway and the ledger that it cannot fix (an amount that differs,
//	   money it cannot attribute); what it could record it recorded
//
// attribute and replay have the notification's gateway driver verify and
// parse it again, with the host's secrets, so the command builds that driver
// from the variables the host app reads (examples/server: STRIPE_ENABLED,
// STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, …, GOOGLE_PLAY_ENABLED, …),
// through the same code (internal/gatewayenv): run it with the host's
// environment. It reads only the variables of the notification's gateway,
// so that another gateway's (a key file only the host's machine has) does
// not stop it. A notification whose gateway the environment does not
// enable is refused (exit 4), naming the *_ENABLED variable to set. The
// driver does what the host's does on a replay, calling its gateway's API
// with the host's keys where it must (Stripe listing a charge's refunds).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/payrail/payments"
)

// Exit codes, which scripts may branch on (see the package doc).
const (
	exitOK       = 0
	exitFailed   = 1
	exitUsage    = 2
	exitNotFound = 3
	exitRefused  = 4
	// exitDifferences (5, reconcile.go) is reconcile's: differences found.
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := newCLI(os.Stdout, os.Stderr, os.Getenv).run(ctx, os.Args[1:])
	stop()
	os.Exit(code)
}

// run is the whole command as main runs it, minus signal handling: what the
// tests call.
func run(args []string, stdout, stderr io.Writer) int {
	return newCLI(stdout, stderr, os.Getenv).run(context.Background(), args)
}

// cli is one invocation's surroundings, so that tests run it in-process.
type cli struct {
	stdout, stderr io.Writer
	getenv         func(string) string
	// gateways are drivers to use before the environment's (see driver):
	// main gives none, tests give the Fake.
	gateways []payments.Gateway
}

func newCLI(stdout, stderr io.Writer, getenv func(string) string) *cli {
	return &cli{stdout: stdout, stderr: stderr, getenv: getenv}
}

// command is one entry of the command table: `payments help` lists them in
// this order, and a two-word name ("journal show") is matched before its
// first word.
type command struct {
	name    string
	args    string // what follows the name in the usage line
	summary string
	// detail is the rest of `payments CMD -h`, before the flags.
	detail string
	run    func(c *cli, ctx context.Context, cmd *command, args []string) error
}

// commands is the command table.
var commands = []*command{
	{name: "journal", args: "[flags]", summary: "list journaled notifications, newest first", run: (*cli).journal,
		detail: "Pages with --after (the cursor the previous page printed) and --limit.\n" +
			"--since and --until take RFC 3339 times, dates (2026-01-31) or ages (36h, 7d)."},
	{name: "journal show", args: "[flags] ID", summary: "show one notification with its headers and raw body", run: (*cli).journalShow,
		detail: "The body is printed as received. Of a notification that did not verify the journal\n" +
			"keeps only a prefix; the command says so. On a terminal, control characters in\n" +
			"the body are escaped (\\x1b), so that an unverified body cannot drive the terminal."},
	{name: "parked", args: "[flags]", summary: "list parked money no one has attributed yet", run: (*cli).parked},
	{name: "attribute", args: "[flags] ID --account A", summary: "credit a parked notification's money to an account", run: (*cli).attribute,
		detail: "Needs the notification's gateway driver, which verifies and parses it again: it is\n" +
			"built from the host app's variables for that gateway (STRIPE_ENABLED, STRIPE_SECRET_KEY,\n" +
			"STRIPE_WEBHOOK_SECRET, …), so run this with the host's environment:\n" +
			"  (set -a; . ./host.env; payments attribute ntf_… --account user-42)\n" +
			"A gateway the environment does not enable is refused (exit 4) naming its *_ENABLED\n" +
			"variable. Attributing again to the same account records nothing twice; to another\n" +
			"account is refused (exit 4)."},
	{name: "replay", args: "[flags] ID", summary: "run a journaled notification through its driver and the ledger again", run: (*cli).replay,
		detail: "Needs the notification's gateway driver, built from the host's environment as\n" +
			"attribute's is (see 'payments attribute -h')."},
	{name: "reconcile", args: "[flags] [GATEWAY]", summary: "record what moved at a gateway without a webhook, and report differences", run: (*cli).reconcile,
		detail: "Lists what moved at GATEWAY, or at every gateway the environment enables whose driver\n" +
			"lists (Stripe, PayPal, Google Play, Cryptomus), since the cursor the host's reconciler keeps in\n" +
			"the store, and records what the ledger lacks under the keys its webhook would have used:\n" +
			"a webhook arriving later is a duplicate. Drivers are built from the host app's variables,\n" +
			"as attribute's are: run it with the host's environment. It moves the same cursor as the\n" +
			"host's reconciler; nothing is booked twice. Exit 0 when no difference was found, 5 when\n" +
			"some were (listed with their kind: amount_differs, unlisted, parked, rejected), 1 when a\n" +
			"gateway's API or the store failed (the cursor then stays where it was)."},
	{name: "balances", args: "--account A [flags]", summary: "show an account's balances", run: (*cli).balances,
		detail: "The library reads balances by account only, so --account is required."},
	{name: "entries", args: "[flags]", summary: "export the ledger as CSV or JSON lines, oldest first", run: (*cli).entries,
		detail: "Follows the cursor through every page. Progress goes to stderr when it is a\n" +
			"terminal, or with --progress. Amounts are exact: amount_minor in minor units,\n" +
			"amount as a decimal string in the currency's exponent."},
	{name: "sync", args: "[flags]", summary: "list outbox tasks (parked by default)", run: (*cli).syncTasks},
	{name: "sync requeue", args: "[flags] ENTRY_ID", summary: "make a parked sync task due again", run: (*cli).syncRequeue,
		detail: "The host's Service applies it on its next sync pass; a task that is not\n" +
			"parked is refused (exit 4)."},
	{name: "migrate", args: "[flags]", summary: "apply the store's migrations and report the schema version", run: (*cli).migrate,
		detail: "Creates the SQLite file when it does not exist. Safe while hosts run: the stores\n" +
			"serialize migrations across processes."},
	{name: "prune", args: "[flags]", summary: "delete journal rows past the default retention", run: (*cli).prune,
		detail: "The retention is the library's default: rejected rows after 30 days, ignored ones\n" +
			"after 90; every other row is kept, and parked money is never pruned."},
}

// run runs one invocation and returns its exit code.
func (c *cli) run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			if cmd, _ := lookup(args[1:]); cmd != nil {
				c.printUsage(c.stdout, cmd, c.newFlags(cmd).fs)
				return exitOK
			}
			fmt.Fprintf(c.stderr, "payments: unknown command %q\n", strings.Join(args[1:], " "))
			return exitUsage
		}
		if len(args) == 0 {
			c.help(c.stderr) // a mistake, not a request: stdout stays empty
			return exitUsage
		}
		c.help(c.stdout)
		return exitOK
	}
	cmd, rest := lookup(args)
	if cmd == nil {
		fmt.Fprintf(c.stderr, "payments: unknown command %q; run 'payments help'\n", args[0])
		return exitUsage
	}
	err := cmd.run(c, ctx, cmd, rest)
	code := exitCode(err)
	switch {
	case errors.Is(err, errHelp):
	case err != nil && code == exitUsage:
		fmt.Fprintf(c.stderr, "payments %s: %v\nrun 'payments %s -h' for usage\n", cmd.name, err, cmd.name)
	case err != nil:
		fmt.Fprintf(c.stderr, "payments %s: %v\n", cmd.name, err)
	}
	return code
}

// lookup finds the command args name, preferring a two-word name.
func lookup(args []string) (*command, []string) {
	if len(args) > 1 {
		for _, cmd := range commands {
			if cmd.name == args[0]+" "+args[1] {
				return cmd, args[2:]
			}
		}
	}
	for _, cmd := range commands {
		if cmd.name == args[0] {
			return cmd, args[1:]
		}
	}
	return nil, nil
}

func (c *cli) help(w io.Writer) {
	fmt.Fprint(w, "payments is the operator's command for a payments ledger.\n\nusage: payments COMMAND [flags] [args]\n\ncommands:\n")
	tw := newTable(w)
	for _, cmd := range commands {
		fmt.Fprintf(tw, "  %s\t%s\n", cmd.name, cmd.summary)
	}
	tw.Flush()
	fmt.Fprint(w, `
Every command takes the store as --sqlite PATH or --postgres DSN (else
DATABASE_URL, else SQLITE_PATH), and --json to print JSON for scripts.
attribute, replay and reconcile build gateway drivers from the host app's
variables (STRIPE_ENABLED, …): run them with the host's environment.
Run 'payments COMMAND -h' for a command's flags.

exit codes: 0 done, 1 failed, 2 usage, 3 not found, 4 refused (nothing changed),
5 reconcile found differences
`)
}

// errHelp reports that -h was asked for and the usage printed: exit 0.
var errHelp = errors.New("help requested")

// usageError is a mistake in the command line (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, a ...any) error { return &usageError{fmt.Sprintf(format, a...)} }

// exitCode maps an error to the exit code scripts branch on, by the
// library's sentinels, never by message text.
func exitCode(err error) int {
	var usage *usageError
	switch {
	case err == nil, errors.Is(err, errHelp):
		return exitOK
	case errors.As(err, new(*differencesError)):
		return exitDifferences
	case errors.As(err, &usage), errors.Is(err, payments.ErrInvalidInput):
		// ErrInvalidInput is what the library answers to input it cannot
		// read: a cursor it did not issue, a malformed reference.
		return exitUsage
	case errors.Is(err, payments.ErrNotFound), errors.Is(err, os.ErrNotExist):
		return exitNotFound
	case errors.Is(err, payments.ErrConflict), errors.Is(err, payments.ErrNotSupported),
		errors.Is(err, payments.ErrUnauthenticated), errors.Is(err, payments.ErrUnattributed),
		errors.Is(err, payments.ErrMismatch):
		return exitRefused
	default:
		return exitFailed
	}
}
