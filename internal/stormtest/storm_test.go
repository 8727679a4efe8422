package stormtest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/webhook"
)

const (
	// sizeVar sets the storm's size: unset for a small one, "full" for
	// fullDeliveries, or a number of deliveries.
	sizeVar         = "PAYMENTS_STORM"
	smallDeliveries = 4000
	fullDeliveries  = 100_000
	// clients is how many deliveries are in flight at once.
	clients = 32
	// accounts is how many accounts the storm's money is spread over.
	accounts = 1000
	secret   = "whsec_storm"
)

// TestStorm delivers the same storm to each store and checks the ledger
// after it. PostgreSQL runs when PAYMENTS_POSTGRES_DSN is set, and must
// under CI=true. The memory store, which is for tests and demos, takes
// the small storm only: it pages by sorting every row, which makes
// checking 100,000 rows take minutes under the race detector.
func TestStorm(t *testing.T) {
	deliveries := stormSize(t)
	for _, s := range stores {
		t.Run(s.name, func(t *testing.T) {
			store := s.open(t)
			st := newStorm(min(deliveries, s.most), 1)
			res := st.run(t, store)
			mismatches := check(t, store, st)
			t.Logf("%s: %d deliveries (%d notifications, %d duplicates = %.1f%%, %d of them at the same instant as their twin), "+
				"%d clients, %s (%.0f deliveries/s), %d failed replies, %d mismatches",
				s.name, len(st.deliveries), len(st.notifications), st.duplicates(), 100*float64(st.duplicates())/float64(len(st.deliveries)),
				st.pairs, clients, res.wall.Round(time.Millisecond), float64(len(st.deliveries))/res.wall.Seconds(), res.failed, len(mismatches))
			require.Zero(t, res.failed, "every delivery is answered 200 with the Fake's acknowledgement; first: %s", res.firstFailure)
			require.Empty(t, mismatches[:min(len(mismatches), 20)], "the ledger and the journal match what was delivered")
		})
	}
}

func stormSize(t *testing.T) int {
	switch v := os.Getenv(sizeVar); v {
	case "":
		return smallDeliveries
	case "full":
		return fullDeliveries
	default:
		n, err := strconv.Atoi(v)
		if err != nil || n < 100 {
			t.Fatalf("%s=%q: want \"full\" or a number of deliveries of at least 100", sizeVar, v)
		}
		return n
	}
}

// notification is one distinct notification of the storm and the entry
// it books.
type notification struct {
	event   gatewaytest.Event
	kind    payments.EntryKind
	ref     string
	account string
	amount  payments.Money // signed, as the ledger keeps it
	// deliveries is how many times the storm delivers it.
	deliveries int
}

// delivery is one POST of a notification. The two deliveries of a pair
// share a barrier, so that they leave at the same instant.
type delivery struct {
	n       *notification
	barrier *sync.WaitGroup
}

// storm is what is delivered, in order.
type storm struct {
	notifications []*notification
	deliveries    []delivery
	pairs         int
}

func (s *storm) duplicates() int { return len(s.deliveries) - len(s.notifications) }

// newStorm plans total deliveries: an eighth of them (12.5%) duplicates,
// half of those sent at the same instant as their twin and half at another
// point of the storm. Every tenth notification refunds half of the charge
// before it, on the same payment, which either may create: the refund can
// overtake its charge.
func newStorm(total int, seed uint64) *storm {
	rng := rand.New(rand.NewPCG(seed, seed+1))
	dups := (total + 7) / 8
	unique := total - dups
	s := &storm{notifications: make([]*notification, unique)}
	for k := range unique {
		s.notifications[k] = newNotification(k, s.notifications)
	}
	// Each job leaves the queue as one delivery, or as a pair at once.
	jobs := make([][]delivery, 0, unique+dups)
	s.pairs = dups / 2
	paired := rng.Perm(unique)[:s.pairs]
	isPaired := make([]bool, unique)
	for _, k := range paired {
		isPaired[k] = true
	}
	for k, n := range s.notifications {
		if !isPaired[k] {
			jobs = append(jobs, []delivery{{n: n}})
			continue
		}
		barrier := &sync.WaitGroup{}
		barrier.Add(2)
		jobs = append(jobs, []delivery{{n: n, barrier: barrier}, {n: n, barrier: barrier}})
	}
	for range dups - s.pairs {
		jobs = append(jobs, []delivery{{n: s.notifications[rng.IntN(unique)]}})
	}
	rng.Shuffle(len(jobs), func(i, j int) { jobs[i], jobs[j] = jobs[j], jobs[i] })
	for _, job := range jobs {
		for _, d := range job {
			d.n.deliveries++
			s.deliveries = append(s.deliveries, d)
		}
	}
	return s
}

// newNotification is the storm's notification k: a charge in USD or EUR
// to one of the accounts, or, every tenth, a refund of half the charge
// before it.
func newNotification(k int, earlier []*notification) *notification {
	id := fmt.Sprintf("evt_storm_%d", k)
	if k%10 == 9 {
		charge := earlier[k-1]
		refund := &notification{kind: payments.KindRefund, ref: fmt.Sprintf("re_storm_%d", k), account: charge.account,
			amount: payments.Money{Amount: -charge.amount.Amount / 2, Currency: charge.amount.Currency}}
		refund.event = gatewaytest.Event{ID: id, Type: "refund.succeeded", PaymentID: charge.ref, RefundID: refund.ref,
			Account: refund.account, Amount: payments.Money{Amount: -refund.amount.Amount, Currency: refund.amount.Currency}.Decimal(),
			Currency: string(refund.amount.Currency)}
		return refund
	}
	currency := payments.Currency("USD")
	if k%7 == 0 {
		currency = "EUR"
	}
	charge := &notification{kind: payments.KindCharge, ref: fmt.Sprintf("pi_storm_%d", k), account: fmt.Sprintf("acct-%d", k%accounts),
		amount: payments.Money{Amount: 2 * int64(50+(k*37)%4950), Currency: currency}}
	charge.event = gatewaytest.Event{ID: id, Type: "payment.succeeded", PaymentID: charge.ref, Account: charge.account,
		Reference: fmt.Sprintf("order:%d:storm", k), Amount: charge.amount.Decimal(), Currency: string(currency)}
	return charge
}

// result is what the clients saw.
type result struct {
	wall         time.Duration
	failed       int64
	firstFailure string
}

// run serves store through webhook.Mount on a loopback HTTP server and
// has clients deliver the storm, each delivery signed as it leaves.
func (s *storm) run(t *testing.T, store payments.Store) result {
	t.Helper()
	fake := gatewaytest.NewFake(secret)
	svc, err := payments.New(store, payments.WithGateway(fake))
	require.NoError(t, err)
	mux := http.NewServeMux()
	webhook.Mount(mux, svc)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	url := srv.URL + webhook.DefaultPattern(fake.Name())[len("POST "):]
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients}, Timeout: time.Minute}
	defer client.CloseIdleConnections()

	queue := make(chan delivery, clients)
	var (
		res      result
		failed   atomic.Int64
		once     sync.Once
		wg       sync.WaitGroup
		ctx, end = context.WithCancel(t.Context())
	)
	defer end()
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for d := range queue {
				if d.barrier != nil {
					// The queue holds a pair's halves side by side, so the
					// next free client takes the other: both leave at once.
					d.barrier.Done()
					d.barrier.Wait()
				}
				req := fake.Request(d.n.event, time.Now())
				if err := deliver(ctx, client, url, req, "ok "+d.n.event.ID); err != nil {
					failed.Add(1)
					once.Do(func() { res.firstFailure = err.Error() })
				}
			}
		})
	}
	for _, d := range s.deliveries {
		queue <- d
	}
	close(queue)
	wg.Wait()
	res.wall, res.failed = time.Since(start), failed.Load()
	return res
}

// deliver posts one notification and checks the acknowledgement: 200 and
// the Fake's "ok <event id>".
func deliver(ctx context.Context, client *http.Client, url string, req *payments.WebhookRequest, want string) error {
	httpReq, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(req.Body))
	if err != nil {
		return err
	}
	httpReq.Header = req.Header
	resp, err := client.Do(httpReq)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK || string(body) != want {
		return fmt.Errorf("%s: %d %q", want, resp.StatusCode, body)
	}
	return nil
}
