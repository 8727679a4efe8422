package gatetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

func postbackTests() []namedTest {
	return []namedTest{
		{"QueueOncePerStatus", testQueueOncePerStatus},
		{"ClaimOldestOfEachRecord", testClaimOldestOfEachRecord},
		{"LeasesAndDueTimes", testLeasesAndDueTimes},
		{"SettleByOwnerOnly", testSettleByOwnerOnly},
		{"ConcurrentClaims", testConcurrentClaims},
	}
}

// postback returns the postback of r's status queued at.
func postback(r *gate.Record, status gate.Status, at time.Time) *gate.Postback {
	return &gate.Postback{
		MessageID: "msg_" + hexOf(r.ID+string(status)), RecordID: r.ID, Merchant: r.Merchant,
		URL: r.Request.PostbackURL, Type: gate.EventType("payment." + string(status)), Status: status,
		Body: []byte(`{"type":"payment.` + string(status) + `","data":{"amount":"10.50"}}`), State: gate.PostbackPending,
		NextAttempt: at, CreatedAt: at,
	}
}

func claim(owner string, now time.Time) gate.PostbackClaim {
	return gate.PostbackClaim{Owner: owner, Now: now, Lease: time.Minute, Limit: 100}
}

func testQueueOncePerStatus(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "order-1", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	p := postback(r, gate.StatusSucceeded, epoch)
	queued, err := s.Records.QueuePostback(ctx, p)
	require.NoError(t, err)
	assert.True(t, queued)
	got, err := s.Records.Record(ctx, r.ID)
	require.NoError(t, err)
	assert.Equal(t, gate.StatusSucceeded, got.Posted, "queueing sets Posted in the same step")

	queued, err = s.Records.QueuePostback(ctx, postback(r, gate.StatusSucceeded, epoch.Add(time.Second)))
	require.NoError(t, err)
	assert.False(t, queued, "a status is posted once")
	queued, err = s.Records.QueuePostback(ctx, postback(r, gate.StatusFailed, epoch.Add(time.Second)))
	require.NoError(t, err)
	assert.False(t, queued, "never a step backwards")
	queued, err = s.Records.QueuePostback(ctx, postback(r, gate.StatusRefunded, epoch.Add(time.Second)))
	require.NoError(t, err)
	assert.True(t, queued)

	pbs, err := s.Records.Postbacks(ctx, r.ID)
	require.NoError(t, err)
	require.Len(t, pbs, 2)
	assert.Equal(t, p.MessageID, pbs[0].MessageID, "oldest first")
	assert.Equal(t, p.Body, pbs[0].Body)
	assert.Equal(t, p.URL, pbs[0].URL)
	assert.Equal(t, gate.EventType("payment.succeeded"), pbs[0].Type)
	assert.Equal(t, gate.PostbackPending, pbs[0].State)
	assert.True(t, sameInstant(epoch, pbs[0].CreatedAt))
	assert.True(t, sameInstant(epoch, pbs[0].NextAttempt))

	_, err = s.Records.QueuePostback(ctx, postback(record("m1", "none", epoch), gate.StatusSucceeded, epoch))
	assert.ErrorIs(t, err, payments.ErrNotFound)
}

// Only a record's oldest pending postback goes, so that the merchant hears
// a payment's statuses in order; records do not wait for each other.
func testClaimOldestOfEachRecord(t *testing.T, s Stores) {
	ctx := t.Context()
	a, b := record("m1", "a", epoch), record("m1", "b", epoch)
	for _, r := range []*gate.Record{a, b} {
		require.NoError(t, s.Records.CreateRecord(ctx, r))
	}
	for _, p := range []*gate.Postback{postback(a, gate.StatusFailed, epoch), postback(b, gate.StatusSucceeded, epoch),
		postback(a, gate.StatusSucceeded, epoch)} {
		queued, err := s.Records.QueuePostback(ctx, p)
		require.NoError(t, err)
		require.True(t, queued)
	}
	now := epoch.Add(time.Second)
	got, err := s.Records.ClaimPostbacks(ctx, claim("one", now))
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, gate.StatusFailed, got[0].Status, "in the order queued")
	assert.Equal(t, b.ID, got[1].RecordID)
	assert.Equal(t, "one", got[0].LeaseOwner)
	assert.True(t, sameInstant(now.Add(time.Minute), got[0].LeaseUntil))

	first := got[0]
	first.State, first.Attempts, first.LastStatus = gate.PostbackDelivered, 1, 204
	require.NoError(t, s.Records.SettlePostback(ctx, "one", &first))
	got, err = s.Records.ClaimPostbacks(ctx, claim("two", now))
	require.NoError(t, err)
	require.Len(t, got, 1, "b's is leased still; a's next is due")
	assert.Equal(t, a.ID, got[0].RecordID)
	assert.Equal(t, gate.StatusSucceeded, got[0].Status)
}

func testLeasesAndDueTimes(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "a", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	_, err := s.Records.QueuePostback(ctx, postback(r, gate.StatusSucceeded, epoch.Add(time.Hour)))
	require.NoError(t, err)
	got, err := s.Records.ClaimPostbacks(ctx, claim("one", epoch))
	require.NoError(t, err)
	assert.Empty(t, got, "not due before NextAttempt")
	got, err = s.Records.ClaimPostbacks(ctx, claim("one", epoch.Add(time.Hour)))
	require.NoError(t, err)
	require.Len(t, got, 1, "due at NextAttempt")
	got, err = s.Records.ClaimPostbacks(ctx, claim("two", epoch.Add(time.Hour+30*time.Second)))
	require.NoError(t, err)
	assert.Empty(t, got, "leased to another")
	got, err = s.Records.ClaimPostbacks(ctx, claim("two", epoch.Add(time.Hour+time.Minute)))
	require.NoError(t, err)
	require.Len(t, got, 1, "a lapsed lease is claimable again")
	assert.Equal(t, "two", got[0].LeaseOwner)
	limited, err := s.Records.ClaimPostbacks(ctx, gate.PostbackClaim{Owner: "three", Now: epoch.Add(3 * time.Hour), Lease: time.Minute, Limit: 1})
	require.NoError(t, err)
	assert.Len(t, limited, 1)
}

func testSettleByOwnerOnly(t *testing.T, s Stores) {
	ctx := t.Context()
	r := record("m1", "a", epoch)
	require.NoError(t, s.Records.CreateRecord(ctx, r))
	_, err := s.Records.QueuePostback(ctx, postback(r, gate.StatusSucceeded, epoch))
	require.NoError(t, err)
	got, err := s.Records.ClaimPostbacks(ctx, claim("one", epoch))
	require.NoError(t, err)
	require.Len(t, got, 1)
	p := got[0]
	p.State, p.Attempts, p.NextAttempt, p.LastStatus, p.LastError = gate.PostbackPending, 1, epoch.Add(5*time.Minute), 503, "unavailable"
	assert.ErrorIs(t, s.Records.SettlePostback(ctx, "two", &p), payments.ErrConflict)
	require.NoError(t, s.Records.SettlePostback(ctx, "one", &p))
	assert.ErrorIs(t, s.Records.SettlePostback(ctx, "one", &p), payments.ErrConflict, "a settled lease is gone")
	missing := p
	missing.MessageID = "msg_none"
	assert.Error(t, s.Records.SettlePostback(ctx, "one", &missing))

	pbs, err := s.Records.Postbacks(ctx, r.ID)
	require.NoError(t, err)
	require.Len(t, pbs, 1)
	assert.Equal(t, gate.PostbackPending, pbs[0].State)
	assert.Equal(t, 1, pbs[0].Attempts)
	assert.Equal(t, 503, pbs[0].LastStatus)
	assert.Equal(t, "unavailable", pbs[0].LastError)
	assert.True(t, sameInstant(epoch.Add(5*time.Minute), pbs[0].NextAttempt))
	assert.Empty(t, pbs[0].LeaseOwner)
	got, err = s.Records.ClaimPostbacks(ctx, claim("two", epoch.Add(time.Minute)))
	require.NoError(t, err)
	assert.Empty(t, got, "the retry is not due yet")
	got, err = s.Records.ClaimPostbacks(ctx, claim("two", epoch.Add(5*time.Minute)))
	require.NoError(t, err)
	assert.Len(t, got, 1)
}

// Claimers racing over one store, and through a peer handle as another
// process would, never lease one postback twice.
func testConcurrentClaims(t *testing.T, s Stores) {
	ctx := t.Context()
	const records = 40
	for i := range records {
		r := record("m1", fmt.Sprintf("order-%d", i), epoch)
		require.NoError(t, s.Records.CreateRecord(ctx, r))
		_, err := s.Records.QueuePostback(ctx, postback(r, gate.StatusSucceeded, epoch))
		require.NoError(t, err)
	}
	stores := []gate.RecordStore{s.Records}
	if s.Peer != nil {
		stores = append(stores, s.Peer(t))
	}
	var mu sync.Mutex
	seen := map[string]string{}
	var wg sync.WaitGroup
	for w := range 6 {
		wg.Go(func() {
			owner := fmt.Sprintf("owner-%d", w)
			store := stores[w%len(stores)]
			for range 20 {
				got, err := store.ClaimPostbacks(ctx, gate.PostbackClaim{Owner: owner, Now: epoch, Lease: time.Hour, Limit: 3})
				if !assert.NoError(t, err) {
					return
				}
				mu.Lock()
				for _, p := range got {
					if prev, dup := seen[p.MessageID]; dup {
						t.Errorf("%s leased to %s and %s", p.MessageID, prev, owner)
					}
					seen[p.MessageID] = owner
				}
				mu.Unlock()
				if len(got) == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, records, "every postback leased once")
}
