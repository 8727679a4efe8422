package storetest

import (
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// postbackTests check a payments.PostbackStore. A Store that does not
// implement it declares it keeps no postbacks: the group says so and
// checks nothing.
func postbackTests() []namedTest {
	return []namedTest{
		{"FanOutAtCommit", testPostbackFanOut},
		{"ClaimLeasesAndSettles", testPostbackClaim},
		{"SettleBatchPerItem", testPostbackSettleBatch},
		{"DisabledEndpointWaits", testPostbackDisabled},
		{"AttemptsAndRedeliver", testPostbackAttempts},
		{"AttemptTextBounded", testPostbackAttemptTextBounded},
		{"FailingSince", testPostbackFailingSince},
		{"ConcurrentClaimers", testPostbackConcurrentClaimers},
		{"DeliveriesPage", testPostbackPages},
	}
}

func (f *fixture) postbacks() payments.PostbackStore {
	f.t.Helper()
	ps, ok := f.s.(payments.PostbackStore)
	if !ok {
		f.t.Skip("the Store keeps no postbacks (it is no payments.PostbackStore)")
	}
	return ps
}

func (f *fixture) endpoint(ps payments.PostbackStore, id string, events ...payments.EventType) *payments.Endpoint {
	f.t.Helper()
	e := &payments.Endpoint{ID: id, URL: "https://merchant.example/" + id, Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"},
		Events: events, Owner: "merchant_1", CreatedAt: at(-time.Hour)}
	require.NoError(f.t, ps.SaveEndpoint(f.ctx, e))
	return e
}

// postbackBatch records a charge with its payment, with postbacks on: a
// payment created, a status change is not (it is created succeeded), an
// entry recorded.
func postbackBatch(now time.Time, ref string) *payments.Batch {
	b := batchAt(now, chargeOf("ch_"+ref, "pi_"+ref, 500))
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_" + ref, Account: "acct_1", Status: payments.StatusSucceeded}}
	b.Postbacks = true
	return b
}

// settleDeliveries hands list to SettleDeliveries as one batch and returns its
// per-settlement outcomes, requiring the call as a whole to succeed.
func (f *fixture) settleDeliveries(ps payments.PostbackStore, list ...payments.DeliverySettlement) []error {
	f.t.Helper()
	errs, err := ps.SettleDeliveries(f.ctx, list)
	require.NoError(f.t, err)
	require.Len(f.t, errs, len(list), "an outcome per settlement")
	return errs
}

func (f *fixture) deliveries(ps payments.PostbackStore, filter payments.DeliveryFilter) []payments.Delivery {
	f.t.Helper()
	filter.Limit = listAll
	list, next, err := ps.Deliveries(f.ctx, filter)
	require.NoError(f.t, err)
	require.Empty(f.t, next)
	return list
}

func testPostbackFanOut(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_all")
	f.endpoint(ps, "ep_entries", payments.EventEntryRecorded)
	off := f.endpoint(ps, "ep_off")
	off.DisabledAt, off.DisabledReason = at(0), "host"
	require.NoError(f.t, ps.SaveEndpoint(f.ctx, off))

	f.commit(postbackBatch(at(0), "1"))
	plain := postbackBatch(at(time.Second), "2")
	plain.Postbacks = false
	f.commit(plain)

	all := f.deliveries(ps, payments.DeliveryFilter{EndpointID: "ep_all"})
	require.Len(f.t, all, 2, "payment.created and entry.recorded")
	assert.ElementsMatch(f.t, []payments.EventType{payments.EventPaymentCreated, payments.EventEntryRecorded},
		[]payments.EventType{all[0].Message.Type, all[1].Message.Type})
	for _, d := range all {
		assert.Equal(f.t, payments.DeliveryPending, d.State)
		assert.NotEmpty(f.t, d.Message.Body)
		assert.NotEmpty(f.t, d.Message.PaymentID)
	}
	entries := f.deliveries(ps, payments.DeliveryFilter{EndpointID: "ep_entries"})
	require.Len(f.t, entries, 1)
	assert.Equal(f.t, payments.EventEntryRecorded, entries[0].Message.Type)
	assert.Equal(f.t, all[1].Message.ID, entries[0].Message.ID, "one message, the same for every endpoint")
	assert.Empty(f.t, f.deliveries(ps, payments.DeliveryFilter{EndpointID: "ep_off"}), "a disabled endpoint gets no new message")
	assert.Len(f.t, f.deliveries(ps, payments.DeliveryFilter{}), 3, "a batch without postbacks queues none")

	eps, err := ps.Endpoints(f.ctx)
	require.NoError(f.t, err)
	require.Len(f.t, eps, 3)
	got, err := ps.Endpoint(f.ctx, "ep_entries")
	require.NoError(f.t, err)
	assert.Equal(f.t, []payments.EventType{payments.EventEntryRecorded}, got.Events)
	assert.Equal(f.t, "merchant_1", got.Owner)
	_, err = ps.Endpoint(f.ctx, "ep_missing")
	assert.ErrorIs(f.t, err, payments.ErrNotFound)
}

func testPostbackClaim(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	f.commit(postbackBatch(at(0), "1"))
	claim := func(owner string, now time.Time) []payments.Delivery {
		list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: owner, Now: now, Lease: lease, Limit: 10})
		require.NoError(f.t, err)
		return list
	}
	got := claim("a", at(time.Second))
	require.Len(f.t, got, 1)
	assert.Empty(f.t, claim("b", at(2*time.Second)), "leased")
	d := got[0]
	wrong := payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "b", State: payments.DeliveryDelivered, Attempts: 1}
	assert.ErrorIs(f.t, f.settleDeliveries(ps, wrong)[0], payments.ErrConflict)

	retry := payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "a", State: payments.DeliveryPending,
		Attempts: 1, NextAttempt: at(time.Minute), Attempt: payments.Attempt{MessageID: d.Message.ID, EndpointID: "ep_1", At: at(time.Second), Status: 503}}
	require.NoError(f.t, f.settleDeliveries(ps, retry)[0])
	assert.Empty(f.t, claim("b", at(30*time.Second)), "not due yet")
	again := claim("b", at(time.Minute))
	require.Len(f.t, again, 1)
	assert.Equal(f.t, 1, again[0].Attempts)
	assert.Equal(f.t, 503, again[0].LastStatus)
	done := payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "b", State: payments.DeliveryDelivered, Attempts: 2,
		Attempt: payments.Attempt{MessageID: d.Message.ID, EndpointID: "ep_1", At: at(time.Minute), Status: 204}}
	require.NoError(f.t, f.settleDeliveries(ps, done)[0])
	assert.Empty(f.t, claim("c", at(time.Hour)), "delivered")
	assert.Equal(f.t, payments.DeliveryDelivered, f.deliveries(ps, payments.DeliveryFilter{})[0].State)
}

// testPostbackSettleBatch settles, in one call, a delivery leased to its
// owner, one leased to another owner and one that does not exist: each
// gets its own outcome, and only the first is settled and journaled.
func testPostbackSettleBatch(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	f.commit(postbackBatch(at(0), "1"))
	f.commit(postbackBatch(at(time.Second), "2"))
	claim := func(owner string) payments.Delivery {
		list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: owner, Now: at(time.Minute), Lease: lease, Limit: 1})
		require.NoError(f.t, err)
		require.Len(f.t, list, 1)
		return list[0]
	}
	mine, theirs := claim("a"), claim("b")
	settlement := func(messageID string, owner string) payments.DeliverySettlement {
		return payments.DeliverySettlement{MessageID: messageID, EndpointID: "ep_1", Owner: owner, State: payments.DeliveryDelivered,
			Attempts: 1, Attempt: payments.Attempt{MessageID: messageID, EndpointID: "ep_1", At: at(time.Minute), Status: 204}}
	}
	bad := settlement(mine.Message.ID, "a")
	bad.State = "lost"

	errs := f.settleDeliveries(ps, settlement(mine.Message.ID, "a"), settlement(theirs.Message.ID, "a"), settlement("msg_missing", "a"), bad)
	assert.NoError(f.t, errs[0], "leased to a")
	assert.ErrorIs(f.t, errs[1], payments.ErrConflict, "leased to b")
	assert.ErrorIs(f.t, errs[2], payments.ErrNotFound, "no such delivery")
	assert.ErrorIs(f.t, errs[3], payments.ErrInvalidInput, "no such state")

	attempts, err := ps.Attempts(f.ctx, mine.Message.ID, "ep_1")
	require.NoError(f.t, err)
	require.Len(f.t, attempts, 1, "the settled delivery's attempt is journaled")
	assert.Equal(f.t, 204, attempts[0].Status)
	attempts, err = ps.Attempts(f.ctx, theirs.Message.ID, "ep_1")
	require.NoError(f.t, err)
	assert.Empty(f.t, attempts, "a refused settlement journals nothing")
	attempts, err = ps.Attempts(f.ctx, "msg_missing", "ep_1")
	require.NoError(f.t, err)
	assert.Empty(f.t, attempts)

	states := map[string]payments.Delivery{}
	for _, d := range f.deliveries(ps, payments.DeliveryFilter{}) {
		states[d.Message.ID] = d
	}
	assert.Equal(f.t, payments.DeliveryDelivered, states[mine.Message.ID].State)
	assert.Equal(f.t, payments.DeliveryPending, states[theirs.Message.ID].State, "a refused settlement changes nothing")
	assert.Equal(f.t, "b", states[theirs.Message.ID].LeaseOwner, "b's lease stands")
	assert.Zero(f.t, states[theirs.Message.ID].Attempts)
	assert.NoError(f.t, f.settleDeliveries(ps, settlement(theirs.Message.ID, "b"))[0], "and b settles it")

	// A delivery nobody has leased is settled by no one, not by an
	// empty owner.
	f.commit(postbackBatch(at(2*time.Second), "3"))
	var unleased string
	for _, d := range f.deliveries(ps, payments.DeliveryFilter{}) {
		if d.State == payments.DeliveryPending && d.LeaseOwner == "" {
			unleased = d.Message.ID
		}
	}
	require.NotEmpty(f.t, unleased)
	assert.ErrorIs(f.t, f.settleDeliveries(ps, settlement(unleased, ""))[0], payments.ErrConflict, "settled without a lease")
	attempts, err = ps.Attempts(f.ctx, unleased, "ep_1")
	require.NoError(f.t, err)
	assert.Empty(f.t, attempts)

	none, err := ps.SettleDeliveries(f.ctx, nil)
	require.NoError(f.t, err)
	assert.Empty(f.t, none, "an empty batch settles nothing")
}

func testPostbackDisabled(f *fixture) {
	ps := f.postbacks()
	ep := f.endpoint(ps, "ep_1")
	f.commit(postbackBatch(at(0), "1"))
	ep.DisabledAt, ep.DisabledReason = at(time.Second), "failing"
	require.NoError(f.t, ps.SaveEndpoint(f.ctx, ep))
	list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "a", Now: at(time.Minute), Lease: lease, Limit: 10})
	require.NoError(f.t, err)
	assert.Empty(f.t, list, "a disabled endpoint's deliveries wait")
	assert.Len(f.t, f.deliveries(ps, payments.DeliveryFilter{State: payments.DeliveryPending}), 2, "and are kept")
	got, err := ps.Endpoint(f.ctx, "ep_1")
	require.NoError(f.t, err)
	assert.Equal(f.t, "failing", got.DisabledReason)
	assert.True(f.t, got.DisabledAt.Equal(at(time.Second)))

	ep.DisabledAt, ep.DisabledReason = time.Time{}, ""
	require.NoError(f.t, ps.SaveEndpoint(f.ctx, ep))
	list, err = ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "a", Now: at(time.Minute), Lease: lease, Limit: 10})
	require.NoError(f.t, err)
	assert.Len(f.t, list, 2, "re-enabled, they resume")
}

func testPostbackAttempts(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	f.commit(postbackBatch(at(0), "1"))
	d := f.deliveries(ps, payments.DeliveryFilter{})[0]
	for i, status := range []int{500, 0} {
		list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "a", Now: at(time.Duration(i) * time.Hour), Lease: lease, Limit: 1})
		require.NoError(f.t, err)
		require.Len(f.t, list, 1)
		a := payments.Attempt{MessageID: d.Message.ID, EndpointID: "ep_1", At: at(time.Duration(i) * time.Hour), Status: status,
			Latency: 12 * time.Millisecond, Response: "oops", Error: map[bool]string{true: "connection refused"}[status == 0]}
		state := payments.DeliveryPending
		if i == 1 {
			state = payments.DeliveryFailed
		}
		require.NoError(f.t, f.settleDeliveries(ps, payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "a",
			State: state, Attempts: i + 1, NextAttempt: at(time.Hour), Attempt: a})[0])
	}
	attempts, err := ps.Attempts(f.ctx, d.Message.ID, "ep_1")
	require.NoError(f.t, err)
	require.Len(f.t, attempts, 2)
	assert.Equal(f.t, 500, attempts[0].Status)
	assert.Equal(f.t, "connection refused", attempts[1].Error)
	assert.Equal(f.t, 12*time.Millisecond, attempts[0].Latency)
	assert.Equal(f.t, "oops", attempts[0].Response)

	assert.Equal(f.t, payments.DeliveryFailed, f.deliveries(ps, payments.DeliveryFilter{})[0].State)
	require.NoError(f.t, ps.Redeliver(f.ctx, d.Message.ID, "ep_1", at(3*time.Hour)))
	list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "b", Now: at(3 * time.Hour), Lease: lease, Limit: 1})
	require.NoError(f.t, err)
	require.Len(f.t, list, 1, "redelivered: due again")
	assert.Equal(f.t, 2, list[0].Attempts, "its attempts are kept")
	assert.ErrorIs(f.t, ps.Redeliver(f.ctx, "msg_missing", "ep_1", at(0)), payments.ErrNotFound)
}

// testPostbackAttemptTextBounded settles attempts whose answer and error
// are longer than payments.MaxAttemptText: every store keeps their first
// MaxAttemptText bytes, less a character the bound would split, in the
// attempt and in the delivery's LastError.
func testPostbackAttemptTextBounded(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	const limit = payments.MaxAttemptText
	a := func(n int) string { return strings.Repeat("a", n) }
	cases := []struct{ name, text, want string }{
		{"short", "refused: é", "refused: é"},
		{"exactly the bound", a(limit), a(limit)},
		{"ASCII past the bound", a(limit) + "b", a(limit)},
		{"two-byte character split", a(limit-1) + "é", a(limit - 1)},
		{"four-byte character split", a(limit-3) + "🙂" + "b", a(limit - 3)},
		{"four-byte character ending at the bound", a(limit-4) + "🙂" + "b", a(limit-4) + "🙂"},
	}
	for i := range cases {
		f.commit(postbackBatch(at(time.Duration(i)*time.Second), fmt.Sprint(i)))
	}
	claimed, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "a", Now: at(time.Minute), Lease: lease, Limit: 10})
	require.NoError(f.t, err)
	require.Len(f.t, claimed, len(cases))
	settlements := make([]payments.DeliverySettlement, len(cases))
	for i, c := range cases {
		d := claimed[i]
		settlements[i] = payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "a",
			State: payments.DeliveryPending, Attempts: 1, NextAttempt: at(time.Hour),
			Attempt: payments.Attempt{At: at(time.Minute), Status: 500, Response: c.text, Error: c.text}}
	}
	for i, err := range f.settleDeliveries(ps, settlements...) {
		require.NoError(f.t, err, cases[i].name)
	}
	lastErrors := map[string]string{}
	for _, d := range f.deliveries(ps, payments.DeliveryFilter{}) {
		lastErrors[d.Message.ID] = d.LastError
	}
	for i, c := range cases {
		id := claimed[i].Message.ID
		attempts, err := ps.Attempts(f.ctx, id, "ep_1")
		require.NoError(f.t, err)
		require.Len(f.t, attempts, 1, c.name)
		assert.Equal(f.t, c.want, attempts[0].Response, "%s: response", c.name)
		assert.Equal(f.t, c.want, attempts[0].Error, "%s: error", c.name)
		assert.Equal(f.t, c.want, lastErrors[id], "%s: the delivery's last error", c.name)
		assert.Equal(f.t, id, attempts[0].MessageID, "%s: the attempt names its delivery", c.name)
		assert.Equal(f.t, "ep_1", attempts[0].EndpointID, c.name)
	}
}

func testPostbackFailingSince(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	f.endpoint(ps, "ep_2", payments.EventEntryRecorded)
	f.commit(postbackBatch(at(0), "1"))
	f.commit(postbackBatch(at(time.Hour), "2"))
	since, err := ps.FailingSince(f.ctx)
	require.NoError(f.t, err)
	assert.Empty(f.t, since, "nothing has failed yet")

	list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: "a", Now: at(2 * time.Hour), Lease: lease, Limit: 10})
	require.NoError(f.t, err)
	var failed []payments.DeliverySettlement
	for _, d := range list {
		if d.EndpointID != "ep_1" {
			continue
		}
		failed = append(failed, payments.DeliverySettlement{MessageID: d.Message.ID, EndpointID: d.EndpointID,
			Owner: "a", State: payments.DeliveryPending, Attempts: 1, NextAttempt: at(3 * time.Hour),
			Attempt: payments.Attempt{MessageID: d.Message.ID, EndpointID: d.EndpointID, At: at(2 * time.Hour), Status: 500}})
	}
	require.Len(f.t, failed, 2)
	for _, err := range f.settleDeliveries(ps, failed...) {
		require.NoError(f.t, err)
	}
	since, err = ps.FailingSince(f.ctx)
	require.NoError(f.t, err)
	require.Len(f.t, since, 1)
	assert.True(f.t, since["ep_1"].Equal(at(0)), "its oldest failing message's time: %s", since["ep_1"])
}

func testPostbackConcurrentClaimers(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	const n = 40
	for i := range n {
		f.commit(postbackBatch(at(time.Duration(i)*time.Second), fmt.Sprint(i)))
	}
	var mu sync.Mutex
	seen := map[string]int{}
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for {
				list, err := ps.ClaimDeliveries(f.ctx, payments.DeliveryClaim{Owner: fmt.Sprint("w", w), Now: at(time.Hour), Lease: lease, Limit: 3})
				if err != nil || len(list) == 0 {
					return
				}
				mu.Lock()
				for _, d := range list {
					seen[d.Message.ID]++
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	assert.Len(f.t, seen, n)
	for id, c := range seen {
		assert.Equal(f.t, 1, c, "message %s claimed %d times", id, c)
	}
}

func testPostbackPages(f *fixture) {
	ps := f.postbacks()
	f.endpoint(ps, "ep_1", payments.EventEntryRecorded)
	for i := range 25 {
		f.commit(postbackBatch(at(time.Duration(i)*time.Second), fmt.Sprint(i)))
	}
	all := f.deliveries(ps, payments.DeliveryFilter{})
	paged := readPages(f, 7, func(after string) ([]payments.Delivery, string, error) {
		return ps.Deliveries(f.ctx, payments.DeliveryFilter{Limit: 7, After: after})
	})
	require.Len(f.t, paged, 25)
	for i := range all {
		assert.Equal(f.t, all[i].Message.ID, paged[i].Message.ID)
	}
}
