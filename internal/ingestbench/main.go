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
// latency from its intended time. -concurrency takes a list too: a store
// that makes each write durable before answering is bound at low
// concurrency by how many requests wait out each sync together, so its peak
// is the highest rate over the levels, and each target's peak is what the
// ratios compare.
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
	concurrency []int // client counts of the peak runs
	runs        int
	rate        string
	maxInFlight int
	server      serverConfig
}

func main() {
	var cfg config
	flag.DurationVar(&cfg.duration, "duration", 3*time.Second, "length of one measured run")
	levels := flag.String("concurrency", "32", "concurrent clients of the peak runs; a comma-separated list measures each level, and each target's peak is its best")
	flag.IntVar(&cfg.runs, "runs", 3, "runs per target, interleaved; medians are reported")
	targets := flag.String("targets", "bare,memory,sqlite,postgres", "targets to measure")
	balanceSizes := flag.String("balance", "10000,1000000", "ledger sizes for the balance-read timing; empty skips it")
	flag.StringVar(&cfg.rate, "rate", "", "also send at a fixed rate: requests/s, or a percentage of each target's peak in this run (50%)")
	flag.IntVar(&cfg.maxInFlight, "inflight", 512, "most requests outstanding at a fixed rate")
	prefills := flag.String("prefill", "0", "journaled notifications and entries each store holds before the runs; a comma-separated list measures each size")
	flag.StringVar(&cfg.server.cache, "cache", filepath.Join(os.TempDir(), "ingestbench-cache"), "directory of prefilled SQLite files")
	flag.StringVar(&cfg.server.cpuProfile, "cpuprofile", "", "write a CPU profile of each target's server to this file, suffixed .TARGET")
	flag.StringVar(&cfg.server.trace, "trace", "", "write an execution trace of each target's server to this file, suffixed .TARGET (go tool trace; best with one short run)")
	serveName := flag.String("serve", "", "(internal) serve this target for a parent ingestbench")
	flag.Parse()
	ctx := context.Background()
	var err error
	cfg.prefills, err = parseSizes(*prefills)
	if err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench: -prefill:", err)
		os.Exit(2)
	}
	if cfg.concurrency, err = parseLevels(*levels); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench: -concurrency:", err)
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
	// byLevel holds each level's results by target key.
	byLevel := make([]map[string][]result, len(cfg.concurrency))
	for i := range byLevel {
		byLevel[i] = map[string][]result{}
	}
	for r := range cfg.runs {
		for i, clients := range cfg.concurrency {
			for _, t := range targets {
				res, err := load(ctx, t, cfg.duration, clients, r)
				if err != nil {
					return fmt.Errorf("%s, %d clients: %w", t.key(), clients, err)
				}
				byLevel[i][t.key()] = append(byLevel[i][t.key()], res)
			}
		}
	}
	var peaks map[string][]result
	if cfg.runs > 0 {
		for i, clients := range cfg.concurrency {
			fmt.Fprintf(out, "\nwebhook ingestion, as fast as %d clients send: %d runs of %s each, medians%s\n\n",
				clients, cfg.runs, cfg.duration, prefillNote(cfg.prefills))
			printTable(out, targets, byLevel[i], nil)
		}
		var best map[string]int
		peaks, best = bestLevels(targets, byLevel)
		if len(cfg.concurrency) > 1 {
			fmt.Fprintf(out, "\nwebhook ingestion at each target's peak, the best of %s clients%s\n\n",
				joinInts(cfg.concurrency), prefillNote(cfg.prefills))
			printPeaks(out, targets, peaks, best, cfg.concurrency)
		}
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

// parseLevels reads a comma-separated list of client counts, each at least
// 1, with none twice.
func parseLevels(list string) ([]int, error) { return parseCounts(list, 1, "clients") }

func joinInts(xs []int) string {
	s := make([]string, len(xs))
	for i, x := range xs {
		s[i] = strconv.Itoa(x)
	}
	return strings.Join(s, ", ")
}

// bestLevels picks, for each target, the level whose median rate is the
// highest, and returns that level's results by target key with the index
// of the level.
func bestLevels(targets []*target, byLevel []map[string][]result) (map[string][]result, map[string]int) {
	peaks, best := map[string][]result{}, map[string]int{}
	rate := func(rs []result) float64 { return median(rs, func(r result) float64 { return r.rps }) }
	for _, t := range targets {
		k := t.key()
		for i, level := range byLevel {
			if _, ok := peaks[k]; !ok || rate(level[k]) > rate(peaks[k]) {
				peaks[k], best[k] = level[k], i
			}
		}
	}
	return peaks, best
}

// printPeaks prints each target's peak with the level it was reached at,
// compared as printTable compares.
func printPeaks(out io.Writer, targets []*target, peaks map[string][]result, best map[string]int, levels []int) {
	sized := slices.ContainsFunc(targets, func(t *target) bool { return t.prefill > 0 }) &&
		slices.ContainsFunc(targets, func(t *target) bool { return t.prefill == 0 && t.name != "bare" })
	emptyHead, emptyRule := "", ""
	if sized {
		emptyHead, emptyRule = " vs empty |", "---:|"
	}
	fmt.Fprintf(out, "| target | clients | requests/s | vs bare | vs memory |%s p50 | p99 |\n|---|---:|---:|---:|---:|%s---:|---:|\n", emptyHead, emptyRule)
	rps := func(k string) float64 {
		if len(peaks[k]) == 0 {
			return 0
		}
		return median(peaks[k], func(r result) float64 { return r.rps })
	}
	for _, t := range targets {
		k := t.key()
		rs := peaks[k]
		vsMemory, vsEmpty := "-", ""
		if t.name != "bare" {
			vsMemory = ratio(rps(k), rps(keyOf("memory", t.prefill)))
		}
		if sized {
			vsEmpty = " - |"
			if t.name != "bare" {
				vsEmpty = " " + ratio(rps(k), rps(keyOf(t.name, 0))) + " |"
			}
		}
		label := t.label
		if t.prefill > 0 {
			label += fmt.Sprintf(", %d prefilled", t.prefill)
		}
		p50 := time.Duration(median(rs, func(r result) float64 { return float64(r.p50) }))
		p99 := time.Duration(median(rs, func(r result) float64 { return float64(r.p99) }))
		fmt.Fprintf(out, "| %s | %d | %.0f | %s | %s |%s %s | %s |\n", label, levels[best[k]], rps(k),
			ratio(rps(k), rps(keyOf("bare", 0))), vsMemory, vsEmpty, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	}
}

// parseSizes reads a comma-separated list of store sizes, each at least 0,
// with no size twice.
func parseSizes(list string) ([]int, error) { return parseCounts(list, 0, "rows") }

// parseCounts reads a comma-separated list of whole numbers of what, each
// at least least, with none twice.
func parseCounts(list string, least int, what string) ([]int, error) {
	var counts []int
	for _, f := range strings.Split(list, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < least {
			return nil, fmt.Errorf("%q is not a number of %s", f, what)
		}
		if slices.Contains(counts, n) {
			return nil, fmt.Errorf("%d is given twice", n)
		}
		counts = append(counts, n)
	}
	return counts, nil
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
