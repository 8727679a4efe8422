package crashtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
)

const (
	// maxDeliveriesPerClient bounds one client's loop in one life; the
	// kill or the clean life's timeout ends it long before.
	maxDeliveriesPerClient = 100_000
	// requestTimeout bounds one delivery; a killed child fails its
	// requests at once, so this only catches a hung one.
	requestTimeout = 10 * time.Second
	// redeliveryAttempts bounds the retries of one unacknowledged
	// notification in the clean life.
	redeliveryAttempts = 3
)

var (
	accounts   = []string{"acct_a", "acct_b", "acct_c", "acct_d", "acct_e", "acct_f"}
	currencies = []payments.Currency{"USD", "EUR", "JPY"}
)

// notification is one distinct notification of the load and the entry it
// must record. A redelivery posts the same event again.
type notification struct {
	event gatewaytest.Event
	entry payments.Entry // ID, Kind, Account and Amount as the store must hold them
	sent  int            // deliveries attempted
	acked bool           // some delivery was answered 2xx
}

// model is what the parent sent and what was acknowledged: the truth the
// database is checked against. It is safe for concurrent use.
type model struct {
	mu         sync.Mutex
	rng        *rand.Rand
	signer     *gatewaytest.Fake
	seq        int
	all        []*notification
	byEntry    map[string]*notification
	refundable []*notification // acknowledged charges not refunded yet
}

func newModel(seed uint64) *model {
	return &model{
		rng:     rand.New(rand.NewPCG(seed, ^seed)),
		signer:  gatewaytest.NewFake(secret),
		byEntry: map[string]*notification{},
	}
}

// next picks the next delivery: about 10% redeliver an earlier notification
// (acknowledged or not, as gateways do), about 30% refund part of an
// acknowledged charge, and the rest are new charges.
func (m *model) next() *notification {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n *notification
	switch r := m.rng.IntN(100); {
	case r < 10 && len(m.all) > 0:
		n = m.all[m.rng.IntN(len(m.all))]
	case r < 40 && len(m.refundable) > 0:
		i := m.rng.IntN(len(m.refundable))
		charge := m.refundable[i]
		m.refundable[i] = m.refundable[len(m.refundable)-1]
		m.refundable = m.refundable[:len(m.refundable)-1]
		n = m.add(m.refund(charge))
	default:
		n = m.add(m.charge())
	}
	n.sent++
	return n
}

func (m *model) charge() *notification {
	m.seq++
	money := payments.Money{Amount: 1 + m.rng.Int64N(100_000), Currency: currencies[m.rng.IntN(len(currencies))]}
	account := accounts[m.rng.IntN(len(accounts))]
	paymentID := fmt.Sprintf("pi_%d", m.seq)
	return &notification{
		event: gatewaytest.Event{
			ID: fmt.Sprintf("evt_%d", m.seq), Type: "payment.succeeded", PaymentID: paymentID,
			Account: account, Amount: money.Decimal(), Currency: string(money.Currency),
		},
		entry: payments.Entry{
			ID: payments.EntryID(gatewayName, payments.KindCharge, paymentID), Kind: payments.KindCharge,
			Account: account, Amount: money,
		},
	}
}

// refund refunds part of charge. The event carries no account, so the store
// must attribute the entry through the charge's payment, which it can only
// do if the acknowledged charge survived.
func (m *model) refund(charge *notification) *notification {
	m.seq++
	refundID := fmt.Sprintf("re_%d", m.seq)
	money := payments.Money{Amount: 1 + m.rng.Int64N(charge.entry.Amount.Amount), Currency: charge.entry.Amount.Currency}
	return &notification{
		event: gatewaytest.Event{
			ID: fmt.Sprintf("evt_%d", m.seq), Type: "refund.succeeded", PaymentID: charge.event.PaymentID,
			RefundID: refundID, Amount: money.Decimal(), Currency: string(money.Currency),
		},
		entry: payments.Entry{
			ID: payments.EntryID(gatewayName, payments.KindRefund, refundID), Kind: payments.KindRefund,
			Account: charge.entry.Account, Amount: payments.Money{Amount: -money.Amount, Currency: money.Currency},
		},
	}
}

func (m *model) add(n *notification) *notification {
	m.all = append(m.all, n)
	m.byEntry[n.entry.ID] = n
	return n
}

// answered records the status a delivery of n got. Only a 2xx acknowledges.
func (m *model) answered(n *notification, status int) {
	if status < 200 || status > 299 {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !n.acked && n.entry.Kind == payments.KindCharge {
		m.refundable = append(m.refundable, n)
	}
	n.acked = true
}

// loadStats counts one life's deliveries.
type loadStats struct {
	sent, acked int
	// inFlight counts deliveries that got no answer because the child died
	// or the load ended while they were under way; refused counts those
	// that found the child already gone.
	inFlight, refused int
	statuses          map[int]int
}

// drive posts notifications from clients concurrent clients until ctx ends,
// closing firstAck, unless it is nil, at the first acknowledgement. A client
// stops at its first delivery without an answer: the child is gone.
func (m *model) drive(ctx context.Context, url string, clients int, firstAck chan<- struct{}) loadStats {
	transport := &http.Transport{MaxIdleConnsPerHost: clients}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport, Timeout: requestTimeout}
	var (
		mu        sync.Mutex
		total     = loadStats{statuses: map[int]int{}}
		wg        sync.WaitGroup
		ackOnce   sync.Once
		signalAck = func() {
			if firstAck != nil {
				ackOnce.Do(func() { close(firstAck) })
			}
		}
	)
	for range clients {
		wg.Go(func() {
			mine := loadStats{statuses: map[int]int{}}
			for range maxDeliveriesPerClient {
				if ctx.Err() != nil {
					break
				}
				n := m.next()
				mine.sent++
				status, err := m.deliver(ctx, client, url, n)
				if err != nil {
					if errors.Is(err, syscall.ECONNREFUSED) {
						mine.refused++
					} else {
						mine.inFlight++
					}
					break
				}
				m.answered(n, status)
				mine.statuses[status]++
				if status >= 200 && status <= 299 {
					mine.acked++
					signalAck()
				}
			}
			mu.Lock()
			total.add(mine)
			mu.Unlock()
		})
	}
	wg.Wait()
	return total
}

func (s *loadStats) add(o loadStats) {
	s.sent += o.sent
	s.acked += o.acked
	s.inFlight += o.inFlight
	s.refused += o.refused
	for status, count := range o.statuses {
		s.statuses[status] += count
	}
}

// deliver posts n, freshly signed as a gateway signs each attempt, and returns
// the status. The status alone decides acknowledgement: a gateway that has
// read a 2xx status line considers the notification delivered.
func (m *model) deliver(ctx context.Context, client *http.Client, url string, n *notification) (int, error) {
	signed := m.signer.Request(n.event, time.Now())
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(signed.Body))
	if err != nil {
		return 0, err
	}
	req.Header = signed.Header
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

// redeliverUnacknowledged posts every notification that no delivery got a
// 2xx for, retrying each a few times, and returns how many there were and
// the event ids still unacknowledged.
func (m *model) redeliverUnacknowledged(ctx context.Context, url string) (int, []string) {
	m.mu.Lock()
	var pending []*notification
	for _, n := range m.all {
		if !n.acked {
			pending = append(pending, n)
		}
	}
	m.mu.Unlock()
	client := &http.Client{Timeout: requestTimeout}
	defer client.CloseIdleConnections()
	var unacked []string
	for _, n := range pending {
		for attempt := 0; attempt < redeliveryAttempts && !m.isAcked(n) && ctx.Err() == nil; attempt++ {
			m.mu.Lock()
			n.sent++
			m.mu.Unlock()
			if status, err := m.deliver(ctx, client, url, n); err == nil {
				m.answered(n, status)
			}
		}
		if !m.isAcked(n) {
			unacked = append(unacked, n.event.ID)
		}
	}
	return len(pending), unacked
}

func (m *model) isAcked(n *notification) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return n.acked
}

// summary describes the whole load.
func (m *model) summary() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	var deliveries, acked, refunds int
	for _, n := range m.all {
		deliveries += n.sent
		if n.acked {
			acked++
		}
		if n.entry.Kind == payments.KindRefund {
			refunds++
		}
	}
	return fmt.Sprintf("%d notifications (%d refunds) in %d deliveries, %d acknowledged",
		len(m.all), refunds, deliveries, acked)
}
