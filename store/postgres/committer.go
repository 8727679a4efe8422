package postgres

import (
	"context"
	"errors"
	"sync"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/payrail/payments"
)

// maxGroup caps how many batches share one transaction, bounding how long
// the first of them waits for the last and how many rows one transaction
// holds locked.
const maxGroup = 64

// commitJob is one Commit call waiting for its group.
type commitJob struct {
	ctx  context.Context
	b    *payments.Batch
	res  *payments.BatchResult
	err  error
	done chan struct{}
}

func (j *commitJob) finish(res *payments.BatchResult, err error) {
	j.res, j.err = res, err
	close(j.done)
}

// committer is the Store's group commit. Concurrent Commit calls queue up
// while a group is being committed, and the next group takes them all into
// one transaction: a few pipelined round trips of multi-row statements and
// one WAL flush serve the whole group, where a transaction per batch paid
// about ten round trips and a flush each.
//
// A batch fails alone, as if it had its own transaction: a plan that fails
// (an unattributed entry, a payment of another gateway) leaves the batch out
// of the group, and a failure the database
// reports (a taken notification id, a contradicting entry, an overflowing
// balance, a deadlock) rolls the group back and commits each of its
// batches in a transaction of its own (Store.commitAlone), where the
// failing one fails with the error it would always have had. Nothing is
// acknowledged before COMMIT has returned.
//
// Batches in one group touch disjoint payments, entries and notifications,
// so that none depends on another's writes and each statement affects a
// row at most once; a batch that overlaps an earlier one of the group waits
// for the next group. Balances are the exception: batches may add to the
// same balance, and their sums are added together, which is what adding
// them one after the other would give, provided no step of that sequence
// leaves int64, which the database checks (see addOrOverflow). So are the
// journal rows replays resolve: the first replay of a row in the group
// resolves it, and the others find it resolved (see queueResolves).
type committer struct {
	s     *Store
	jobs  chan *commitJob
	stop  chan struct{}
	loops sync.WaitGroup
	once  sync.Once

	mu sync.Mutex
	// The groups being committed, and the batches they hold.
	groups, batches int
	// committed is closed, and replaced, whenever a group has been
	// committed, waking the loops that wait for one (see fill).
	committed chan struct{}
}

// startCommitter starts n loops that commit groups side by side, so that
// one can gather and run a group while another waits for its round trips
// and its WAL flush.
func startCommitter(s *Store, n int) *committer {
	c := &committer{s: s, jobs: make(chan *commitJob), stop: make(chan struct{}), committed: make(chan struct{})}
	for range n {
		c.loops.Go(c.loop)
	}
	return c
}

// commit queues b and waits for its group's outcome. Once the committer
// has taken the job, it waits even if ctx ends, so that an error always
// means that nothing was written.
func (c *committer) commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	j := &commitJob{ctx: ctx, b: b, done: make(chan struct{})}
	select {
	case c.jobs <- j:
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-c.stop:
		return nil, errClosed
	}
	<-j.done
	return j.res, j.err
}

func (c *committer) loop() {
	var waiting []*commitJob // jobs that overlapped an earlier group
	var careful bool
	for {
		if len(waiting) == 0 {
			select {
			case j := <-c.jobs:
				waiting = append(waiting, j)
			case <-c.stop:
				return
			}
		}
		var group []*commitJob
		group, waiting = c.gather(waiting)
		c.committing(len(group))
		waiting = append(waiting, c.commitGroup(group, &careful)...)
		c.committedGroup(len(group))
		if c.stopped() {
			for _, j := range waiting {
				j.finish(nil, errClosed)
			}
			return
		}
	}
}

// gather forms the next group from the jobs that are waiting and those
// queued since, and returns the jobs left for a later group: those that
// overlap a job of this one.
func (c *committer) gather(waiting []*commitJob) (group, later []*commitJob) {
	taken := map[string]bool{}
	add := func(j *commitJob) {
		if j.ctx.Err() != nil {
			j.finish(nil, j.ctx.Err())
			return
		}
		keys := batchKeys(j.b)
		for _, k := range keys {
			if taken[k] {
				later = append(later, j)
				return
			}
		}
		for _, k := range keys {
			taken[k] = true
		}
		group = append(group, j)
	}
	for _, j := range waiting {
		add(j)
	}
	for len(group) < maxGroup {
		select {
		case j := <-c.jobs:
			add(j)
		default:
			c.fill(func() int { return len(group) }, add)
			return group, later
		}
	}
	return group, later
}

// fill lets a group wait for more batches while it is smaller than the
// groups being committed are on average. Under load, batches arrive in
// bursts, as the callers of a committed group send their next webhooks,
// and a loop left idle would start a group with the first batch of a
// burst: that group of one pays the round trips, the statements and the
// WAL flush that a group of thirty shares, and a third of all groups were
// such. Groups of even size measured best (waiting for a quarter or half
// the size gave less). Waiting also ends when a group has been committed,
// so a batch waits for one group at most, and when nothing is being
// committed nothing waits. size reports how many batches the group holds.
func (c *committer) fill(size func() int, add func(*commitJob)) {
	c.mu.Lock()
	committed := c.committed
	c.mu.Unlock()
	for size() < maxGroup {
		c.mu.Lock()
		small := c.groups > 0 && size()*c.groups < c.batches
		c.mu.Unlock()
		if !small {
			return
		}
		select {
		case j := <-c.jobs:
			add(j)
		case <-committed:
			return
		case <-c.stop:
			return
		}
	}
}

// committing counts a group of n batches that is being committed.
func (c *committer) committing(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups++
	c.batches += n
}

// committedGroup counts a group of n batches as committed, and wakes the
// loops that wait for one.
func (c *committer) committedGroup(n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.groups--
	c.batches -= n
	close(c.committed)
	c.committed = make(chan struct{})
}

// batchKeys names what a batch reads or writes that another batch of the
// same group must not: its payments, entries and notification.
func batchKeys(b *payments.Batch) []string {
	var keys []string
	for _, u := range b.Payments {
		if u.GatewayID != "" {
			keys = append(keys, gatewayIDKey(b.Gateway, u.GatewayID))
		}
		if u.PaymentID != "" {
			keys = append(keys, paymentKey(u.PaymentID))
		}
	}
	keys = append(keys, entryKeys(b)...)
	for _, e := range b.Entries {
		if e.GatewayPaymentID != "" {
			keys = append(keys, gatewayIDKey(b.Gateway, e.GatewayPaymentID))
		}
	}
	if b.Notification != nil {
		keys = append(keys, "n\x00"+b.Notification.ID)
	}
	return keys
}

// entryKeys are the keys of a batch's entries, by the id each will have
// once planned (the planner fills in the ids on its copies).
func entryKeys(b *payments.Batch) []string {
	keys := make([]string, len(b.Entries))
	for i, e := range b.Entries {
		id := e.ID
		if id == "" {
			gateway := e.Gateway
			if gateway == "" {
				gateway = b.Gateway
			}
			id = payments.EntryID(gateway, e.Kind, e.GatewayRef)
		}
		keys[i] = entryKey(id)
	}
	return keys
}

func paymentKey(id string) string { return "p\x00" + id }

func gatewayIDKey(gateway, gatewayID string) string { return "g\x00" + gateway + "\x00" + gatewayID }

func entryKey(id string) string { return "e\x00" + id }

// commitGroup commits a group and reports to each of its jobs, except
// those it returns: they overlapped another batch of the group in a way
// only the database could tell, and wait for the next group.
//
// A group is first committed as if all its rows were new, in one round
// trip less (see commitAsNew); when one was not, it is run again the
// careful way, and so are the groups after it until one finds nothing
// recorded before, so that a stream of duplicates never pays twice per
// group. careful is that state, the loop's own.
func (c *committer) commitGroup(group []*commitJob, careful *bool) (later []*commitJob) {
	if len(group) == 0 {
		return nil
	}
	g := newGroupTx(c.s, group, !*careful)
	err := g.run(context.Background())
	if errors.Is(err, errExists) {
		*careful = true
		g = newGroupTx(c.s, group, false)
		err = g.run(context.Background())
	}
	if err == nil && *careful {
		*careful = g.sawExisting
	}
	switch {
	case err == nil:
		for _, gb := range g.batches {
			switch {
			case gb.later:
				later = append(later, gb.job)
			case gb.err != nil:
				gb.job.finish(nil, gb.err)
			default:
				gb.finish()
			}
		}
	case errors.Is(err, errUncertain):
		// The connection failed during COMMIT: whether the group was
		// written is unknown, so it is not run again.
		for _, gb := range g.batches {
			gb.job.finish(nil, err)
		}
	default:
		// The group was rolled back, so none of it was written: each
		// batch gets a transaction of its own, and a failing one its own
		// error.
		var redo []*commitJob
		for _, gb := range g.batches {
			if gb.err != nil && !gb.later {
				gb.job.finish(nil, gb.err)
				continue
			}
			redo = append(redo, gb.job)
		}
		// In group order, so that the batch that fails is the one that
		// would have failed had the group succeeded up to it; beside the
		// loop, which goes on with the next group.
		go func() {
			for _, j := range redo {
				j.finish(c.s.commitAlone(j.ctx, j.b))
			}
		}()
	}
	return later
}

func (c *committer) stopped() bool {
	select {
	case <-c.stop:
		return true
	default:
		return false
	}
}

// close stops taking batches and waits for the group in progress.
func (c *committer) close() {
	c.once.Do(func() {
		close(c.stop)
		c.loops.Wait()
	})
}

// committers is how many groups a Store commits at once: half the pool, so
// that reads and batches committed alone still find connections.
func committers(pool *pgxpool.Pool) int {
	return max(1, int(pool.Config().MaxConns)/2)
}
