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
}

// load drives t with concurrency clients for duration. Every request is a
// distinct, freshly signed payment notification, so each one records a new
// entry; run keeps ids distinct across runs on the same store.
func load(ctx context.Context, t *target, duration time.Duration, concurrency, run int) (result, error) {
	signer := gatewaytest.NewFake(secret)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: concurrency, MaxConnsPerHost: concurrency}}
	defer client.CloseIdleConnections()
	var (
		seq       atomic.Int64
		mu        sync.Mutex
		latencies []time.Duration
		firstErr  error
		wg        sync.WaitGroup
	)
	deadline := time.Now().Add(duration)
	start := time.Now()
	for range concurrency {
		wg.Go(func() {
			var mine []time.Duration
			for time.Now().Before(deadline) {
				n := seq.Add(1)
				ev := gatewaytest.Event{ID: fmt.Sprintf("evt_%d_%d", run, n), Type: "payment.succeeded",
					PaymentID: fmt.Sprintf("pi_%d_%d", run, n), Account: fmt.Sprintf("acct-%d", n%1000),
					Amount: "1.00", Currency: "USD"}
				req := signer.Request(ev, time.Now())
				began := time.Now()
				if err := post(ctx, client, t.url, req.Header, req.Body); err != nil {
					mu.Lock()
					firstErr = cmpOr(firstErr, err)
					mu.Unlock()
					return
				}
				mine = append(mine, time.Since(began))
			}
			mu.Lock()
			latencies = append(latencies, mine...)
			mu.Unlock()
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if firstErr != nil {
		return result{}, firstErr
	}
	if len(latencies) == 0 {
		return result{}, fmt.Errorf("no request completed")
	}
	slices.Sort(latencies)
	return result{
		rps: float64(len(latencies)) / elapsed.Seconds(),
		p50: latencies[len(latencies)/2],
		p99: latencies[len(latencies)*99/100],
	}, nil
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

func cmpOr(a, b error) error {
	if a != nil {
		return a
	}
	return b
}
