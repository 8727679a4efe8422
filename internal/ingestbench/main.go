// Command ingestbench measures end-to-end webhook ingestion: real HTTP on
// loopback, signed notifications, and for each store the whole path —
// verification, journal, entry, balance and outbox row in one durable
// transaction — beside a bare net/http handler that only reads the body and
// answers 200, all driven by the same load generator in the same run. Each
// target serves from a child process of its own, so that the server's CPU
// time per request is told apart from the load generator's.
//
//	go run ./internal/ingestbench                       # memory and SQLite
//	PAYMENTS_POSTGRES_DSN=postgres://... go run ./internal/ingestbench   # and PostgreSQL
//	go run ./internal/ingestbench -prefill 1000000 -rate 50%   # on a full ledger, and at half of each peak
//	go run ./internal/ingestbench -targets sqlite -prefill 0,10000000   # a full ledger beside an empty one
//
// -prefill N measures stores that already hold N journaled notifications
// and entries (built once by bulk SQL and kept, see prefill.go); a list of
// sizes measures each store at each size, side by side, with each rate
// as a share of the same store's empty-store rate; -rate
// sends requests at a fixed rate, at intended times, and measures each
// latency from its intended time.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

type config struct {
	prefills    []int // store sizes to measure each store at
	duration    time.Duration
	concurrency int
	runs        int
	rate        string
	maxInFlight int
	server      serverConfig
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "length of one measured run")
	flag.IntVar(&cfg.concurrency, "concurrency", 32, "concurrent clients of the peak runs")
	flag.IntVar(&cfg.runs, "runs", 3, "runs per target, interleaved; medians are reported")
	targets := flag.String("targets", "bare,memory,sqlite,postgres", "targets to measure")
	balanceSizes := flag.String("balance", "10000,1000000", "ledger sizes for the balance-read timing; empty skips it")
	flag.StringVar(&cfg.rate, "rate", "", "also send at a fixed rate: requests/s, or a percentage of each target's peak in this run (50%)")
	flag.IntVar(&cfg.maxInFlight, "inflight", 512, "most requests outstanding at a fixed rate")
	prefills := flag.String("prefill", "0", "journaled notifications and entries each store holds before the runs; a comma-separated list measures each size")
	flag.StringVar(&cfg.server.cache, "cache", filepath.Join(os.TempDir(), "ingestbench-cache"), "directory of prefilled SQLite files")
	flag.StringVar(&cfg.server.cpuProfile, "cpuprofile", "", "write a CPU profile of each target's server to this file, suffixed .TARGET")
	serveName := flag.String("serve", "", "(internal) serve this target for a parent ingestbench")
	flag.Parse()
	ctx := context.Background()
	var err error
	cfg.prefills, err = parseSizes(*prefills)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench: -prefill:", err)
		os.Exit(2)
	}
	if *serveName != "" {
		cfg.server.prefill = cfg.prefills[0]
		err = serve(ctx, *serveName, cfg.server)
	} else {
		err = run(ctx, os.Stdout, cfg, strings.Split(*targets, ","), *balanceSizes)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, cfg config, names []string, balanceSizes string) error {
	var targets []*target
	defer func() {
		for _, t := range targets {
			t.close()
		}
	}()
	for _, name := range names {
		for _, size := range cfg.prefills {
			if name == "bare" && size != cfg.prefills[0] {
				continue // nothing to prefill
			}
			server := cfg.server
			server.prefill = size
			t, err := newTarget(name, server)
			if err != nil {
				return err
			}
			if t == nil {
				fmt.Fprintf(out, "skipping %s: set PAYMENTS_POSTGRES_DSN to measure it\n", name)
				break
			}
			targets = append(targets, t)
		}
	}
	peaks := map[string][]result{}
	for r := range cfg.runs {
		for _, t := range targets {
			res, err := load(ctx, t, cfg.duration, cfg.concurrency, r)
			if err != nil {
				return fmt.Errorf("%s: %w", t.key(), err)
			}
			peaks[t.key()] = append(peaks[t.key()], res)
		}
	}
	if cfg.runs > 0 {
		fmt.Fprintf(out, "\nwebhook ingestion at peak: %d clients, %d runs of %s each, medians%s\n\n",
			cfg.concurrency, cfg.runs, cfg.duration, prefillNote(cfg.prefills))
		printTable(out, targets, peaks, nil)
	}
	if cfg.rate != "" {
		if err := runAtRate(ctx, out, cfg, targets, peaks); err != nil {
			return err
		}
	}
	if slices.Max(cfg.prefills) > 0 {
		if err := printBalanceReads(ctx, out, targets); err != nil {
			return err
		}
	}
	if balanceSizes == "" {
		return nil
	}
	return measureBalances(ctx, out, names, balanceSizes)
}

func prefillNote(sizes []int) string {
	switch {
	case len(sizes) > 1:
		return ", stores at each size"
	case sizes[0] == 0:
		return ", empty stores"
	}
	return fmt.Sprintf(", stores prefilled with %d notifications and entries", sizes[0])
}

// parseSizes reads a comma-separated list of store sizes, each at least 0,
// with no size twice.
func parseSizes(list string) ([]int, error) {
	var sizes []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 0 {
			return nil, fmt.Errorf("%q is not a number of rows", f)
		}
		if slices.Contains(sizes, n) {
			return nil, fmt.Errorf("%d is given twice", n)
		}
		sizes = append(sizes, n)
	}
	return sizes, nil
}

// runAtRate runs each target at the fixed rate cfg.rate names, or at that
// share of the target's median peak.
func runAtRate(ctx context.Context, out io.Writer, cfg config, targets []*target, peaks map[string][]result) error {
	rates := map[string]float64{}
	for _, t := range targets {
		if pct, ok := strings.CutSuffix(cfg.rate, "%"); ok {
			share, err := strconv.ParseFloat(pct, 64)
			if err != nil || len(peaks[t.key()]) == 0 {
				return fmt.Errorf("-rate %s: want a number of requests/s, or a percentage with -runs above 0", cfg.rate)
			}
			rates[t.key()] = share / 100 * median(peaks[t.key()], func(r result) float64 { return r.rps })
			continue
		}
		rate, err := strconv.ParseFloat(cfg.rate, 64)
		if err != nil || rate <= 0 {
			return fmt.Errorf("-rate %s: want a number of requests/s, or a percentage", cfg.rate)
		}
		rates[t.key()] = rate
	}
	fixed := map[string][]result{}
	for r := range max(cfg.runs, 1) {
		for _, t := range targets {
			res, err := loadAtRate(ctx, t, cfg.duration, rates[t.key()], cfg.maxInFlight, 1000+r)
			if err != nil {
				return fmt.Errorf("%s at %.0f/s: %w", t.key(), rates[t.key()], err)
			}
			fixed[t.key()] = append(fixed[t.key()], res)
		}
	}
	fmt.Fprintf(out, "\nwebhook ingestion at a fixed rate (%s), latency from each request's intended send time, %d runs of %s each, medians%s\n\n",
		cfg.rate, max(cfg.runs, 1), cfg.duration, prefillNote(cfg.prefills))
	printTable(out, targets, fixed, rates)
	return nil
}

// printTable prints medians per target, with the rate offered when rates
// is set. Each store's rate is compared with the bare handler's, with the
// memory store's at the same size, and, when several sizes are measured,
// with its own rate when empty.
func printTable(out io.Writer, targets []*target, results map[string][]result, rates map[string]float64) {
	offered, sized := "", false
	if rates != nil {
		offered = " offered/s |"
	}
	rps := map[string]float64{}
	for _, t := range targets {
		rps[t.key()] = median(results[t.key()], func(r result) float64 { return r.rps })
		sized = sized || t.prefill > 0
	}
	vsEmpty := ""
	if sized && slices.ContainsFunc(targets, func(t *target) bool { return t.prefill == 0 && t.name != "bare" }) {
		vsEmpty = " vs empty |"
	}
	sentCol := ""
	if rates != nil {
		sentCol = " p99 from send |"
	}
	fmt.Fprintf(out, "| target |%s requests/s | vs bare | vs memory |%s p50 | p99 |%s server CPU/req (sys) | load generator CPU/req | database CPU/req |\n", offered, vsEmpty, sentCol)
	fmt.Fprintf(out, "|---|%s---:|---:|---:|%s---:|---:|%s---:|---:|---:|\n", strings.Repeat("---:|", boolInt(rates != nil)),
		strings.Repeat("---:|", boolInt(vsEmpty != "")), strings.Repeat("---:|", boolInt(rates != nil)))
	for _, t := range targets {
		rs := results[t.key()]
		r := rps[t.key()]
		p50 := time.Duration(median(rs, func(r result) float64 { return float64(r.p50) }))
		p99 := time.Duration(median(rs, func(r result) float64 { return float64(r.p99) }))
		server := time.Duration(median(rs, func(r result) float64 { return float64(r.server.total()) }))
		sys := time.Duration(median(rs, func(r result) float64 { return float64(r.server.sys) }))
		client := time.Duration(median(rs, func(r result) float64 { return float64(r.client.total()) }))
		database := "-"
		if t.name == "postgres" {
			database = time.Duration(median(rs, func(r result) float64 { return float64(r.database.total()) })).Round(time.Microsecond).String()
		}
		if rates != nil {
			offered = fmt.Sprintf(" %.0f |", rates[t.key()])
		}
		empty := ""
		if vsEmpty != "" {
			empty = " " + ratio(r, rps[keyOf(t.name, 0)]) + " |"
		}
		sentP99 := ""
		if rates != nil {
			sentP99 = " " + time.Duration(median(rs, func(r result) float64 { return float64(r.sentP99) })).Round(time.Microsecond).String() + " |"
		}
		label := t.label
		if sized {
			label += fmt.Sprintf(", %d prefilled", t.prefill)
		}
		vsBare, vsMemory := ratio(r, rps[keyOf("bare", 0)]), "-"
		if t.name != "bare" {
			vsMemory = ratio(r, rps[keyOf("memory", t.prefill)])
		}
		fmt.Fprintf(out, "| %s |%s %.0f | %s | %s |%s %s | %s |%s %s (%s) | %s | %s |\n", label, offered, r, vsBare, vsMemory, empty,
			p50.Round(time.Microsecond), p99.Round(time.Microsecond), sentP99, server.Round(time.Microsecond), sys.Round(time.Microsecond),
			client.Round(time.Microsecond), database)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func ratio(x, of float64) string {
	if of == 0 {
		return "-"
	}
	return fmt.Sprintf("%.0f%%", 100*x/of)
}

// printBalanceReads times balance reads in each prefilled store.
func printBalanceReads(ctx context.Context, out io.Writer, targets []*target) error {
	fmt.Fprintf(out, "\nbalance read in the prefilled stores (median of 2000 reads)\n\n| store | entries | balance read |\n|---|---:|---:|\n")
	for _, t := range targets {
		if t.name == "bare" || t.prefill == 0 {
			continue
		}
		d, err := t.balanceRead(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", t.key(), err)
		}
		fmt.Fprintf(out, "| %s | %d+ | %s |\n", t.label, t.prefill, d.Round(100*time.Nanosecond))
	}
	return nil
}

func median[T any](xs []T, f func(T) float64) float64 {
	vs := make([]float64, len(xs))
	for i, x := range xs {
		vs[i] = f(x)
	}
	slices.Sort(vs)
	return vs[len(vs)/2]
}

// bareHandler is the baseline: the least a webhook endpoint can do.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.WriteHeader(http.StatusOK)
	})
}
