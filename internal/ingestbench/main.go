// Command ingestbench measures end-to-end webhook ingestion: real HTTP on
// loopback, signed notifications, and for each store the whole path —
// verification, journal, entry, balance and outbox row in one durable
// transaction — beside a bare net/http handler that only reads the body and
// answers 200, all driven by the same load generator in the same run. It
// also times balance reads as the ledger grows.
//
//	go run ./internal/ingestbench                       # memory and SQLite
//	PAYMENTS_POSTGRES_DSN=postgres://... go run ./internal/ingestbench   # and PostgreSQL
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "length of one measured run")
	concurrency := flag.Int("concurrency", 32, "concurrent clients")
	runs := flag.Int("runs", 3, "runs per target, interleaved; medians are reported")
	targets := flag.String("targets", "bare,memory,sqlite,postgres", "targets to measure")
	balanceSizes := flag.String("balance", "10000,1000000", "ledger sizes for the balance-read timing; empty skips it")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "ingestbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	ctx := context.Background()
	if err := run(ctx, os.Stdout, *duration, *concurrency, *runs, strings.Split(*targets, ","), *balanceSizes); err != nil {
		fmt.Fprintln(os.Stderr, "ingestbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, duration time.Duration, concurrency, runs int, names []string, balanceSizes string) error {
	var targets []*target
	for _, name := range names {
		t, err := newTarget(ctx, name)
		if err != nil {
			return err
		}
		if t == nil {
			fmt.Fprintf(out, "skipping %s: set PAYMENTS_POSTGRES_DSN to measure it\n", name)
			continue
		}
		defer t.close()
		targets = append(targets, t)
	}
	results := map[string][]result{}
	for r := range runs {
		for _, t := range targets {
			res, err := load(ctx, t, duration, concurrency, r)
			if err != nil {
				return fmt.Errorf("%s: %w", t.name, err)
			}
			results[t.name] = append(results[t.name], res)
		}
	}
	printIngest(out, targets, results, duration, concurrency, runs)
	if balanceSizes == "" {
		return nil
	}
	return measureBalances(ctx, out, names, balanceSizes)
}

func printIngest(out io.Writer, targets []*target, results map[string][]result, duration time.Duration, concurrency, runs int) {
	fmt.Fprintf(out, "\nwebhook ingestion: %d clients, %d runs of %s each, medians\n\n", concurrency, runs, duration)
	fmt.Fprintln(out, "| target | requests/s | vs bare | p50 | p99 |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|")
	var bare float64
	for _, t := range targets {
		rs := results[t.name]
		rps := median(rs, func(r result) float64 { return r.rps })
		if t.name == "bare" {
			bare = rps
		}
		ratio := "-"
		if bare > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*rps/bare)
		}
		p50 := time.Duration(median(rs, func(r result) float64 { return float64(r.p50) }))
		p99 := time.Duration(median(rs, func(r result) float64 { return float64(r.p99) }))
		fmt.Fprintf(out, "| %s | %.0f | %s | %s | %s |\n", t.label, rps, ratio, p50.Round(time.Microsecond), p99.Round(time.Microsecond))
	}
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
