package payments

import (
	"bytes"
	"context"
	cryptorand "crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/payrail/payments/internal/ssrf"
)

// PostbackOptions configure postbacks (WithPostbacks).
type PostbackOptions struct {
	// Schedule is the delay before each retry of a delivery that failed:
	// the specification's 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h by
	// default, each with up to a tenth of jitter; after the last the
	// delivery fails for good (and stays listed, to be redelivered).
	Schedule []time.Duration
	// Timeout bounds one attempt; default 15 s.
	Timeout time.Duration
	// DisableAfter disables an endpoint whose deliveries have been failing
	// for that long (its oldest failing delivery's age); default 5 days.
	// Its pending deliveries wait, they are not dropped: re-enabling it
	// resumes them.
	DisableAfter time.Duration
	// Allow lets postbacks reach addresses the SSRF guard refuses —
	// loopback, private, link-local, multicast, unspecified — and plain
	// http, for tests and intranets.
	Allow []netip.Prefix
	// Interval is how often Run looks for due deliveries; default 1 s.
	Interval time.Duration
	// BatchSize is how many deliveries a pass claims; default 100.
	BatchSize int
	// Concurrency is how many deliveries a pass has in flight at once,
	// over kept-alive connections; default 16. Deliveries to one endpoint
	// may therefore arrive out of order, as the specification allows.
	Concurrency int
	// Lease reserves a claimed delivery; default a minute, and at least
	// twice Timeout.
	Lease time.Duration
}

// DefaultPostbackSchedule is the Standard Webhooks retry schedule.
var defaultPostbackSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 5 * time.Hour, 10 * time.Hour, 10 * time.Hour,
}

// WithPostbacks turns postbacks on: endpoints added with AddEndpoint get a
// signed message for every payment status change and recorded entry, and
// Run delivers them. The Store must be a PostbackStore.
func WithPostbacks(o PostbackOptions) Option {
	return func(s *Service) error {
		ps, ok := s.store.(PostbackStore)
		if !ok {
			return fmt.Errorf("payments: postbacks need a Store that keeps them (PostbackStore): %w", ErrNotSupported)
		}
		if len(o.Schedule) == 0 {
			o.Schedule = defaultPostbackSchedule
		}
		if o.Timeout <= 0 {
			o.Timeout = 15 * time.Second
		}
		if o.DisableAfter <= 0 {
			o.DisableAfter = 5 * 24 * time.Hour
		}
		if o.Interval <= 0 {
			o.Interval = time.Second
		}
		if o.BatchSize <= 0 {
			o.BatchSize = 100
		}
		if o.Concurrency <= 0 {
			o.Concurrency = 16
		}
		o.Lease = max(o.Lease, time.Minute, 2*o.Timeout)
		s.postbacks = &postbacker{opts: o, store: ps, client: ssrf.Client(o.Allow, o.Timeout, o.Concurrency),
			queued: make(chan struct{}, 1)}
		return nil
	}
}

type postbacker struct {
	opts   PostbackOptions
	store  PostbackStore
	client *http.Client
	// checkedFailing is when disableFailing last asked the store (Unix
	// nanoseconds of the Service's clock): once a minute is enough for a
	// threshold of days, and keeps a short Interval cheap.
	checkedFailing atomic.Int64
	// queued wakes Run when this Service committed something postbacks
	// report, so that they leave at once rather than on the next
	// Interval; the Interval still finds what other Services queued.
	queued chan struct{}
}

// wake tells Run that postbacks may be due; a pass already due absorbs it.
func (pb *postbacker) wake() {
	select {
	case pb.queued <- struct{}{}:
	default:
	}
}

// failingCheckEvery is how often passes look for endpoints to disable.
const failingCheckEvery = time.Minute

// AddEndpoint registers a receiver of postbacks and returns it with its ID
// and, when e names none, a fresh secret. The URL must be https and name a
// public host, unless PostbackOptions.Allow lets it through.
func (s *Service) AddEndpoint(ctx context.Context, e Endpoint) (*Endpoint, error) {
	pb, err := s.postbacker()
	if err != nil {
		return nil, err
	}
	if err := pb.checkURL(e.URL); err != nil {
		return nil, err
	}
	if len(e.Secrets) == 0 {
		key := make([]byte, 32)
		if _, err := cryptorand.Read(key); err != nil {
			return nil, fmt.Errorf("payments: endpoint secret: %w", err)
		}
		e.Secrets = []string{"whsec_" + base64.StdEncoding.EncodeToString(key)}
	}
	if _, err := signPostback(e.Secrets, "check", time.Unix(0, 0), nil); err != nil {
		return nil, err
	}
	e.ID, e.CreatedAt, e.DisabledAt, e.DisabledReason = newID("ep"), storedTime(s.now()), time.Time{}, ""
	if err := pb.store.SaveEndpoint(ctx, &e); err != nil {
		return nil, err
	}
	return &e, nil
}

// Endpoints lists the registered endpoints.
func (s *Service) Endpoints(ctx context.Context) ([]Endpoint, error) {
	pb, err := s.postbacker()
	if err != nil {
		return nil, err
	}
	return pb.store.Endpoints(ctx)
}

// SetEndpointDisabled disables an endpoint, saying why, or enables it again
// (reason ignored): a re-enabled endpoint resumes its pending deliveries.
func (s *Service) SetEndpointDisabled(ctx context.Context, id string, disabled bool, reason string) error {
	pb, err := s.postbacker()
	if err != nil {
		return err
	}
	e, err := pb.store.Endpoint(ctx, id)
	if err != nil {
		return err
	}
	e.DisabledAt, e.DisabledReason = time.Time{}, ""
	if disabled {
		e.DisabledAt, e.DisabledReason = storedTime(s.now()), reason
	}
	return pb.store.SaveEndpoint(ctx, e)
}

// Deliveries lists one page of postback deliveries and the next page's
// cursor.
func (s *Service) Deliveries(ctx context.Context, f DeliveryFilter) ([]Delivery, string, error) {
	pb, err := s.postbacker()
	if err != nil {
		return nil, "", err
	}
	return pb.store.Deliveries(ctx, f)
}

// Attempts lists the attempts at one delivery.
func (s *Service) Attempts(ctx context.Context, messageID, endpointID string) ([]Attempt, error) {
	pb, err := s.postbacker()
	if err != nil {
		return nil, err
	}
	return pb.store.Attempts(ctx, messageID, endpointID)
}

// Redeliver makes one delivery due now, whatever became of it.
func (s *Service) Redeliver(ctx context.Context, messageID, endpointID string) error {
	pb, err := s.postbacker()
	if err != nil {
		return err
	}
	return pb.store.Redeliver(ctx, messageID, endpointID, s.now())
}

func (s *Service) postbacker() (*postbacker, error) {
	if s.postbacks == nil {
		return nil, fmt.Errorf("payments: postbacks are off (WithPostbacks): %w", ErrNotSupported)
	}
	return s.postbacks, nil
}

// DeliverPostbacks runs one pass: it claims due deliveries and posts them,
// Concurrency at a time, claiming again while claims come back full, for
// up to Interval, so that Run, which calls it every Interval, keeps up
// with a backlog without starving its other duties. It then disables
// endpoints that have been failing for DisableAfter, and reports how many
// deliveries were delivered.
//
// Deliveries to one endpoint are in flight together, so they may arrive
// out of order, which the specification allows: receivers order a
// payment's messages by its version.
func (s *Service) DeliverPostbacks(ctx context.Context) (int, error) {
	pb, err := s.postbacker()
	if err != nil {
		return 0, err
	}
	// A wall-clock budget, not s.now(): a test's frozen clock would
	// never end it.
	deadline := time.Now().Add(pb.opts.Interval)
	endpoints := map[string]*Endpoint{}
	delivered := 0
	for {
		claim := DeliveryClaim{Owner: s.leaseOwner(), Now: s.now(), Lease: pb.opts.Lease, Limit: pb.opts.BatchSize}
		due, err := pb.store.ClaimDeliveries(ctx, claim)
		if err != nil {
			return delivered, err
		}
		n, err := s.deliverAll(ctx, pb, claim.Owner, due, endpoints)
		delivered += n
		if err != nil {
			return delivered, err
		}
		if len(due) < claim.Limit || ctx.Err() != nil || time.Now().After(deadline) {
			break
		}
	}
	return delivered, s.disableFailing(ctx, pb)
}

// settleTimeout bounds one SettleDeliveries call. An attempt's settlement
// waits for the call in flight, if any, before its own call starts, so it
// starts at most settleTimeout after the attempt ends (see deliverAll).
const settleTimeout = 10 * time.Second

// deliverAll posts claimed deliveries, Concurrency at a time, settles them
// in batches (see settler), and reports how many were delivered once
// every settlement has been written. endpoints caches the endpoints of
// the pass.
func (s *Service) deliverAll(ctx context.Context, pb *postbacker, owner string, due []Delivery, endpoints map[string]*Endpoint) (int, error) {
	var (
		wg        sync.WaitGroup
		delivered atomic.Int64
		err       error
	)
	settle := &settler{s: s, pb: pb, ctx: ctx}
	slots := make(chan struct{}, pb.opts.Concurrency)
	for _, d := range due {
		ep, ok := endpoints[d.EndpointID]
		if !ok {
			if ep, err = pb.store.Endpoint(ctx, d.EndpointID); err != nil {
				break
			}
			endpoints[d.EndpointID] = ep
		}
		// An attempt whose settlement could start after the lease ran
		// out is left for the next claim after it expires: another
		// instance could claim it meanwhile and deliver it twice. The
		// attempt takes up to Timeout, and its settlement then waits up
		// to settleTimeout for the batch being written. It is checked
		// once the attempt has its slot, which may have taken up to a
		// Timeout of waiting.
		slots <- struct{}{}
		if !d.LeaseUntil.IsZero() && s.now().Add(pb.opts.Timeout+settleTimeout).After(d.LeaseUntil) {
			<-slots
			continue
		}
		wg.Go(func() {
			defer func() { <-slots }()
			if s.deliver(ctx, pb, owner, d, ep, settle) {
				delivered.Add(1)
			}
		})
	}
	wg.Wait()
	settle.wait()
	return int(delivered.Load()), err
}

// deliver makes one attempt and hands its settlement to settle, reporting
// whether it was delivered.
func (s *Service) deliver(ctx context.Context, pb *postbacker, owner string, d Delivery, ep *Endpoint, settle *settler) bool {
	start := s.now()
	begun := time.Now() // the wall clock times the post; s.now may be a host's test clock
	a := Attempt{MessageID: d.Message.ID, EndpointID: ep.ID, At: storedTime(start)}
	a.Status, a.Response, a.Error = pb.post(ctx, ep, d.Message, start)
	a.Latency = time.Since(begun)
	st := DeliverySettlement{MessageID: d.Message.ID, EndpointID: ep.ID, Owner: owner, State: DeliveryDelivered,
		Attempts: d.Attempts + 1, Attempt: a}
	ok := a.Status >= 200 && a.Status < 300
	if !ok {
		if st.Attempts > len(pb.opts.Schedule) {
			st.State = DeliveryFailed
		} else {
			delay := pb.opts.Schedule[st.Attempts-1]
			st.State, st.NextAttempt = DeliveryPending, s.now().Add(delay+rand.N(delay/10+1))
		}
	}
	s.observePostback(ctx, d, st)
	settle.add(st)
	return ok
}

// settler writes the settlements of one claim's attempts in batches, one
// SettleDeliveries call at a time: what finished while a call was being
// written goes into the next, so that under load one commit settles many
// attempts, and when idle an attempt is settled as soon as it ends. An
// attempt frees its slot for the next post without waiting for the store.
type settler struct {
	s   *Service
	pb  *postbacker
	ctx context.Context
	// writers counts the goroutine writing batches, one at most.
	writers sync.WaitGroup
	mu      sync.Mutex
	queued  []DeliverySettlement
	writing bool
}

// add queues a settlement, starting the writer if it is idle.
func (st *settler) add(x DeliverySettlement) {
	st.mu.Lock()
	st.queued = append(st.queued, x)
	idle := !st.writing
	st.writing = true
	st.mu.Unlock()
	if idle {
		st.writers.Go(st.write)
	}
}

// write settles what is queued, batch after batch, until nothing is.
func (st *settler) write() {
	for {
		st.mu.Lock()
		batch := st.queued
		st.queued = nil
		if len(batch) == 0 {
			st.writing = false
			st.mu.Unlock()
			return
		}
		st.mu.Unlock()
		st.settle(batch)
	}
}

// settle writes one batch. A settlement that fails is logged and left:
// its delivery is claimed again when its lease expires, as it would be
// had the process stopped after the attempt. It outlives ctx's
// cancellation, so that a Run being stopped still records what it posted.
func (st *settler) settle(batch []DeliverySettlement) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(st.ctx), settleTimeout)
	defer cancel()
	errs, err := st.pb.store.SettleDeliveries(ctx, batch)
	if err == nil && len(errs) != len(batch) {
		err = fmt.Errorf("payments: the store answered %d outcomes for %d settlements", len(errs), len(batch))
	}
	if err != nil {
		st.s.log.WarnContext(st.ctx, "payments: settle postback deliveries", "deliveries", len(batch), "error", err)
		return
	}
	for i, err := range errs {
		if err != nil {
			st.s.log.WarnContext(st.ctx, "payments: settle postback delivery",
				"message", batch[i].MessageID, "endpoint", batch[i].EndpointID, "error", err)
		}
	}
}

// wait returns once every queued settlement has been written. Call it
// after the last add.
func (st *settler) wait() { st.writers.Wait() }

// post sends one message, signed at ts, and returns the answer's status
// and the start of its body, or why there was none.
func (pb *postbacker) post(ctx context.Context, ep *Endpoint, m Message, ts time.Time) (status int, response, failure string) {
	sig, err := signPostback(ep.Secrets, m.ID, ts, m.Body)
	if err != nil {
		return 0, "", err.Error()
	}
	ctx, cancel := context.WithTimeout(ctx, pb.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, ep.URL, bytes.NewReader(m.Body))
	if err != nil {
		return 0, "", err.Error()
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "payrail-payments-postbacks")
	req.Header.Set("webhook-id", m.ID)
	req.Header.Set("webhook-timestamp", strconv.FormatInt(ts.Unix(), 10))
	req.Header.Set("webhook-signature", sig)
	resp, err := pb.client.Do(req)
	if err != nil {
		return 0, "", err.Error()
	}
	defer resp.Body.Close()
	head, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) // let the connection be reused
	return resp.StatusCode, string(head), ""
}

// disableFailing disables the endpoints that have been failing for
// DisableAfter, logging each: their deliveries wait for the host.
func (s *Service) disableFailing(ctx context.Context, pb *postbacker) error {
	now := s.now()
	last := pb.checkedFailing.Load()
	if recent := last != 0 && now.Sub(time.Unix(0, last)) < failingCheckEvery; recent {
		return nil
	}
	if !pb.checkedFailing.CompareAndSwap(last, now.UnixNano()) {
		return nil // a concurrent pass is checking
	}
	since, err := pb.store.FailingSince(ctx)
	if err != nil {
		pb.checkedFailing.Store(last) // the next pass checks again
		return err
	}
	for id, t := range since {
		if now.Sub(t) < pb.opts.DisableAfter {
			continue
		}
		reason := fmt.Sprintf("deliveries failing since %s", t.UTC().Format(time.RFC3339))
		if err := s.SetEndpointDisabled(ctx, id, true, reason); err != nil {
			return err
		}
		s.log.ErrorContext(ctx, "payments: postback endpoint disabled", "endpoint", id, "reason", reason)
		if dropped := s.events.publish([]Event{{Type: EventEndpointDisabled, At: now, EndpointID: id}}); dropped > 0 {
			s.log.Warn("payments: slow subscribers missed events", "dropped", dropped)
		}
	}
	return nil
}

// checkURL refuses an endpoint URL that is not https, or whose host as
// written the guard refuses (ssrf.HostPermitted), as the gate does; names
// are checked again at each connection, after DNS.
func (pb *postbacker) checkURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" || u.User != nil {
		return fmt.Errorf("payments: endpoint URL %q: want https://host/path: %w", raw, ErrInvalidInput)
	}
	allowed := len(pb.opts.Allow) > 0
	if u.Scheme != "https" && !(u.Scheme == "http" && allowed) {
		return fmt.Errorf("payments: endpoint URL %q: https only: %w", raw, ErrInvalidInput)
	}
	if !ssrf.HostPermitted(u.Hostname(), pb.opts.Allow) {
		return fmt.Errorf("payments: endpoint URL %q names an address postbacks may not reach: %w", raw, ErrInvalidInput)
	}
	return nil
}
