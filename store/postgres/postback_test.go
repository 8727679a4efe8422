package postgres_test

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// saveEndpoint saves an endpoint that wants events (all when none).
func saveEndpoint(t *testing.T, s *postgres.Store, id string, events ...payments.EventType) {
	t.Helper()
	require.NoError(t, s.SaveEndpoint(t.Context(), &payments.Endpoint{ID: id, URL: "https://merchant.example/" + id,
		Secrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, Events: events, CreatedAt: clock}))
}

// postbackCharge is a batch that records a charge with postbacks on: one
// entry.recorded message.
func postbackCharge(ntf, ref string) *payments.Batch {
	b := groupBatch(ntf, groupCharge(ref, "acct", 100))
	b.Postbacks = true
	return b
}

// TestClaimDeliveriesAcrossInstances has two Stores, each with its own
// pool as two processes would have, claim the deliveries of one database
// from several goroutines each: none may be leased to two owners, and
// none left behind.
func TestClaimDeliveriesAcrossInstances(t *testing.T) {
	dsn := testDSN(t)
	schema := freshSchema(t, dsn)
	stores := []*postgres.Store{openStore(t, dsn, schema), openStore(t, dsn, schema)}
	for _, s := range stores {
		t.Cleanup(func() { _ = s.Close() })
	}
	saveEndpoint(t, stores[0], "ep_1", payments.EventEntryRecorded)
	saveEndpoint(t, stores[1], "ep_2", payments.EventEntryRecorded)
	const batches = 150
	for i := range batches {
		_, err := stores[i%2].Commit(t.Context(), postbackCharge(fmt.Sprint("ntf_", i), fmt.Sprint("ch_", i)))
		require.NoError(t, err)
	}

	type key struct{ message, endpoint string }
	var (
		mu      sync.Mutex
		claimed = map[key]string{} // → owner
		wg      sync.WaitGroup
	)
	for w := range 8 {
		s, owner := stores[w%2], fmt.Sprintf("instance-%d/worker-%d", w%2, w)
		wg.Go(func() {
			for {
				list, err := s.ClaimDeliveries(t.Context(), payments.DeliveryClaim{Owner: owner, Now: clock.Add(time.Second), Lease: time.Hour, Limit: 7})
				if !assert.NoError(t, err) || len(list) == 0 {
					return
				}
				var settlements []payments.DeliverySettlement
				for _, d := range list {
					k := key{d.Message.ID, d.EndpointID}
					mu.Lock()
					if prev, taken := claimed[k]; taken {
						t.Errorf("delivery %v leased to %s and to %s", k, prev, owner)
					}
					claimed[k] = owner
					mu.Unlock()
					assert.Equal(t, owner, d.LeaseOwner)
					settlements = append(settlements, payments.DeliverySettlement{
						MessageID: d.Message.ID, EndpointID: d.EndpointID, Owner: owner, State: payments.DeliveryDelivered, Attempts: 1,
						Attempt: payments.Attempt{MessageID: d.Message.ID, EndpointID: d.EndpointID, At: clock, Status: 204},
					})
				}
				errs, err := s.SettleDeliveries(t.Context(), settlements)
				if !assert.NoError(t, err) {
					return
				}
				for _, err := range errs {
					assert.NoError(t, err)
				}
			}
		})
	}
	wg.Wait()

	assert.Len(t, claimed, 2*batches, "every delivery claimed once")
	delivered, _, err := stores[1].Deliveries(t.Context(), payments.DeliveryFilter{State: payments.DeliveryDelivered, Limit: 10_000})
	require.NoError(t, err)
	assert.Len(t, delivered, 2*batches, "every delivery settled")
}

// TestPostbacksCommitWithTheirBatch checks both commit paths: a group's
// messages and deliveries are written in its transaction, and when the
// group is rolled back and its batches committed alone, the batch that
// fails leaves no message behind.
func TestPostbacksCommitWithTheirBatch(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	saveEndpoint(t, s, "ep_all")
	saveEndpoint(t, s, "ep_none", payments.EventPaymentCreated) // no payment in these batches
	_, err := s.Commit(ctx, groupBatch("ntf_taken"))
	require.NoError(t, err)

	_, errs := s.CommitTogether(ctx, postbackCharge("ntf_1", "ch_1"), postbackCharge("ntf_2", "ch_2"))
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	_, errs = s.CommitTogether(ctx, postbackCharge("ntf_3", "ch_3"), postbackCharge("ntf_taken", "ch_4"), postbackCharge("ntf_5", "ch_5"))
	require.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], payments.ErrConflict)
	require.NoError(t, errs[2])
	_, err = s.CommitAlone(ctx, postbackCharge("ntf_6", "ch_6"))
	require.NoError(t, err)

	list, next, err := s.Deliveries(ctx, payments.DeliveryFilter{Limit: 100})
	require.NoError(t, err)
	assert.Empty(t, next)
	var refs []string
	for _, d := range list {
		assert.Equal(t, "ep_all", d.EndpointID)
		assert.Equal(t, payments.EventEntryRecorded, d.Message.Type)
		assert.Equal(t, payments.DeliveryPending, d.State)
		assert.True(t, d.NextAttempt.Equal(clock), "due at once: %s", d.NextAttempt)
		refs = append(refs, string(d.Message.Body))
	}
	require.Len(t, refs, 5, "one delivery per committed batch's message")
	for i, ref := range []string{"ch_1", "ch_2", "ch_3", "ch_5", "ch_6"} {
		assert.Contains(t, refs[i], `"gateway_ref":"`+ref+`"`, "in queue order")
	}
}

// TestAttemptKeepsAnyAnswer settles an attempt whose answer and error are
// not text PostgreSQL takes, and longer than an attempt keeps: a
// settlement must not fail on what a receiver sent, or the delivery would
// be posted again and again.
func TestAttemptKeepsAnyAnswer(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	saveEndpoint(t, s, "ep_1")
	_, err := s.Commit(ctx, postbackCharge("ntf_1", "ch_1"))
	require.NoError(t, err)
	list, err := s.ClaimDeliveries(ctx, payments.DeliveryClaim{Owner: "a", Now: clock, Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	require.Len(t, list, 1)
	d := list[0]
	answer := "bad \xff\x00 bytes " + string(make([]byte, 5000))
	errs, err := s.SettleDeliveries(ctx, []payments.DeliverySettlement{{MessageID: d.Message.ID, EndpointID: "ep_1", Owner: "a",
		State: payments.DeliveryPending, Attempts: 1, NextAttempt: clock.Add(time.Minute),
		Attempt: payments.Attempt{MessageID: d.Message.ID, EndpointID: "ep_1", At: clock, Status: 500, Latency: time.Millisecond,
			Response: answer, Error: answer}}})
	require.NoError(t, err)
	require.NoError(t, errs[0])
	attempts, err := s.Attempts(ctx, d.Message.ID, "ep_1")
	require.NoError(t, err)
	require.Len(t, attempts, 1)
	assert.Equal(t, answer[:1024], attempts[0].Response, "the answer's start, byte for byte")
	assert.True(t, strings.HasPrefix(attempts[0].Error, "bad \uFFFD\uFFFD bytes "), "%.20q", attempts[0].Error)
	assert.LessOrEqual(t, len(attempts[0].Error), 1024)
}

// TestDisabledEndpointHoldsItsBacklog checks that a disabled endpoint's
// pending deliveries are skipped by claims, and that enabling it again
// releases them with their schedule kept.
func TestDisabledEndpointHoldsItsBacklog(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	saveEndpoint(t, s, "ep_1")
	for i := range 3 {
		_, err := s.Commit(ctx, postbackCharge(fmt.Sprint("ntf_", i), fmt.Sprint("ch_", i)))
		require.NoError(t, err)
	}
	ep, err := s.Endpoint(ctx, "ep_1")
	require.NoError(t, err)
	ep.DisabledAt, ep.DisabledReason = clock, "failing"
	require.NoError(t, s.SaveEndpoint(ctx, ep))
	claim := func() []payments.Delivery {
		list, err := s.ClaimDeliveries(ctx, payments.DeliveryClaim{Owner: "a", Now: clock.Add(time.Hour), Lease: time.Minute, Limit: 10})
		require.NoError(t, err)
		return list
	}
	assert.Empty(t, claim())
	ep.DisabledAt, ep.DisabledReason = time.Time{}, ""
	require.NoError(t, s.SaveEndpoint(ctx, ep))
	list := claim()
	require.Len(t, list, 3)
	for _, d := range list {
		assert.True(t, d.NextAttempt.Equal(clock), "its schedule kept: %s", d.NextAttempt)
	}
}
