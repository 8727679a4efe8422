package storetest

import (
	"fmt"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// pageTests check that every listing pages with its cursor past the default
// limit: each row once, in order, with no gap, whatever is written between
// pages.
func pageTests() []namedTest {
	return []namedTest{
		{"EntriesPastDefaultLimit", testEntryPages},
		{"EntriesWrittenBetweenPages", testEntriesWrittenBetweenPages},
		{"NotificationsPastDefaultLimit", testNotificationPages},
		{"SyncTasksPastDefaultLimit", testSyncTaskPages},
		{"ForeignCursorRefused", testForeignCursor},
	}
}

// manyRows is above payments.DefaultListLimit, so that a listing without a
// limit takes more than one page.
const manyRows = payments.DefaultListLimit + 237

// readPages reads a listing page by page from the start and returns every
// row, failing if a page comes back larger than limit or empty before the
// end.
func readPages[T any](f *fixture, limit int, list func(after string) ([]T, string, error)) []T {
	f.t.Helper()
	want := limit
	if want <= 0 {
		want = payments.DefaultListLimit
	}
	var all []T
	after := ""
	for pages := 0; ; pages++ {
		require.Less(f.t, pages, manyRows+2, "the cursor never ends the listing")
		page, next, err := list(after)
		require.NoError(f.t, err, "page after %q", after)
		require.LessOrEqual(f.t, len(page), want, "a page holds at most its limit")
		all = append(all, page...)
		if next == "" {
			return all
		}
		require.Len(f.t, page, want, "only the last page is short")
		after = next
	}
}

// testEntryPages records more entries than one page holds, many sharing a
// RecordedAt (one batch's), and reads them back in pages of the default size
// and of a small one, whole and filtered.
func testEntryPages(f *fixture) {
	const perBatch = 50
	for i := 0; i < manyRows; i += perBatch {
		var entries []payments.Entry
		for j := i; j < min(i+perBatch, manyRows); j++ {
			entries = append(entries, charge(fmt.Sprintf("ch_%05d", j), fmt.Sprintf("acct_%d", j%3), int64(j+1)))
		}
		// Batches out of clock order: the listing order is RecordedAt's.
		f.commit(batchAt(at(time.Duration(manyRows-i)*time.Second), entries...))
	}
	whole := f.entries(payments.EntryFilter{})
	require.Len(f.t, whole, manyRows)

	paged := readPages(f, 0, func(after string) ([]payments.Entry, string, error) {
		return f.s.Entries(f.ctx, payments.EntryFilter{After: after})
	})
	assert.Equal(f.t, entryIDs(whole), entryIDs(normEntries(paged)), "default pages")

	small := readPages(f, 7, func(after string) ([]payments.Entry, string, error) {
		return f.s.Entries(f.ctx, payments.EntryFilter{Account: "acct_1", Limit: 7, After: after})
	})
	assert.Equal(f.t, entryIDs(f.entries(payments.EntryFilter{Account: "acct_1"})), entryIDs(normEntries(small)), "small pages of one account")
}

// testEntriesWrittenBetweenPages writes entries between two pages: those
// recorded later than the cursor's row appear on a later page, and nothing
// read before repeats.
func testEntriesWrittenBetweenPages(f *fixture) {
	f.queue(at(0), "early", 5)
	first, next, err := f.s.Entries(f.ctx, payments.EntryFilter{Limit: 3})
	require.NoError(f.t, err)
	require.Len(f.t, first, 3)
	require.NotEmpty(f.t, next)
	later := f.queue(at(time.Minute), "late", 2)

	rest := readPages(f, 3, func(after string) ([]payments.Entry, string, error) {
		if after == "" {
			after = next
		}
		return f.s.Entries(f.ctx, payments.EntryFilter{Limit: 3, After: after})
	})
	all := append(normEntries(first), normEntries(rest)...)
	assert.Equal(f.t, entryIDs(f.entries(payments.EntryFilter{})), entryIDs(all))
	assert.Subset(f.t, entryIDs(all), later)
}

// testNotificationPages journals more rows than one page holds, some at the
// same instant, and reads them newest first, whole and by outcome.
func testNotificationPages(f *fixture) {
	for i := range manyRows {
		n := newNotification(fmt.Sprintf("ntf_%05d", i), at(time.Duration(i/4)*time.Second))
		n.Body = nil
		if i%5 == 0 {
			n.Outcome = payments.OutcomeParked
		}
		f.appendNotification(n)
	}
	whole := f.notifications(payments.NotificationFilter{})
	require.Len(f.t, whole, manyRows)
	for i := 1; i < len(whole); i++ {
		assert.False(f.t, whole[i].ReceivedAt.After(whole[i-1].ReceivedAt), "newest first")
	}
	paged := readPages(f, 0, func(after string) ([]payments.Notification, string, error) {
		return f.s.Notifications(f.ctx, payments.NotificationFilter{After: after})
	})
	assert.Equal(f.t, notificationIDs(whole), notificationIDs(paged), "default pages")

	parked := readPages(f, 11, func(after string) ([]payments.Notification, string, error) {
		return f.s.Notifications(f.ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Limit: 11, After: after})
	})
	assert.Equal(f.t, notificationIDs(f.notifications(payments.NotificationFilter{Outcome: payments.OutcomeParked})),
		notificationIDs(parked), "small pages of one outcome")
	assert.Len(f.t, parked, (manyRows+4)/5)
}

// testSyncTaskPages queues more tasks than one page holds and reads them in
// queue order, whole and by state.
func testSyncTaskPages(f *fixture) {
	var ids []string
	for i := 0; i < manyRows; i += 100 {
		ids = append(ids, f.queue(at(time.Duration(i)*time.Second), fmt.Sprintf("q%05d", i), min(100, manyRows-i))...)
	}
	claimed := f.claim("worker", at(time.Hour), lease, 1)
	require.Equal(f.t, ids[:1], taskIDs(claimed), "claims follow the queue")
	f.settle(payments.SyncSettlement{EntryID: ids[0], Owner: "worker", State: payments.SyncParked, Attempts: 1})

	for _, c := range []struct {
		state payments.SyncState
		limit int
		want  []string
	}{
		{"", 0, ids},
		{payments.SyncPending, 0, ids[1:]},
		{payments.SyncPending, 13, ids[1:]},
		{payments.SyncParked, 1, ids[:1]},
	} {
		got := readPages(f, c.limit, func(after string) ([]payments.SyncTask, string, error) {
			return f.s.SyncTasks(f.ctx, payments.SyncFilter{State: c.state, Limit: c.limit, After: after})
		})
		assert.Equal(f.t, c.want, taskIDs(got), "state %q, limit %d", c.state, c.limit)
	}
}

// testForeignCursor hands every listing a cursor no store issued.
func testForeignCursor(f *fixture) {
	f.queue(at(0), "ch", 2)
	for _, bad := range []string{"not a cursor", "AAAA", "%%%"} {
		_, _, err := f.s.Entries(f.ctx, payments.EntryFilter{After: bad})
		assert.ErrorIs(f.t, err, payments.ErrInvalidInput, "Entries after %q", bad)
		_, _, err = f.s.Notifications(f.ctx, payments.NotificationFilter{After: bad})
		assert.ErrorIs(f.t, err, payments.ErrInvalidInput, "Notifications after %q", bad)
		_, _, err = f.s.SyncTasks(f.ctx, payments.SyncFilter{After: bad})
		assert.ErrorIs(f.t, err, payments.ErrInvalidInput, "SyncTasks after %q", bad)
	}
}

// attributionTests check Batch.Account and Batch.Reference, which the
// Service sets when the host says whose a parked notification's money is,
// and the resolution of the parked row.
func attributionTests() []namedTest {
	return []namedTest{
		{"AccountFillsUnknownPayment", testAttributionCreatesPayment},
		{"AccountFillsLooseEntry", testAttributionFillsEntry},
		{"AnotherAccountConflicts", testAttributionConflict},
		{"ReplayResolvesParkedRow", testReplayResolves},
	}
}

func testAttributionCreatesPayment(f *fixture) {
	b := batchAt(at(0), chargeOf("ch_parked", "pi_parked", 700))
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_parked", Status: payments.StatusSucceeded}}
	f.commitFails(b, payments.ErrUnattributed)

	b.Account, b.Reference = "acct_found", "order:9:abc123"
	res := f.commit(b)
	require.Len(f.t, res.Created, 1)
	p := f.paymentByGatewayID(gateway, "pi_parked")
	assert.Equal(f.t, "acct_found", p.Account)
	assert.Equal(f.t, "order:9:abc123", p.Reference)
	require.Len(f.t, res.Entries, 1)
	assert.Equal(f.t, "acct_found", res.Entries[0].Account)
	assert.Equal(f.t, p.ID, res.Entries[0].PaymentID)
	assert.Equal(f.t, usd(700), f.balance("acct_found", "USD").Money)

	again := f.commit(b)
	assert.True(f.t, again.Empty(), "attributing again records nothing")
	assert.Len(f.t, again.Duplicates, 1)
}

func testAttributionFillsEntry(f *fixture) {
	refund := movement(payments.KindRefund, "re_parked", "", -300, "USD")
	refund.GatewayPaymentID = "pi_elsewhere"
	b := batchAt(at(0), refund)
	b.Account = "acct_found"
	res := f.commit(b)
	require.Len(f.t, res.Entries, 1)
	assert.Equal(f.t, "acct_found", res.Entries[0].Account)
	assert.Equal(f.t, usd(-300), f.balance("acct_found", "USD").Money)
}

func testAttributionConflict(f *fixture) {
	f.createPayment(newPayment("pay_owned", "pi_owned", "acct_owner"))
	sc := f.snapshot([]string{"pay_owned"}, []string{"acct_owner", "acct_thief"})

	b := batchAt(at(0), chargeOf("ch_owned", "pi_owned", 100))
	b.Payments = []payments.PaymentUpdate{{GatewayID: "pi_owned", Status: payments.StatusSucceeded}}
	b.Account = "acct_thief"
	f.commitFails(b, payments.ErrConflict)

	loose := batchAt(at(0), chargeOf("ch_owned", "pi_owned", 100))
	loose.Account = "acct_thief"
	f.commitFails(loose, payments.ErrConflict)
	assert.Equal(f.t, sc, f.snapshot([]string{"pay_owned"}, []string{"acct_owner", "acct_thief"}), "nothing written")

	b.Account = "acct_owner"
	assert.Len(f.t, f.commit(b).Entries, 1, "the owner's own account is no conflict")
}

// testReplayResolves journals a parked row, then commits a replay of it:
// the row is resolved by the replay, once, and leaves the unresolved list.
func testReplayResolves(f *fixture) {
	parked := newNotification("ntf_parked", at(0))
	parked.Outcome = payments.OutcomeParked
	f.appendNotification(parked)
	other := newNotification("ntf_other", at(time.Second))
	other.Outcome = payments.OutcomeParked
	f.appendNotification(other)

	unresolved := payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true}
	assert.Equal(f.t, []string{"ntf_other", "ntf_parked"}, notificationIDs(f.notifications(unresolved)))

	replay := func(id string, now time.Time) *payments.BatchResult {
		b := batchAt(now, charge("ch_parked", "acct_1", 100))
		b.Notification = newNotification(id, now)
		b.Notification.ReplayOf = "ntf_parked"
		b.Notification.Source = payments.SourceRecord
		return f.commit(b)
	}
	assert.Equal(f.t, payments.OutcomeRecorded, replay("ntf_replay", at(time.Minute)).Outcome)
	assert.Equal(f.t, "ntf_replay", f.notification("ntf_parked").ResolvedBy)
	assert.Equal(f.t, "ntf_parked", f.notification("ntf_replay").ReplayOf)
	assert.Equal(f.t, payments.SourceRecord, f.notification("ntf_replay").Source, "journaled with the batch, whole")
	assert.Equal(f.t, []string{"ntf_other"}, notificationIDs(f.notifications(unresolved)))

	assert.Equal(f.t, payments.OutcomeDuplicate, replay("ntf_replay_again", at(2*time.Minute)).Outcome)
	assert.Equal(f.t, "ntf_replay", f.notification("ntf_parked").ResolvedBy, "the first resolution stands")
	assert.Empty(f.t, f.notification("ntf_other").ResolvedBy)
}
