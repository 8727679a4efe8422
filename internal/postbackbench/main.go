// Command postbackbench measures postback delivery: a Service with
// postbacks on, a Fake gateway's webhooks recorded into the store, and
// Service.Run delivering to a receiver on loopback that verifies every
// message with package postback, as a merchant's would.
//
// Two figures per store, medians of -runs runs, each on a fresh store:
//
//   - drain: -n messages queued before Run starts, delivered how fast
//     (messages/s from Run's start to the last one received);
//   - steady: messages queued at -rate per second for -duration while Run
//     delivers; how many per second arrived, and the latency from the
//     commit that queued each (its body's timestamp) to its receipt.
//
// Stores that are no payments.PostbackStore are skipped, saying so.
//
//	go run ./internal/postbackbench                       # memory and SQLite
//	PAYMENTS_POSTGRES_DSN=postgres://... go run ./internal/postbackbench   # and PostgreSQL
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/pprof"
	"slices"
	"strings"
	"time"
)

// config is one invocation's settings.
type config struct {
	n           int           // messages of the drain phase
	rate        int           // messages/s offered in the steady phase
	duration    time.Duration // length of the steady phase
	runs        int
	interval    time.Duration // PostbackOptions.Interval; 0 for the default
	batch       int           // PostbackOptions.BatchSize; 0 for the default
	concurrency int           // PostbackOptions.Concurrency; 0 for the default
}

func main() {
	var c config
	flag.IntVar(&c.n, "n", 20000, "messages queued before the drain phase")
	flag.IntVar(&c.rate, "rate", 1000, "messages per second offered in the steady phase; 0 skips it")
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of the steady phase")
	flag.IntVar(&c.runs, "runs", 3, "runs per store; medians are reported")
	flag.DurationVar(&c.interval, "interval", 0, "PostbackOptions.Interval (0: the library's default)")
	flag.IntVar(&c.batch, "batch", 0, "PostbackOptions.BatchSize (0: the library's default)")
	flag.IntVar(&c.concurrency, "concurrency", 0, "PostbackOptions.Concurrency (0: the library's default)")
	stores := flag.String("stores", "memory,sqlite,postgres", "stores to measure")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err == nil {
			err = pprof.StartCPUProfile(f)
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "postbackbench:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	if err := run(context.Background(), os.Stdout, c, strings.Split(*stores, ",")); err != nil {
		fmt.Fprintln(os.Stderr, "postbackbench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

func run(ctx context.Context, out io.Writer, c config, stores []string) error {
	fmt.Fprintf(out, "postback delivery: drain %d queued; steady %d msg/s for %s; interval %s, batch %d, concurrency %d (0: default); %d runs, medians\n\n",
		c.n, c.rate, c.duration, c.interval, c.batch, c.concurrency, c.runs)
	fmt.Fprintln(out, "| store | drain msg/s | steady: queued/s | delivered/s | p50 | p99 | max | CPU/msg | connections |")
	fmt.Fprintln(out, "|---|---:|---:|---:|---:|---:|---:|---:|---:|")
	for _, name := range stores {
		var results []result
		skipped := ""
		for r := range c.runs {
			res, skip, err := measure(ctx, name, c)
			if err != nil {
				return fmt.Errorf("%s run %d: %w", name, r+1, err)
			}
			if skip != "" {
				skipped = skip
				break
			}
			results = append(results, res)
		}
		if skipped != "" {
			fmt.Fprintf(out, "| %s | skipped: %s | | | | | | | |\n", name, skipped)
			continue
		}
		med := func(f func(result) float64) float64 { return median(results, f) }
		dur := func(f func(result) time.Duration) string {
			return time.Duration(med(func(r result) float64 { return float64(f(r)) })).Round(100 * time.Microsecond).String()
		}
		fmt.Fprintf(out, "| %s | %.0f | %.0f | %.0f | %s | %s | %s | %s | %.0f |\n", name,
			med(func(r result) float64 { return r.drainRate }), med(func(r result) float64 { return r.offeredRate }), med(func(r result) float64 { return r.steadyRate }),
			dur(func(r result) time.Duration { return r.p50 }), dur(func(r result) time.Duration { return r.p99 }),
			dur(func(r result) time.Duration { return r.max }), time.Duration(med(func(r result) float64 { return float64(r.cpuPerMsg) })).Round(time.Microsecond),
			med(func(r result) float64 { return float64(r.conns) }))
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
