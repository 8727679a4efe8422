package postgres_test

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

var clock = time.Date(2025, time.March, 14, 9, 26, 53, 0, time.UTC)

// ledgerLoad is a deterministic set of batches: charges, each creating its
// payment, and refunds of earlier charges that carry no account and must
// take it from the payment. Every fourth charge batch also pays a second
// account in another currency, so batches lock several balances.
type ledgerLoad struct {
	batches int
}

const loadAccounts = 37

func (l ledgerLoad) account(i int) string { return fmt.Sprintf("acct_%02d", i%loadAccounts) }

func (l ledgerLoad) chargeAmount(i int) int64 { return int64(100 + (i*7919)%5000) }

// isRefund reports whether batch i refunds batch i-3, which is a charge.
func (l ledgerLoad) isRefund(i int) bool { return i%5 == 4 }

// batch builds batch i afresh, so that concurrent deliveries share
// nothing.
func (l ledgerLoad) batch(i int) *payments.Batch {
	b := &payments.Batch{Gateway: "loadpay", Now: clock.Add(time.Duration(i) * time.Millisecond)}
	if l.isRefund(i) {
		j := i - 3
		pi := fmt.Sprintf("pi_%d", j)
		b.Payments = []payments.PaymentUpdate{{GatewayID: pi, Account: l.account(j), Status: payments.StatusPartiallyRefunded}}
		b.Entries = []payments.Entry{{
			Kind: payments.KindRefund, GatewayRef: fmt.Sprintf("re_%d", i), GatewayPaymentID: pi,
			Amount: payments.Money{Amount: -l.chargeAmount(j) / 2, Currency: "USD"},
		}}
		return b
	}
	pi := fmt.Sprintf("pi_%d", i)
	b.Payments = []payments.PaymentUpdate{{
		GatewayID: pi, Account: l.account(i), Status: payments.StatusSucceeded,
		Amount: payments.Money{Amount: l.chargeAmount(i), Currency: "USD"},
	}}
	b.Entries = []payments.Entry{{
		Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%d", i), GatewayPaymentID: pi,
		Account: l.account(i), Amount: payments.Money{Amount: l.chargeAmount(i), Currency: "USD"},
	}}
	if i%4 == 0 {
		b.Entries = append(b.Entries, payments.Entry{
			Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("split_%d", i), Account: l.account(i + 11),
			Amount: payments.Money{Amount: int64(i%90 + 10), Currency: "EUR"},
		})
	}
	return b
}

// deliveries returns the order batches are delivered in: shuffled, with a
// tenth of them delivered twice. Each repeat lands a few places after its
// first delivery, so that most duplicates race with their original.
func (l ledgerLoad) deliveries(rng *rand.Rand) []int {
	order := rng.Perm(l.batches)
	for range l.batches / 10 {
		at := rng.IntN(len(order))
		copyAt := min(len(order), at+1+rng.IntN(8))
		order = slices.Insert(order, copyAt, order[at])
	}
	return order
}

// expected returns the balances the load must leave, by account and
// currency, and how many entries it records.
func (l ledgerLoad) expected() (map[string]payments.Balance, int) {
	want := map[string]payments.Balance{}
	entries := 0
	for i := range l.batches {
		for _, e := range l.batch(i).Entries {
			account := e.Account
			if account == "" {
				account = l.account(i - 3)
			}
			key := account + "/" + string(e.Amount.Currency)
			b := want[key]
			b.Account, b.Money.Currency = account, e.Amount.Currency
			b.Money.Amount += e.Amount.Amount
			b.Entries++
			want[key] = b
			entries++
		}
	}
	return want, entries
}

// TestConcurrentDeliveries delivers every batch of a load from 32
// goroutines at once, with a tenth of the deliveries repeated, and checks
// that no delivery fails and that the ledger holds each entry exactly once.
func TestConcurrentDeliveries(t *testing.T) {
	dsn := testDSN(t)
	load := ledgerLoad{batches: 2000}
	if testing.Short() {
		load.batches = 300
	}
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	cfg.MaxConns = 32
	pool, err := pgxpool.NewWithConfig(t.Context(), cfg)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	s, err := postgres.New(t.Context(), pool, postgres.Options{Schema: freshSchema(t, dsn)})
	require.NoError(t, err)
	t.Cleanup(func() { _ = s.Close() })

	deliveries := load.deliveries(rand.New(rand.NewPCG(1, 2)))
	tally := deliverAll(t, s, load, deliveries, 32)

	want, entries := load.expected()
	delivered := 0
	for _, i := range deliveries {
		delivered += len(load.batch(i).Entries)
	}
	assert.Equal(t, entries, tally.fresh, "entries reported new")
	assert.Equal(t, delivered-entries, tally.duplicates, "entries reported duplicate")
	for i := range load.batches {
		assert.Equal(t, 1, tally.recordedBy[i], "batch %d: deliveries journaled as recorded", i)
	}
	checkLedger(t, s, load, want, entries)
}

// tally counts what the deliveries of a load reported.
type tally struct {
	fresh, duplicates int
	recordedBy        map[int]int // batch → deliveries journaled as recorded
}

// deliverAll commits the batches of deliveries from workers goroutines,
// each with its own journal row, and tallies the results.
func deliverAll(t *testing.T, s *postgres.Store, load ledgerLoad, deliveries []int, workers int) tally {
	var (
		mu   sync.Mutex
		got  = tally{recordedBy: map[int]int{}}
		work = make(chan int)
		wg   sync.WaitGroup
	)
	for range workers {
		wg.Go(func() {
			for n := range work {
				i := deliveries[n]
				b := load.batch(i)
				b.Notification = &payments.Notification{
					ID: fmt.Sprintf("ntf_%d", n), Gateway: b.Gateway, ReceivedAt: b.Now, Verified: true,
				}
				res, err := s.Commit(t.Context(), b)
				if !assert.NoError(t, err, "batch %d", i) {
					continue
				}
				mu.Lock()
				got.fresh += len(res.Entries)
				got.duplicates += len(res.Duplicates)
				if res.Outcome == payments.OutcomeRecorded {
					got.recordedBy[i]++
				}
				mu.Unlock()
			}
		})
	}
	for n := range deliveries {
		work <- n
	}
	close(work)
	wg.Wait()
	return got
}

// checkLedger compares the store with what the load must have left.
func checkLedger(t *testing.T, s *postgres.Store, load ledgerLoad, want map[string]payments.Balance, entries int) {
	ctx := t.Context()
	list, _, err := s.Entries(ctx, payments.EntryFilter{Limit: 100_000})
	require.NoError(t, err)
	assert.Len(t, list, entries, "entries stored")
	for _, w := range want {
		got, err := s.Balance(ctx, w.Account, w.Money.Currency)
		require.NoError(t, err)
		assert.Equal(t, w.Money, got.Money, "balance of %s", w.Account)
		assert.Equal(t, w.Entries, got.Entries, "entries in balance of %s %s", w.Account, w.Money.Currency)
	}
	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{State: payments.SyncPending, Limit: 100_000})
	require.NoError(t, err)
	assert.Len(t, tasks, entries, "one sync task per entry")
	for i := range load.batches {
		if load.isRefund(i) {
			continue
		}
		p, err := s.PaymentByGatewayID(ctx, "loadpay", fmt.Sprintf("pi_%d", i))
		require.NoError(t, err)
		wantStatus := payments.StatusSucceeded
		if i+3 < load.batches && load.isRefund(i+3) {
			wantStatus = payments.StatusPartiallyRefunded
		}
		assert.Equal(t, wantStatus, p.Status, "payment pi_%d", i)
		assert.Equal(t, load.account(i), p.Account, "payment pi_%d", i)
	}
}

// TestCrossedPaymentUpdates commits batches that update the same two
// payments, half of them naming the payments in one order and half in the
// other: the shape that deadlocks when rows are locked in batch order.
func TestCrossedPaymentUpdates(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, id := range []string{"1", "2"} {
		require.NoError(t, s.CreatePayment(ctx, &payments.Payment{
			ID: "pay_" + id, Gateway: "crosspay", GatewayID: "pi_" + id, Account: "acct_" + id,
			Status: payments.StatusPending, CreatedAt: clock, UpdatedAt: clock,
		}))
	}
	const workers, rounds = 16, 25
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			order := []string{"1", "2"}
			if w%2 == 1 {
				order = []string{"2", "1"}
			}
			for r := range rounds {
				b := &payments.Batch{Gateway: "crosspay", Now: clock.Add(time.Duration(r) * time.Second)}
				for _, id := range order {
					b.Payments = append(b.Payments, payments.PaymentUpdate{GatewayID: "pi_" + id, Status: payments.StatusSucceeded})
					b.Entries = append(b.Entries, payments.Entry{
						Kind: payments.KindCharge, GatewayRef: fmt.Sprintf("ch_%d_%d_%s", w, r, id), GatewayPaymentID: "pi_" + id,
						Amount: payments.Money{Amount: 10, Currency: "USD"},
					})
				}
				_, err := s.Commit(ctx, b)
				assert.NoError(t, err, "worker %d round %d", w, r)
			}
		})
	}
	wg.Wait()
	for _, id := range []string{"1", "2"} {
		bal, err := s.Balance(ctx, "acct_"+id, "USD")
		require.NoError(t, err)
		assert.Equal(t, int64(10*workers*rounds), bal.Money.Amount, "acct_%s", id)
		assert.Equal(t, int64(workers*rounds), bal.Entries, "acct_%s", id)
	}
}
