package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/postback"
	"github.com/payrail/payments/store/memory"
	"github.com/payrail/payments/store/postgres"
	"github.com/payrail/payments/store/sqlite"
)

// result is one run's figures.
type result struct {
	drainRate, steadyRate float64
	offeredRate           float64 // the steady phase's commits per second, as achieved
	p50, p99, max         time.Duration
	conns                 int64 // connections the receiver accepted
	// cpuPerMsg is the process's CPU time (sender and receiver) per
	// drained message: unlike the rates, it does not depend on what else
	// the machine runs.
	cpuPerMsg time.Duration
}

func cpuTime() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// receiver is the merchant: it verifies each message, and notes when it
// arrived against the commit that queued it.
type receiver struct {
	verifier *postback.Verifier
	mu       sync.Mutex
	seen     map[string]bool
	latency  []time.Duration
	first    time.Time
	last     time.Time
	bad      int
	want     int
	done     chan struct{}
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	body, _ := io.ReadAll(req.Body)
	id, err := r.verifier.Verify(body, req.Header)
	var m *postback.Message
	if err == nil {
		m, err = postback.Decode(body)
	}
	now := time.Now()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.bad++
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	if !r.seen[id] {
		r.seen[id] = true
		r.latency = append(r.latency, now.Sub(m.Timestamp))
		if r.first.IsZero() {
			r.first = now
		}
		r.last = now
		if len(r.seen) == r.want {
			close(r.done)
		}
	}
	w.WriteHeader(http.StatusNoContent)
}

// expect resets the receiver for a phase of n messages.
func (r *receiver) expect(n int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.seen, r.latency, r.want, r.done = map[string]bool{}, nil, n, make(chan struct{})
	r.first, r.last = time.Time{}, time.Time{}
}

func (r *receiver) wait(timeout time.Duration) error {
	select {
	case <-r.done:
		return nil
	case <-time.After(timeout):
		r.mu.Lock()
		defer r.mu.Unlock()
		return fmt.Errorf("%d of %d messages arrived in %s (%d refused)", len(r.seen), r.want, timeout, r.bad)
	}
}

var loopback = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}

// measure runs both phases on a fresh store; skip says why it could not.
func measure(ctx context.Context, name string, c config) (res result, skip string, err error) {
	store, cleanup, skip, err := openStore(ctx, name)
	if err != nil || skip != "" {
		return res, skip, err
	}
	defer cleanup()
	if _, ok := store.(payments.PostbackStore); !ok {
		return res, "keeps no postbacks (no payments.PostbackStore)", nil
	}
	fake := gatewaytest.NewFake("whsec_gateway")
	svc, err := payments.New(store, payments.WithGateway(fake), payments.WithPostbacks(payments.PostbackOptions{
		Allow: loopback, Interval: c.interval, BatchSize: c.batch, Concurrency: c.concurrency}))
	if err != nil {
		return res, "", err
	}
	rcv := &receiver{}
	srv := httptest.NewUnstartedServer(rcv)
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	defer func() { res.conns = conns.Load() }()
	ep, err := svc.AddEndpoint(ctx, payments.Endpoint{URL: srv.URL + "/postbacks", Events: []payments.EventType{payments.EventEntryRecorded}})
	if err != nil {
		return res, "", err
	}
	if rcv.verifier, err = postback.NewVerifier(ep.Secrets...); err != nil {
		return res, "", err
	}

	// Drain: a backlog, then Run.
	rcv.expect(c.n)
	var seq atomic.Int64
	enqueue := func() error {
		n := seq.Add(1)
		id := strconv.FormatInt(n, 10)
		_, err := svc.HandleWebhook(ctx, "fake", fake.Request(gatewaytest.Event{ID: "evt_" + id, Type: "payment.succeeded",
			PaymentID: "pi_" + id, Account: "acct_" + strconv.FormatInt(n%100, 10), Amount: "10.00", Currency: "USD"}, time.Now()))
		return err
	}
	for range c.n {
		if err := enqueue(); err != nil {
			return res, "", err
		}
	}
	runCtx, stop := context.WithCancel(ctx)
	defer stop()
	start, cpu := time.Now(), cpuTime()
	go func() { _ = svc.Run(runCtx) }()
	if err := rcv.wait(time.Minute + time.Duration(c.n)*time.Millisecond); err != nil {
		return res, "", fmt.Errorf("drain: %w", err)
	}
	res.drainRate = float64(c.n) / rcv.last.Sub(start).Seconds()
	res.cpuPerMsg = (cpuTime() - cpu) / time.Duration(c.n)

	// Steady: an offered rate while Run delivers.
	if c.rate <= 0 {
		return res, "", nil
	}
	total := int(float64(c.rate) * c.duration.Seconds())
	rcv.expect(total)
	if start, err = offer(c.rate, total, enqueue); err != nil {
		return res, "", err
	}
	res.offeredRate = float64(total) / time.Since(start).Seconds()
	if err := rcv.wait(time.Minute); err != nil {
		return res, "", fmt.Errorf("steady: %w", err)
	}
	rcv.mu.Lock()
	defer rcv.mu.Unlock()
	// From the first receipt to the last: Run delivers in passes, so the
	// first and last messages wait up to an Interval, which a rate from
	// the first commit would count against a store that keeps up.
	res.steadyRate = float64(total-1) / rcv.last.Sub(rcv.first).Seconds()
	slices.Sort(rcv.latency)
	res.p50 = rcv.latency[len(rcv.latency)/2]
	res.p99 = rcv.latency[len(rcv.latency)*99/100]
	res.max = rcv.latency[len(rcv.latency)-1]
	return res, "", nil
}

// offer calls enqueue total times at rate per second, from producers
// enough that a store's commit latency does not cap the rate, as webhooks
// arrive concurrently.
func offer(rate, total int, enqueue func() error) (start time.Time, err error) {
	work := make(chan struct{})
	errs := make(chan error, producers)
	var wg sync.WaitGroup
	for range producers {
		wg.Go(func() {
			for range work {
				if err := enqueue(); err != nil {
					errs <- err
					for range work {
					}
					return
				}
			}
		})
	}
	start = time.Now()
	tick := time.NewTicker(time.Millisecond)
	for issued := 0; issued < total; {
		<-tick.C
		for due := min(total, int(time.Since(start).Seconds()*float64(rate))); issued < due; issued++ {
			work <- struct{}{}
		}
	}
	tick.Stop()
	close(work)
	wg.Wait()
	select {
	case err = <-errs:
	default:
	}
	return start, err
}

// producers is how many webhooks are in flight at once in the steady phase.
const producers = 16

// openStore opens a fresh, empty store of the named kind; skip says why
// it cannot be measured on this machine.
func openStore(ctx context.Context, name string) (s payments.Store, cleanup func(), skip string, err error) {
	switch name {
	case "memory":
		s := memory.New()
		return s, func() { _ = s.Close() }, "", nil
	case "sqlite":
		dir, err := os.MkdirTemp("", "postbackbench-")
		if err != nil {
			return nil, nil, "", err
		}
		s, err := sqlite.Open(ctx, dir+"/bench.db", sqlite.Options{})
		if err != nil {
			_ = os.RemoveAll(dir)
			return nil, nil, "", err
		}
		return s, func() { _ = s.Close(); _ = os.RemoveAll(dir) }, "", nil
	case "postgres":
		dsn := os.Getenv("PAYMENTS_POSTGRES_DSN")
		if dsn == "" {
			return nil, nil, "set PAYMENTS_POSTGRES_DSN to measure it", nil
		}
		b := make([]byte, 6)
		_, _ = rand.Read(b)
		schema := "postbackbench_" + hex.EncodeToString(b)
		s, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			return nil, nil, "", err
		}
		return s, func() {
			_ = s.Close()
			if conn, err := pgx.Connect(ctx, dsn); err == nil {
				_, _ = conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
				_ = conn.Close(ctx)
			}
		}, "", nil
	}
	return nil, nil, "", fmt.Errorf("unknown store %q", name)
}
