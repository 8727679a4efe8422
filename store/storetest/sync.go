package storetest

import (
	"fmt"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func syncTests() []namedTest {
	return []namedTest{
		{"NewEntryQueuesPendingTask", testNewEntryQueuesTask},
		{"SyncOwnerHoldsLease", testSyncOwnerLease},
		{"SyncOwnerSettlesOwnLease", testSyncOwnerSettles},
		{"ClaimRespectsNextAttemptAndLimit", testClaimDueAndLimit},
		{"ClaimLeases", testClaimLeases},
		{"SettleDone", testSettleDone},
		{"SettleRetry", testSettleRetry},
		{"SettlePark", testSettlePark},
		{"SettleByNonOwnerConflicts", testSettleByNonOwner},
		{"SettleAfterReclaimConflicts", testSettleAfterReclaim},
		{"ListByState", testSyncTasksByState},
		{"RequeueParked", testRequeueParked},
		{"RequeueRefusesOthers", testRequeueRefuses},
	}
}

const lease = time.Minute

// queue records count charges at now, one sync task each, and returns their
// entry ids in the order recorded.
func (f *fixture) queue(now time.Time, prefix string, count int) []string {
	f.t.Helper()
	var entries []payments.Entry
	for i := range count {
		entries = append(entries, charge(fmt.Sprintf("%s_%d", prefix, i), "acct_1", int64(100+i)))
	}
	return entryIDs(f.commit(batchAt(now, entries...)).Entries)
}

// queueOne records one charge at now and returns its entry id.
func (f *fixture) queueOne(now time.Time, ref string) string {
	f.t.Helper()
	return f.queue(now, ref, 1)[0]
}

func (f *fixture) settle(s payments.SyncSettlement) {
	f.t.Helper()
	require.NoError(f.t, f.s.SettleSync(f.ctx, s), "SettleSync %s by %s", s.EntryID, s.Owner)
}

// claimOne claims what is due at now and requires it to be exactly entryID.
func (f *fixture) claimOne(owner string, now time.Time, entryID string) payments.SyncTask {
	f.t.Helper()
	got := f.claim(owner, now, lease, 10)
	require.Equal(f.t, []string{entryID}, taskIDs(got), "claimed by %s at %s", owner, now)
	return got[0]
}

func testNewEntryQueuesTask(f *fixture) {
	res := f.commit(batchAt(at(time.Minute), charge("ch_1", "acct_1", 100), charge("ch_2", "acct_2", 200)))
	f.commit(batchAt(at(2*time.Minute), charge("ch_1", "acct_1", 100))) // a duplicate queues nothing

	var want []payments.SyncTask
	for _, e := range res.Entries {
		want = append(want, payments.SyncTask{Entry: normEntry(e), State: payments.SyncPending, NextAttempt: at(time.Minute)})
	}
	assert.ElementsMatch(f.t, want, f.tasks(""), "one pending task per new entry, due at the batch's Now, unleased")
	assert.ElementsMatch(f.t, entryIDs(res.Entries), taskIDs(f.claim("svc_a", at(time.Minute), lease, 10)),
		"an unleased task is claimable as soon as it is due")
}

// testSyncOwnerLease checks that the Service that committed a batch keeps
// its entries to itself while it applies them at once, and that they fall to
// the background loop if it does not settle them in time.
func testSyncOwnerLease(f *fixture) {
	b := batchAt(at(0), charge("ch_1", "acct_1", 100))
	b.SyncOwner, b.SyncLeaseUntil = "svc_a", at(lease)
	id := f.commit(b).Entries[0].ID

	task := f.task(id)
	assert.Equal(f.t, payments.SyncPending, task.State)
	assert.Equal(f.t, "svc_a", task.LeaseOwner)
	assert.Equal(f.t, at(lease), task.LeaseUntil)
	assert.Equal(f.t, at(0), task.NextAttempt)

	assert.Empty(f.t, f.claim("svc_b", at(lease/2), lease, 10), "leased to the committer until SyncLeaseUntil")
	got := f.claimOne("svc_b", at(lease+time.Second), id)
	assert.Equal(f.t, "svc_b", got.LeaseOwner)
	assert.Equal(f.t, at(2*lease+time.Second), got.LeaseUntil)
}

func testSyncOwnerSettles(f *fixture) {
	b := batchAt(at(0), charge("ch_1", "acct_1", 100))
	b.SyncOwner, b.SyncLeaseUntil = "svc_a", at(lease)
	id := f.commit(b).Entries[0].ID

	f.settle(payments.SyncSettlement{EntryID: id, Owner: "svc_a", State: payments.SyncDone, Attempts: 1})

	assert.Equal(f.t, payments.SyncDone, f.task(id).State)
	assert.Empty(f.t, f.claim("svc_b", at(time.Hour), lease, 10), "a done task is never claimed")
}

func testClaimDueAndLimit(f *fixture) {
	due := f.queue(at(0), "due", 5)
	later := f.queue(at(time.Hour), "later", 2)

	var claimed []string
	for _, want := range []int{2, 2, 1, 0} {
		got := f.claim("svc_a", at(time.Minute), 10*time.Hour, 2)
		assert.Len(f.t, got, want)
		claimed = append(claimed, taskIDs(got)...)
	}
	assert.ElementsMatch(f.t, due, claimed, "every due task once, none not yet due")
	assert.ElementsMatch(f.t, later, taskIDs(f.claim("svc_a", at(time.Hour), lease, 10)), "due at NextAttempt")
}

func testClaimLeases(f *fixture) {
	id := f.queueOne(at(0), "ch")
	got := f.claimOne("svc_a", at(0), id)
	assert.Equal(f.t, "svc_a", got.LeaseOwner)
	assert.Equal(f.t, at(lease), got.LeaseUntil)
	assert.Equal(f.t, payments.SyncPending, got.State)

	assert.Empty(f.t, f.claim("svc_b", at(lease/2), lease, 10), "leased tasks are not claimable")
	assert.Empty(f.t, f.claim("svc_a", at(lease/2), lease, 10), "not even by their owner")
	f.claimOne("svc_b", at(lease+time.Second), id)
}

func testSettleDone(f *fixture) {
	id := f.queueOne(at(0), "ch")
	f.claimOne("svc_a", at(0), id)

	f.settle(payments.SyncSettlement{EntryID: id, Owner: "svc_a", State: payments.SyncDone, Attempts: 1})

	task := f.task(id)
	assert.Equal(f.t, payments.SyncDone, task.State)
	assert.Equal(f.t, 1, task.Attempts)
	assert.Empty(f.t, f.claim("svc_b", at(24*time.Hour), lease, 10))
}

// testSettleRetry checks a retry is due at its NextAttempt even when that is
// before the lease would have ended: settling ends the lease.
func testSettleRetry(f *fixture) {
	id := f.queueOne(at(0), "ch")
	f.claim("svc_a", at(0), time.Hour, 10)

	f.settle(payments.SyncSettlement{
		EntryID: id, Owner: "svc_a", State: payments.SyncPending,
		Attempts: 1, NextAttempt: at(10 * time.Minute), LastError: "balance service: 503",
	})

	task := f.task(id)
	assert.Equal(f.t, payments.SyncPending, task.State)
	assert.Equal(f.t, 1, task.Attempts)
	assert.Equal(f.t, at(10*time.Minute), task.NextAttempt)
	assert.Equal(f.t, "balance service: 503", task.LastError)
	assert.Empty(f.t, f.claim("svc_b", at(9*time.Minute), lease, 10), "not due before NextAttempt")
	got := f.claimOne("svc_b", at(11*time.Minute), id)
	assert.Equal(f.t, 1, got.Attempts, "a claim hands over the attempts so far")
}

func testSettlePark(f *fixture) {
	id := f.queueOne(at(0), "ch")
	f.claimOne("svc_a", at(0), id)

	f.settle(payments.SyncSettlement{EntryID: id, Owner: "svc_a", State: payments.SyncParked, Attempts: 3, LastError: "permanent: no such user"})

	task := f.task(id)
	assert.Equal(f.t, payments.SyncParked, task.State)
	assert.Equal(f.t, 3, task.Attempts)
	assert.Equal(f.t, "permanent: no such user", task.LastError)
	assert.Empty(f.t, f.claim("svc_b", at(365*24*time.Hour), lease, 10), "a parked task is never claimed")
}

func testSettleByNonOwner(f *fixture) {
	leased := f.queueOne(at(0), "leased")
	f.claimOne("svc_a", at(0), leased)
	unleased := f.queueOne(at(0), "unleased")
	before := f.tasks("")

	for _, id := range []string{leased, unleased} {
		err := f.s.SettleSync(f.ctx, payments.SyncSettlement{EntryID: id, Owner: "svc_b", State: payments.SyncDone, Attempts: 1})
		assert.ErrorIs(f.t, err, payments.ErrConflict, "settling %s without its lease", id)
	}
	assert.Equal(f.t, before, f.tasks(""), "a refused settlement changes nothing")
}

// testSettleAfterReclaim plays a Service whose Apply outlived its lease:
// another Service claimed the task meanwhile, so the late settlement must
// not touch it.
func testSettleAfterReclaim(f *fixture) {
	id := f.queueOne(at(0), "ch")
	f.claimOne("svc_a", at(0), id)
	f.claimOne("svc_b", at(lease+time.Second), id)
	before := f.task(id)

	for _, state := range []payments.SyncState{payments.SyncDone, payments.SyncPending, payments.SyncParked} {
		err := f.s.SettleSync(f.ctx, payments.SyncSettlement{EntryID: id, Owner: "svc_a", State: state, Attempts: 1, NextAttempt: at(time.Hour)})
		assert.ErrorIs(f.t, err, payments.ErrConflict, "late settlement as %s", state)
	}
	assert.Equal(f.t, before, f.task(id), "the new owner's lease is untouched")

	f.settle(payments.SyncSettlement{EntryID: id, Owner: "svc_b", State: payments.SyncDone, Attempts: 1})
	assert.Equal(f.t, payments.SyncDone, f.task(id).State)
}

func testSyncTasksByState(f *fixture) {
	ids := f.queue(at(0), "ch", 5)
	f.claim("svc_a", at(0), lease, 10)
	f.settle(payments.SyncSettlement{EntryID: ids[0], Owner: "svc_a", State: payments.SyncDone, Attempts: 1})
	f.settle(payments.SyncSettlement{EntryID: ids[1], Owner: "svc_a", State: payments.SyncParked, Attempts: 1, LastError: "x"})
	f.settle(payments.SyncSettlement{EntryID: ids[2], Owner: "svc_a", State: payments.SyncParked, Attempts: 1, LastError: "y"})

	for state, want := range map[payments.SyncState][]string{
		payments.SyncDone:    ids[:1],
		payments.SyncParked:  ids[1:3],
		payments.SyncPending: ids[3:],
	} {
		got := f.tasks(state)
		assert.ElementsMatch(f.t, want, taskIDs(got), "tasks %s", state)
		for _, task := range got {
			assert.Equal(f.t, state, task.State)
		}
	}
	limited, next, err := f.s.SyncTasks(f.ctx, payments.SyncFilter{State: payments.SyncPending, Limit: 1})
	require.NoError(f.t, err)
	assert.Len(f.t, limited, 1, "Limit")
	assert.NotEmpty(f.t, next, "more pending tasks follow")
}

func testRequeueParked(f *fixture) {
	id := f.queueOne(at(0), "ch")
	f.claimOne("svc_a", at(0), id)
	f.settle(payments.SyncSettlement{EntryID: id, Owner: "svc_a", State: payments.SyncParked, Attempts: 25, LastError: "gave up"})

	require.NoError(f.t, f.s.RequeueSync(f.ctx, id, at(time.Hour)))

	task := f.task(id)
	assert.Equal(f.t, payments.SyncPending, task.State)
	assert.Equal(f.t, 0, task.Attempts, "attempts reset")
	assert.Equal(f.t, at(time.Hour), task.NextAttempt, "due now")
	assert.Empty(f.t, f.claim("svc_b", at(time.Hour-time.Second), lease, 10))
	f.claimOne("svc_b", at(time.Hour), id)
}

func testRequeueRefuses(f *fixture) {
	pending := f.queueOne(at(0), "pending")
	done := f.queueOne(at(0), "done")
	f.claim("svc_a", at(0), lease, 10)
	f.settle(payments.SyncSettlement{EntryID: done, Owner: "svc_a", State: payments.SyncDone, Attempts: 1})
	before := f.tasks("")

	for _, id := range []string{pending, done} {
		assert.ErrorIs(f.t, f.s.RequeueSync(f.ctx, id, at(time.Hour)), payments.ErrConflict, "requeue of a task that is not parked")
	}
	assert.ErrorIs(f.t, f.s.RequeueSync(f.ctx, "ent_unknown", at(time.Hour)), payments.ErrNotFound)
	assert.Equal(f.t, before, f.tasks(""), "a refused requeue changes nothing")
}
