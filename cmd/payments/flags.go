package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
)

// flags are a command's flags with those every command shares: the store and
// --json.
type flags struct {
	fs    *flag.FlagSet
	store storeFlags
	json  bool
}

func (c *cli) newFlags(cmd *command) *flags {
	f := &flags{fs: flag.NewFlagSet("payments "+cmd.name, flag.ContinueOnError)}
	f.fs.StringVar(&f.store.sqlite, "sqlite", "", "the SQLite `file` (else SQLITE_PATH)")
	f.fs.StringVar(&f.store.postgres, "postgres", "", "the PostgreSQL `dsn` (else DATABASE_URL)")
	f.fs.StringVar(&f.store.prefix, "table-prefix", "", "the store's table `prefix`, when the host set one (default payments_)")
	f.fs.StringVar(&f.store.schema, "schema", "", "the PostgreSQL `schema`, when the host set one")
	f.fs.BoolVar(&f.json, "json", false, "print JSON for scripts instead of a table")
	return f
}

// parse parses args, flags and positional arguments in any order (flag
// stops at the first argument, and `attribute ID --account A` reads
// naturally), and checks that there are exactly want positional arguments.
func (c *cli) parse(cmd *command, f *flags, args []string, want int) ([]string, error) {
	positional, err := c.parseUpTo(cmd, f, args, len(args))
	switch {
	case err != nil:
		return nil, err
	case len(positional) == want:
		return positional, nil
	case want == 0:
		return nil, usagef("unexpected argument %q", positional[0])
	}
	return nil, usagef("want %d argument(s): payments %s %s", want, cmd.name, cmd.args)
}

// parseUpTo is parse for a command whose arguments are optional: it takes
// at most max of them.
func (c *cli) parseUpTo(cmd *command, f *flags, args []string, max int) ([]string, error) {
	f.fs.SetOutput(io.Discard) // the usage is printed below, to the right stream
	var positional []string
	for {
		if err := f.fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				c.printUsage(c.stdout, cmd, f.fs)
				return nil, errHelp
			}
			return nil, &usageError{err.Error()}
		}
		if f.fs.NArg() == 0 {
			break
		}
		if consumed := len(args) - f.fs.NArg(); consumed > 0 && args[consumed-1] == "--" {
			positional = append(positional, f.fs.Args()...) // "--" ends the flags
			break
		}
		positional = append(positional, f.fs.Arg(0))
		args = f.fs.Args()[1:]
	}
	if len(positional) > max {
		if max == 0 {
			return nil, usagef("unexpected argument %q", positional[0])
		}
		return nil, usagef("want at most %d argument(s): payments %s %s", max, cmd.name, cmd.args)
	}
	return positional, nil
}

func (c *cli) printUsage(w io.Writer, cmd *command, fs *flag.FlagSet) {
	fmt.Fprintf(w, "usage: payments %s %s\n\n%s.\n", cmd.name, cmd.args, cmd.summary)
	if cmd.detail != "" {
		fmt.Fprintf(w, "\n%s\n", cmd.detail)
	}
	fmt.Fprint(w, "\nflags:\n")
	fs.SetOutput(w)
	fs.PrintDefaults()
	fs.SetOutput(io.Discard)
}

// pageFlags are the cursor flags of a listing.
type pageFlags struct {
	after string
	limit int
}

// maxLimit caps --limit at what one page of a store holds by default.
const maxLimit = 1000

func (p *pageFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&p.after, "after", "", "start after this `cursor`, which the previous page printed")
	fs.IntVar(&p.limit, "limit", 100, "the most rows to print, 1 to 1000")
}

func (p *pageFlags) check() error {
	if p.limit < 1 || p.limit > maxLimit {
		return usagef("--limit must be from 1 to %d", maxLimit)
	}
	return nil
}

// timeFlag reads a time as RFC 3339, a date (midnight UTC), or an age before
// now ("36h", "7d"), which is what an operator has at hand.
type timeFlag struct {
	t   time.Time
	now func() time.Time
}

func (f *timeFlag) String() string {
	if f.t.IsZero() {
		return ""
	}
	return f.t.Format(time.RFC3339)
}

func (f *timeFlag) Set(s string) error {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		f.t = t
		return nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		f.t = t
		return nil
	}
	age, err := parseAge(s)
	if err != nil {
		return errors.New("want an RFC 3339 time, a date (2026-01-31) or an age (36h, 7d)")
	}
	f.t = f.now().Add(-age)
	return nil
}

// parseAge is time.ParseDuration with whole days ("7d") added.
func parseAge(s string) (time.Duration, error) {
	if days, ok := strings.CutSuffix(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 {
			return 0, errors.New("bad number of days")
		}
		return time.Duration(n) * 24 * time.Hour, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 {
		return 0, errors.New("bad duration")
	}
	return d, nil
}
