package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime/pprof"
	"runtime/trace"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
	"github.com/payrail/payments/webhook"
)

const secret = "whsec_bench"

// serverConfig is what a target's server process is started with.
type serverConfig struct {
	prefill    int    // journaled notifications and entries in the store before the runs
	cache      string // directory of prefilled SQLite files
	cpuProfile string // profile of the server, with the target's name appended
	trace      string // execution trace of the server, with the target's name appended
}

// target is one server under load, in a child process of its own, so that
// its CPU time is told apart from the load generator's.
type target struct {
	name, label string
	prefill     int // rows the store held before the runs
	url         string
	cmd         *exec.Cmd
	stdin       io.Closer
}

// key names the target among those of one run (see keyOf).
func (t *target) key() string { return keyOf(t.name, t.prefill) }

// keyOf names the target serving name over a store of prefill rows: the
// name, with the size when the store was prefilled.
func keyOf(name string, prefill int) string {
	if prefill == 0 {
		return name
	}
	return name + "@" + strconv.Itoa(prefill)
}

func (t *target) close() {
	_ = t.stdin.Close() // the server exits when its stdin ends
	_ = t.cmd.Wait()
}

// cpu is the server process's CPU time so far.
func (t *target) cpu() cpuTimes { return processCPU(t.cmd.Process.Pid) }

// balanceRead asks the server for the median time of a balance read.
func (t *target) balanceRead(ctx context.Context) (time.Duration, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(t.url, webhookPath)+balancePath, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("balance read: %s: %s", resp.Status, b)
	}
	ns, err := strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	return time.Duration(ns), err
}

const (
	webhookPath = "/fake-handleWebhookEvents"
	balancePath = "/_bench/balance"
)

// newTarget starts the server process for name and waits until it serves;
// nil when the target cannot be measured on this machine (PostgreSQL
// without a DSN).
func newTarget(name string, cfg serverConfig) (*target, error) {
	if name == "postgres" && os.Getenv("PAYMENTS_POSTGRES_DSN") == "" {
		return nil, nil
	}
	args := []string{"-serve", name, "-prefill", strconv.Itoa(cfg.prefill), "-cache", cfg.cache}
	if cfg.cpuProfile != "" {
		args = append(args, "-cpuprofile", cfg.cpuProfile+"."+keyOf(name, cfg.prefill))
	}
	if cfg.trace != "" {
		args = append(args, "-trace", cfg.trace+"."+keyOf(name, cfg.prefill))
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	t := &target{name: name, prefill: cfg.prefill, cmd: cmd, stdin: stdin}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil {
		t.close()
		return nil, fmt.Errorf("%s: server did not start: %w", name, err)
	}
	fields := strings.SplitN(strings.TrimSpace(line), " ", 3)
	if len(fields) != 3 || fields[0] != "ready" {
		t.close()
		return nil, fmt.Errorf("%s: server said %q", name, line)
	}
	t.url, t.label = fields[1]+webhookPath, fields[2]
	return t, nil
}

// serve is the server process: it opens the store, prefilled as cfg asks,
// serves webhooks on a loopback port it announces on stdout ("ready URL
// LABEL"), and exits when its stdin ends.
func serve(ctx context.Context, name string, cfg serverConfig) error {
	var handler http.Handler
	var label string
	switch name {
	case "bare":
		label, handler = "bare net/http handler", bareHandler()
	default:
		store, l, cleanup, err := openPrefilled(ctx, name, cfg)
		if err != nil {
			return err
		}
		defer cleanup()
		label = l
		svc, err := payments.New(store, payments.WithGateway(gatewaytest.NewFake(secret)))
		if err != nil {
			return err
		}
		mux := http.NewServeMux()
		webhook.Mount(mux, svc)
		mux.Handle(balancePath, balanceHandler(store))
		handler = mux
	}
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.trace != "" {
		f, err := os.Create(cfg.trace)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := trace.Start(f); err != nil {
			return err
		}
		defer trace.Stop()
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()
	fmt.Printf("ready http://%s %s\n", ln.Addr(), label)
	_, _ = io.Copy(io.Discard, os.Stdin)
	return nil
}

// balanceHandler answers the median of 2000 balance reads, in
// nanoseconds, of an account that holds a thousandth of the ledger.
func balanceHandler(store payments.Store) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reads := make([]time.Duration, 2000)
		for i := range reads {
			began := time.Now()
			_, err := store.Balance(r.Context(), "acct-7", "USD")
			reads[i] = time.Since(began)
			if err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
		}
		slices.Sort(reads)
		fmt.Fprintln(w, int64(reads[len(reads)/2]))
	})
}

// openStore opens a fresh, empty store of the named kind; nil when the
// target cannot be measured on this machine (PostgreSQL without a DSN).
func openStore(ctx context.Context, name string) (payments.Store, string, func(), error) {
	switch name {
	case "memory":
		s := memory.New()
		return s, "memory store", func() { _ = s.Close() }, nil
	case "sqlite":
		dir, err := os.MkdirTemp("", "ingestbench-")
		if err != nil {
			return nil, "", nil, err
		}
		s, err := sqlite.Open(ctx, dir+"/bench.db", sqlite.Options{})
		if err != nil {
			return nil, "", nil, err
		}
		return s, sqliteLabel, func() { _ = s.Close(); _ = os.RemoveAll(dir) }, nil
	case "postgres":
		dsn := os.Getenv("PAYMENTS_POSTGRES_DSN")
		if dsn == "" {
			return nil, "", nil, nil
		}
		schema := "bench_" + randomHex(6)
		s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			return nil, "", nil, err
		}
		drop := func() {
			_ = s.Close()
			if conn, err := pgx.Connect(ctx, dsn); err == nil {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				_ = conn.Close(ctx)
			}
		}
		return s, postgresLabel, drop, nil
	}
	return nil, "", nil, fmt.Errorf("unknown target %q", name)
}

const (
	sqliteLabel   = "SQLite (WAL fsynced before each ack)"
	postgresLabel = "PostgreSQL (synchronous_commit=on)"
)

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
