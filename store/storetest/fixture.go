package storetest

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// Gateway names used by the suite. Stores must not care which gateways
// exist; two names are enough to check that keys and filters include the
// gateway.
const (
	gateway      = "testpay"
	otherGateway = "otherpay"
)

// listAll is a listing limit above anything a subtest writes, so that a store
// writing too many rows is caught instead of hidden by the default limit.
const listAll = 100_000

// at returns the suite's clock origin plus d. The origin has nanoseconds on
// purpose: truncating to microseconds here is what keeps every comparison
// valid for SQL stores, which keep no more.
func at(d time.Duration) time.Time {
	origin := time.Date(2025, time.March, 14, 9, 26, 53, 589_793_238, time.UTC)
	return origin.Add(d).Truncate(time.Microsecond).UTC()
}

// fixture is one subtest's store and the helpers that read it back. Its
// helpers use require and so must only be called from the test goroutine.
type fixture struct {
	t   *testing.T
	ctx context.Context
	s   payments.Store
}

func newFixture(t *testing.T, newStore func(t *testing.T) payments.Store) *fixture {
	s := newStore(t)
	require.NotNil(t, s, "newStore returned nil")
	t.Cleanup(func() { assert.NoError(t, s.Close(), "Close") })
	return &fixture{t: t, ctx: t.Context(), s: s}
}

// run runs body as a subtest on the same store, for table-driven cases that
// can share one store because each touches only its own rows or must write
// nothing at all.
func (f *fixture) run(name string, body func(f *fixture)) {
	f.t.Run(name, func(t *testing.T) {
		body(&fixture{t: t, ctx: t.Context(), s: f.s})
	})
}

// commit commits b and requires it to succeed.
func (f *fixture) commit(b *payments.Batch) *payments.BatchResult {
	f.t.Helper()
	res, err := f.s.Commit(f.ctx, b)
	require.NoError(f.t, err, "Commit")
	require.NotNil(f.t, res, "Commit returned no result")
	return res
}

// commitFails commits b and asserts it fails with target; a nil target
// accepts any error, for failures the contract does not classify.
func (f *fixture) commitFails(b *payments.Batch, target error) {
	f.t.Helper()
	res, err := f.s.Commit(f.ctx, b)
	if target == nil {
		assert.Error(f.t, err, "Commit")
	} else {
		assert.ErrorIs(f.t, err, target, "Commit")
	}
	assert.Nil(f.t, res, "a failed Commit returns no result")
}

func (f *fixture) createPayment(p *payments.Payment) {
	f.t.Helper()
	require.NoError(f.t, f.s.CreatePayment(f.ctx, p), "CreatePayment %s", p.ID)
}

func (f *fixture) payment(id string) payments.Payment {
	f.t.Helper()
	p, err := f.s.Payment(f.ctx, id)
	require.NoError(f.t, err, "Payment %s", id)
	return normPayment(*p)
}

func (f *fixture) paymentByGatewayID(gw, gatewayID string) payments.Payment {
	f.t.Helper()
	p, err := f.s.PaymentByGatewayID(f.ctx, gw, gatewayID)
	require.NoError(f.t, err, "PaymentByGatewayID %s/%s", gw, gatewayID)
	return normPayment(*p)
}

func (f *fixture) entries(filter payments.EntryFilter) []payments.Entry {
	f.t.Helper()
	if filter.Limit == 0 {
		filter.Limit = listAll
	}
	list, next, err := f.s.Entries(f.ctx, filter)
	require.NoError(f.t, err, "Entries")
	if filter.Limit == listAll {
		require.Empty(f.t, next, "a listing under its limit has no next page")
	}
	return normEntries(list)
}

func (f *fixture) balance(account string, currency payments.Currency) payments.Balance {
	f.t.Helper()
	b, err := f.s.Balance(f.ctx, account, currency)
	require.NoError(f.t, err, "Balance %s %s", account, currency)
	return normBalance(b)
}

func (f *fixture) balances(account string) []payments.Balance {
	f.t.Helper()
	list, err := f.s.Balances(f.ctx, account)
	require.NoError(f.t, err, "Balances %s", account)
	out := make([]payments.Balance, 0, len(list))
	for _, b := range list {
		out = append(out, normBalance(b))
	}
	return out
}

func (f *fixture) appendNotification(n *payments.Notification) {
	f.t.Helper()
	require.NoError(f.t, f.s.AppendNotification(f.ctx, n), "AppendNotification %s", n.ID)
}

func (f *fixture) notification(id string) payments.Notification {
	f.t.Helper()
	n, err := f.s.Notification(f.ctx, id)
	require.NoError(f.t, err, "Notification %s", id)
	return normNotification(*n)
}

func (f *fixture) notifications(filter payments.NotificationFilter) []payments.Notification {
	f.t.Helper()
	if filter.Limit == 0 {
		filter.Limit = listAll
	}
	list, next, err := f.s.Notifications(f.ctx, filter)
	require.NoError(f.t, err, "Notifications")
	if filter.Limit == listAll {
		require.Empty(f.t, next, "a listing under its limit has no next page")
	}
	out := make([]payments.Notification, 0, len(list))
	for _, n := range list {
		out = append(out, normNotification(n))
	}
	return out
}

// tasks lists the sync tasks in state; an empty state lists every state.
func (f *fixture) tasks(state payments.SyncState) []payments.SyncTask {
	f.t.Helper()
	var all []payments.SyncTask
	states := []payments.SyncState{state}
	if state == "" {
		states = []payments.SyncState{payments.SyncPending, payments.SyncDone, payments.SyncParked}
	}
	for _, st := range states {
		list, next, err := f.s.SyncTasks(f.ctx, payments.SyncFilter{State: st, Limit: listAll})
		require.NoError(f.t, err, "SyncTasks %s", st)
		require.Empty(f.t, next, "a listing under its limit has no next page")
		all = append(all, normTasks(list)...)
	}
	return all
}

// task returns the one sync task of entryID, in whatever state.
func (f *fixture) task(entryID string) payments.SyncTask {
	f.t.Helper()
	for _, t := range f.tasks("") {
		if t.Entry.ID == entryID {
			return t
		}
	}
	require.FailNow(f.t, "no sync task", "entry %s", entryID)
	return payments.SyncTask{}
}

func (f *fixture) claim(owner string, now time.Time, lease time.Duration, limit int) []payments.SyncTask {
	f.t.Helper()
	list, err := f.s.ClaimSync(f.ctx, payments.SyncClaim{Owner: owner, Now: now, Lease: lease, Limit: limit})
	require.NoError(f.t, err, "ClaimSync by %s", owner)
	return normTasks(list)
}

// state is everything a Commit can write, read back through the Store's own
// API so that a failed Commit can be shown to have written nothing.
type state struct {
	Payments      map[string]payments.Payment
	Entries       []payments.Entry
	Balances      map[string][]payments.Balance
	SyncTasks     []payments.SyncTask
	Notifications []payments.Notification
}

// snapshot reads the state of the given payments and accounts and of the
// whole ledger, outbox and journal.
func (f *fixture) snapshot(paymentIDs, accounts []string) state {
	f.t.Helper()
	st := state{
		Payments:      map[string]payments.Payment{},
		Entries:       f.entries(payments.EntryFilter{}),
		Balances:      map[string][]payments.Balance{},
		SyncTasks:     f.tasks(""),
		Notifications: f.notifications(payments.NotificationFilter{}),
	}
	for _, id := range paymentIDs {
		st.Payments[id] = f.payment(id)
	}
	for _, a := range accounts {
		st.Balances[a] = f.balances(a)
	}
	return st
}

// assertWritesNothing commits b, asserts that it fails with target (any
// error when target is nil), and asserts that the store reads exactly as it
// did before: no payment, entry, balance, sync task or journal row changed.
func (f *fixture) assertWritesNothing(b *payments.Batch, target error, paymentIDs, accounts []string) {
	f.t.Helper()
	before := f.snapshot(paymentIDs, accounts)
	f.commitFails(b, target)
	assert.Equal(f.t, before, f.snapshot(paymentIDs, accounts), "a failed Commit must write nothing")
	if b.Notification != nil && !slices.Contains(notificationIDs(before.Notifications), b.Notification.ID) {
		_, err := f.s.Notification(f.ctx, b.Notification.ID)
		assert.ErrorIs(f.t, err, payments.ErrNotFound, "journal row of a failed Commit")
	}
}
