package postgres_test

import (
	"context"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// turns counts round trips on the connections it dialed: each time the
// client writes after it has read, it has waited for the server once. A
// pipeline, however many statements it holds, is one.
type turns struct {
	mu    sync.Mutex
	n     int
	wrote map[net.Conn]bool // whether a conn's last I/O was a write
}

func (c *turns) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &countedConn{Conn: conn, turns: c}, nil
}

func (c *turns) io(conn net.Conn, write bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if write && !c.wrote[conn] {
		c.n++
	}
	c.wrote[conn] = write
}

// count returns how many round trips fn took.
func (c *turns) count(fn func()) int {
	c.mu.Lock()
	start := c.n
	c.mu.Unlock()
	fn()
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n - start
}

type countedConn struct {
	net.Conn
	turns *turns
}

func (c *countedConn) Write(b []byte) (int, error) {
	c.turns.io(c, true)
	return c.Conn.Write(b)
}

func (c *countedConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.turns.io(c, false)
	}
	return n, err
}

// TestRoundTrips pins how many round trips a new batch costs on each path,
// the figures the committer's design rests on: a group writes it in two
// (read and lock its payments; write everything and commit), where a
// transaction of its own takes one per statement or pipeline (begin, look
// the payment up, write the payment and the entry, write the rest,
// commit).
//
// The Store runs on one connection, without the pool's liveness pings, and
// each batch is measured after one of the same shape, so that no statement
// is prepared while it is counted. A redelivery is left out: its group
// fails its first attempt (commitAsNew), and pgx then drops the prepared
// statements of the failed pipeline, so that what it costs depends on what
// ran before it on the connection.
func TestRoundTrips(t *testing.T) {
	dsn := testDSN(t)
	cfg, err := pgxpool.ParseConfig(dsn)
	require.NoError(t, err)
	counter := &turns{wrote: map[net.Conn]bool{}}
	cfg.ConnConfig.DialFunc = counter.dial
	cfg.MaxConns = 1
	cfg.ShouldPing = func(context.Context, pgxpool.ShouldPingParams) bool { return false }
	ctx := t.Context()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	require.NoError(t, err)
	defer pool.Close()
	s, err := postgres.New(ctx, pool, postgres.Options{Schema: freshSchema(t, dsn)})
	require.NoError(t, err)
	defer s.Close() //nolint:errcheck // nothing to report

	// batch creates a payment, authorized, and records its charge, as the
	// first webhook about a payment does.
	batch := func(id string) *payments.Batch {
		return &payments.Batch{
			Gateway: "trippay", Now: clock, Account: "acct",
			Payments: []payments.PaymentUpdate{{GatewayID: "pi_" + id, Status: payments.StatusAuthorized}},
			Entries: []payments.Entry{{Kind: payments.KindCharge, GatewayRef: "ch_" + id, GatewayPaymentID: "pi_" + id,
				Amount: payments.Money{Amount: 100, Currency: "USD"}}},
			Notification: &payments.Notification{ID: "ntf_" + id, Gateway: "trippay", ReceivedAt: clock, Verified: true},
		}
	}
	// Postbacks, when the batch has them, are queued in a statement of the
	// pipeline that writes the rest: they cost no round trip either.
	require.NoError(t, s.SaveEndpoint(ctx, &payments.Endpoint{ID: "ep_1", URL: "https://merchant.example/",
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, CreatedAt: clock}))
	group := func(b *payments.Batch) (*payments.BatchResult, error) {
		res, errs := s.CommitTogether(ctx, b)
		return res[0], errs[0]
	}
	alone := func(b *payments.Batch) (*payments.BatchResult, error) { return s.CommitAlone(ctx, b) }
	for _, p := range []struct {
		name      string
		commit    func(*payments.Batch) (*payments.BatchResult, error)
		postbacks bool
		trips     int
	}{
		{"group", group, false, 2},
		{"alone", alone, false, 5},
		{"group with postbacks", group, true, 2},
		{"alone with postbacks", alone, true, 5},
	} {
		for i := range 2 { // the first prepares the statements
			var res *payments.BatchResult
			b := batch(fmt.Sprintf("%s_%d", strings.ReplaceAll(p.name, " ", "_"), i))
			b.Postbacks = p.postbacks
			trips := counter.count(func() { res, err = p.commit(b) })
			require.NoError(t, err)
			require.Len(t, res.Entries, 1)
			require.Len(t, res.Created, 1)
			if i > 0 {
				assert.Equal(t, p.trips, trips, "round trips of a new batch committed %s", p.name)
			}
		}
	}
	list, _, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 100})
	require.NoError(t, err)
	assert.Len(t, list, 4*2, "payment.created and entry.recorded of each batch with postbacks")
}
