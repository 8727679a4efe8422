// Package crashtest checks that a SQL store keeps every acknowledged webhook
// across crashes. A child process serving signed webhooks is killed with
// SIGKILL in the middle of a load, restarted on the same database, and killed
// again; after a last clean run the parent opens the store and checks that
// every notification answered 2xx is in the ledger exactly once, that nothing
// unsent is, and that balances and the journal agree with the entries.
//
// The child is the store's test binary itself, re-executed with
// -test.run=^TestCrashChild$ and environment variables that tell it its role
// and its database. A store's crash_test.go is a few lines:
//
//	func TestCrashChild(t *testing.T) { crashtest.Child(t, openCrashStore) }
//
//	func TestCrash(t *testing.T) {
//		crashtest.Run(t, crashtest.Config{Store: "sqlite", Target: path, Open: openCrashStore})
//	}
//
// SIGKILL ends the process but not the kernel's page cache: whatever the
// store wrote survives the kill, synced or not, so a store that acknowledges
// before its fsync passes. A store whose test hook records what each of its
// syncs made durable sets Config.AfterKill to drop, after each kill, what a
// power loss would have dropped; Config.ExpectLoss then runs the store with
// its flush disabled on purpose, to show that the run catches it.
//
// PAYMENTS_CRASHTEST_KILLS=n raises (or lowers) the number of kills for a
// soak run; the default is DefaultKills.
package crashtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// DefaultKills is how many times Run kills the child when neither
// Config.Kills nor PAYMENTS_CRASHTEST_KILLS says otherwise. Five kills
// reliably catch a handler that answers before it records, but catch a store
// that acknowledges just before its COMMIT only about half the time; twenty
// caught that in every run, for about ten seconds per store.
const DefaultKills = 20

// DefaultClients is how many clients post notifications concurrently when
// Config.Clients is 0: enough that a kill nearly always lands on requests in
// flight, and on SQLite's group commit batching several of them.
const DefaultClients = 8

// killsVar overrides the number of kills for a longer run.
const killsVar = "PAYMENTS_CRASHTEST_KILLS"

const (
	// killDelayMin and killDelayMax bound how long the child serves before
	// it is killed: long enough for a few hundred commits, short enough that
	// the whole run stays well under a minute with the race detector on.
	killDelayMin = 100 * time.Millisecond
	killDelayMax = 400 * time.Millisecond
	// cleanLoad is how long the last, unkilled child is loaded before the
	// unacknowledged notifications are redelivered to it.
	cleanLoad = 300 * time.Millisecond
	// runTimeout bounds a whole Run, whatever the number of kills.
	runTimeout = 5 * time.Minute
)

// OpenFunc opens the store under test at target: a file path, a schema, or
// whatever else names one database to the store. The child and the parent's
// final check both call it with Config.Target, so they open the same data.
type OpenFunc func(ctx context.Context, target string) (payments.Store, error)

// Config describes the store a Run crashes.
type Config struct {
	// Store names the store kind ("sqlite", "postgres"). The child is told
	// it, and it appears in messages.
	Store string
	// Target names the database, for Open in the child and in the parent.
	// It must be fresh for the run: the checks assume an empty ledger.
	Target string
	// Open opens the store for the final check; it must be the function the
	// store's TestCrashChild passes to Child.
	Open OpenFunc
	// Kills is how many times the child is killed; 0 means DefaultKills.
	// PAYMENTS_CRASHTEST_KILLS, when set, takes precedence.
	Kills int
	// Clients is the number of concurrent clients; 0 means DefaultClients.
	Clients int
	// ChildEnv is added to each child's environment, for instance to
	// turn on a store's test hook.
	ChildEnv []string
	// AfterKill, when set, runs after each kill, before the next child
	// starts, to make the database what a power loss at the kill would
	// have left: a store's test hook knows what it synced. Without it the
	// database keeps all the child wrote, and a lost fsync goes unseen.
	AfterKill func() error
	// ExpectLoss says the store acknowledges what it has not made durable,
	// on purpose (its flush disabled), so that AfterKill loses
	// acknowledged notifications: Run then passes only if its check finds
	// some missing from the ledger, the proof that the run would catch
	// such a store. Answers and redeliveries that a lost payment makes
	// fail are not held against the store then.
	ExpectLoss bool
}

func (c Config) withDefaults(t *testing.T) Config {
	t.Helper()
	require.NotEmpty(t, c.Store, "crashtest: Config.Store")
	require.NotEmpty(t, c.Target, "crashtest: Config.Target")
	require.NotNil(t, c.Open, "crashtest: Config.Open")
	if c.Kills == 0 {
		c.Kills = DefaultKills
	}
	if v := os.Getenv(killsVar); v != "" {
		n, err := strconv.Atoi(v)
		require.NoError(t, err, "crashtest: %s", killsVar)
		c.Kills = n
	}
	require.Positive(t, c.Kills, "crashtest: kills")
	if c.Clients == 0 {
		c.Clients = DefaultClients
	}
	require.Positive(t, c.Clients, "crashtest: clients")
	return c
}

// Run crashes the store described by cfg: it starts the child on
// cfg.Target, loads it and kills it, cfg.Kills times, then loads one more
// child, redelivers every notification that was never acknowledged, stops
// that child cleanly, and checks the database. The calling test binary must
// have a TestCrashChild that calls Child.
func Run(t *testing.T, cfg Config) {
	require.NotEqual(t, roleChild, os.Getenv(roleVar), "crashtest: Run called inside a child")
	cfg = cfg.withDefaults(t)
	ctx, cancel := context.WithTimeout(t.Context(), runTimeout)
	defer cancel()

	seed := rand.Uint64()
	r := &runner{t: t, cfg: cfg, rng: rand.New(rand.NewPCG(seed, seed)), model: newModel(seed), output: &childOutput{}}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("seed %d; child output, last part:\n%s", seed, r.output.tail(8<<10))
		}
	})

	began := time.Now()
	var inFlight int
	for i := 1; i <= cfg.Kills; i++ {
		s, delay := r.killedLife(ctx, i)
		inFlight += s.inFlight
		t.Logf("%s life %d: killed %s after the first acknowledgement; %d deliveries, %d acknowledged, %d in flight at the kill, %d refused after it; answers %v",
			cfg.Store, i, delay.Round(time.Millisecond), s.sent, s.acked, s.inFlight, s.refused, s.statuses)
	}
	s, redelivered := r.cleanLife(ctx)
	t.Logf("%s last life: %d deliveries, %d acknowledged, answers %v; then %d unacknowledged notifications redelivered",
		cfg.Store, s.sent, s.acked, s.statuses, redelivered)
	// A run in which no kill interrupted a request proved nothing about
	// requests in flight; with several busy clients it does not happen.
	require.Positive(t, inFlight, "no kill landed on a request in flight")

	store, err := cfg.Open(ctx, cfg.Target)
	require.NoError(t, err, "open %s after the run", cfg.Store)
	defer func() { require.NoError(t, store.Close()) }()
	if cfg.ExpectLoss {
		checkLoss(ctx, t, store, r.model)
	} else {
		check(ctx, t, store, r.model)
	}
	t.Logf("%s: %d kills in %s; %s", cfg.Store, cfg.Kills, time.Since(began).Round(time.Millisecond), r.model.summary())
}

// runner is one Run's state on the parent's side.
type runner struct {
	t      *testing.T
	cfg    Config
	rng    *rand.Rand // used by the test goroutine only
	model  *model
	output *childOutput
}

// killedLife starts a child, loads it, and kills it after a random delay in
// the middle of the load. The delay runs from the first acknowledgement, so
// that every kill lands on a child that is committing, not on one still
// opening its connections.
func (r *runner) killedLife(ctx context.Context, life int) (loadStats, time.Duration) {
	c := r.start(ctx, fmt.Sprintf("life %d", life))
	loadCtx, stopLoad := context.WithCancel(ctx)
	defer stopLoad()
	firstAck := make(chan struct{})
	var s loadStats
	loadEnded := make(chan struct{})
	go func() {
		defer close(loadEnded)
		s = r.model.drive(loadCtx, c.url, r.cfg.Clients, firstAck)
	}()

	delay := killDelayMin + time.Duration(r.rng.Int64N(int64(killDelayMax-killDelayMin)))
	select {
	case <-firstAck:
		select {
		case <-time.After(delay):
		case <-loadEnded: // every client lost the child: kill reports why
		case <-ctx.Done():
		}
	case <-time.After(startTimeout):
	case <-loadEnded:
	case <-ctx.Done():
	}
	err := c.kill()
	stopLoad()
	<-loadEnded
	require.NoError(r.t, err, "kill the child in life %d", life)
	require.NoError(r.t, ctx.Err(), "run timed out")
	if r.cfg.AfterKill != nil {
		require.NoError(r.t, r.cfg.AfterKill(), "after the kill in life %d", life)
	}
	r.requireNoClientErrors(s)
	return s, delay
}

// cleanLife starts a child, loads it, then redelivers every notification that
// was never acknowledged, as a gateway retries until it gets a 2xx, and stops
// the child cleanly. Every notification must be acknowledged by then.
func (r *runner) cleanLife(ctx context.Context) (loadStats, int) {
	c := r.start(ctx, "last life")
	loadCtx, stopLoad := context.WithTimeout(ctx, cleanLoad)
	s := r.model.drive(loadCtx, c.url, r.cfg.Clients, nil)
	stopLoad()
	redelivered, unacked := r.model.redeliverUnacknowledged(ctx, c.url)
	require.NoError(r.t, c.stop(), "stop the last child")
	r.requireNoClientErrors(s)
	if !r.cfg.ExpectLoss {
		require.Empty(r.t, unacked, "notifications a healthy child never acknowledged")
	}
	return s, redelivered
}

// requireNoClientErrors fails on 4xx answers. Every notification of the load
// is signed and consistent with the ledger, so a 4xx is a rejected signature
// or a contradiction the store invented (a 409 from an entry it half-wrote).
// A 5xx only asks for a retry, which the clean life gives. A store that
// lost acknowledged payments on purpose (ExpectLoss) may well refuse what
// refers to them.
func (r *runner) requireNoClientErrors(s loadStats) {
	r.t.Helper()
	if r.cfg.ExpectLoss {
		return
	}
	for status, count := range s.statuses {
		require.False(r.t, status >= 400 && status <= 499, "%d deliveries answered %d %s", count, status, http.StatusText(status))
	}
}
