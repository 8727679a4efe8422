package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrail/payments/gateway/gatewaytest"
)

// result is one measured run against one target.
type result struct {
	rps      float64
	p50, p99 time.Duration
	// sentP99 is, at a fixed rate, the p99 of latencies measured from
	// when each request was actually sent: the server's share of p99,
	// without the time a busy load generator took to send it.
	sentP99 time.Duration
	// server and client are the CPU time per request of the target's
	// process and of the load generator; database that of the PostgreSQL
	// server's processes, for the PostgreSQL target.
	server, client, database cpuTimes
}

// nonce keeps this process's ids apart from those of earlier runs on a
// kept, prefilled store.
var nonce = randomHex(4)

// notification makes the n-th request of a run: a distinct, freshly signed
// payment notification, so that each one records a new entry.
func notification(signer *gatewaytest.Fake, run int, n int64) (http.Header, []byte) {
	ev := gatewaytest.Event{ID: fmt.Sprintf("evt_%s_%d_%d", nonce, run, n), Type: "payment.succeeded",
		PaymentID: fmt.Sprintf("pi_%s_%d_%d", nonce, run, n), Account: fmt.Sprintf("acct-%d", n%1000),
		Amount: "1.00", Currency: "USD"}
	req := signer.Request(ev, time.Now())
	return req.Header, req.Body
}

// recorder collects latencies and the first error of a run's clients:
// from the intended send time, and at a fixed rate also from the actual
// one.
type recorder struct {
	mu              sync.Mutex
	latencies, sent []time.Duration
	err             error
}

func (r *recorder) add(mine, sent []time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.latencies = append(r.latencies, mine...)
	r.sent = append(r.sent, sent...)
	if r.err == nil {
		r.err = err
	}
}

// cpuMark is the CPU times a run started from.
type cpuMark struct{ server, client, database cpuTimes }

func markCPU(t *target) cpuMark {
	m := cpuMark{server: t.cpu(), client: processCPU(0)}
	if t.name == "postgres" {
		m.database = databaseCPU()
	}
	return m
}

// result sorts the latencies and reads the CPU times spent since mark.
func (r *recorder) result(t *target, elapsed time.Duration, mark cpuMark) (result, error) {
	if r.err != nil {
		return result{}, r.err
	}
	n := len(r.latencies)
	if n == 0 {
		return result{}, fmt.Errorf("no request completed")
	}
	slices.Sort(r.latencies)
	slices.Sort(r.sent)
	per := func(c cpuTimes) cpuTimes { return cpuTimes{c.user / time.Duration(n), c.sys / time.Duration(n)} }
	res := result{
		rps: float64(n) / elapsed.Seconds(),
		p50: r.latencies[n/2], p99: r.latencies[n*99/100],
		server: per(t.cpu().sub(mark.server)), client: per(processCPU(0).sub(mark.client)),
	}
	if t.name == "postgres" {
		res.database = per(databaseCPU().sub(mark.database))
	}
	if len(r.sent) > 0 {
		res.sentP99 = r.sent[len(r.sent)*99/100]
	}
	return res, nil
}

// load drives t with concurrency clients for duration, each sending its
// next request when the previous one is answered: the peak rate.
func load(ctx context.Context, t *target, duration time.Duration, concurrency, run int) (result, error) {
	signer := gatewaytest.NewFake(secret)
	client := newClient(concurrency)
	defer client.CloseIdleConnections()
	var (
		seq atomic.Int64
		rec recorder
		wg  sync.WaitGroup
	)
	mark := markCPU(t)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				header, body := notification(signer, run, seq.Add(1))
				began := time.Now()
				if err := post(ctx, client, t.url, header, body); err != nil {
					rec.add(mine, nil, err)
					return
				}
				mine = append(mine, time.Since(began))
			}
			rec.add(mine, nil, nil)
		})
	}
	wg.Wait()
	return rec.result(t, time.Since(start), mark)
}

// loadAtRate sends rate requests a second for duration, each at its own
// intended time whatever the answers to earlier ones, and measures each
// latency from that intended time: a server that falls behind is charged
// for the wait of every request it delays, not only for the one it was
// slow on (no coordinated omission). At most maxInFlight requests are
// outstanding; a request that finds them all busy waits, and that wait
// counts too.
func loadAtRate(ctx context.Context, t *target, duration time.Duration, rate float64, maxInFlight, run int) (result, error) {
	signer := gatewaytest.NewFake(secret)
	client := newClient(maxInFlight)
	defer client.CloseIdleConnections()
	var (
		rec recorder
		wg  sync.WaitGroup
	)
	due := make(chan time.Time, maxInFlight)
	var seq atomic.Int64
	for range maxInFlight {
		wg.Go(func() {
			var mine, sent []time.Duration
			for intended := range due {
				header, body := notification(signer, run, seq.Add(1))
				began := time.Now()
				if err := post(ctx, client, t.url, header, body); err != nil {
					rec.add(mine, sent, err)
					for range due {
					}
					return
				}
				mine, sent = append(mine, time.Since(intended)), append(sent, time.Since(began))
			}
			rec.add(mine, sent, nil)
		})
	}
	mark := markCPU(t)
	start := time.Now()
	interval := time.Duration(float64(time.Second) / rate)
	total := int(duration.Seconds() * rate)
	for i := range total {
		intended := start.Add(time.Duration(i) * interval)
		if d := time.Until(intended); d > 0 {
			time.Sleep(d)
		}
		due <- intended
	}
	close(due)
	wg.Wait()
	return rec.result(t, time.Since(start), mark)
}

func newClient(conns int) *http.Client {
	return &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: conns, MaxConnsPerHost: conns}}
}

func post(ctx context.Context, client *http.Client, url string, header http.Header, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header = header
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("answered %s", resp.Status)
	}
	return nil
}
