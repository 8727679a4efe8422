package storetest

import (
	"net/http"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func journalTests() []namedTest {
	return []namedTest{
		{"AppendRoundTrip", testAppendRoundTrip},
		{"NotFound", testNotificationNotFound},
		{"DuplicateIDConflicts", testDuplicateNotification},
		{"ListNewestFirst", testNotificationsNewestFirst},
		{"ListFiltersAndLimit", testNotificationFilters},
		{"CommitJournalsOutcome", testCommitJournalsOutcome},
	}
}

// testAppendRoundTrip journals one verified and one rejected notification
// and reads both back exactly: the journal is what replays run from, so the
// body must survive byte for byte whatever it holds.
func testAppendRoundTrip(f *fixture) {
	verified := newNotification("ntf_verified", at(0))
	verified.Outcome = payments.OutcomeParked
	verified.Source = payments.SourceRecord

	rejected := newNotification("ntf_rejected", at(time.Second))
	rejected.Gateway = otherGateway
	rejected.Verified = false
	rejected.Outcome = payments.OutcomeRejected
	rejected.Header = http.Header{"X-Signature": {"bad"}}
	rejected.Body = []byte{0x00, 0x01, 0xff, 0x00, 0x80, 0xc0}
	rejected.EventID, rejected.EventType = "", ""
	rejected.RemoteAddr = "[2001:db8::1]:443"

	for _, n := range []*payments.Notification{verified, rejected} {
		want := normNotification(*n)
		want.Body = append([]byte(nil), n.Body...)
		f.appendNotification(n)
		n.Body[0] ^= 0xff // the store must have kept its own copy

		assert.Equal(f.t, want, f.notification(n.ID))
	}
}

func testNotificationNotFound(f *fixture) {
	f.appendNotification(newNotification("ntf_known", at(0)))

	_, err := f.s.Notification(f.ctx, "ntf_missing")
	assert.ErrorIs(f.t, err, payments.ErrNotFound)
}

func testDuplicateNotification(f *fixture) {
	first := newNotification("ntf_dup", at(0))
	first.Outcome = payments.OutcomeIgnored
	f.appendNotification(first)

	second := newNotification("ntf_dup", at(time.Minute))
	second.Outcome = payments.OutcomeRejected
	second.Body = []byte("another body")
	assert.ErrorIs(f.t, f.s.AppendNotification(f.ctx, second), payments.ErrConflict)

	assert.Equal(f.t, normNotification(*first), f.notification("ntf_dup"), "the first row is kept as it was")
	assert.Len(f.t, f.notifications(payments.NotificationFilter{}), 1)
}

// journalOutOfOrder appends notifications whose ReceivedAt is not the order
// they are appended in, as happens when a slow request is journaled last.
// It returns their ids newest first.
func journalOutOfOrder(f *fixture) []string {
	rows := []struct {
		id       string
		received time.Duration
		gateway  string
		outcome  payments.Outcome
	}{
		{"ntf_3", 3 * time.Second, gateway, payments.OutcomeRecorded},
		{"ntf_1", 1 * time.Second, gateway, payments.OutcomeRejected},
		{"ntf_5", 5 * time.Second, otherGateway, payments.OutcomeRecorded},
		{"ntf_2", 2 * time.Second, otherGateway, payments.OutcomeRejected},
		{"ntf_4", 4 * time.Second, gateway, payments.OutcomeRecorded},
	}
	for _, r := range rows {
		n := newNotification(r.id, at(r.received))
		n.Gateway, n.Outcome = r.gateway, r.outcome
		f.appendNotification(n)
	}
	return []string{"ntf_5", "ntf_4", "ntf_3", "ntf_2", "ntf_1"}
}

func testNotificationsNewestFirst(f *fixture) {
	want := journalOutOfOrder(f)

	assert.Equal(f.t, want, notificationIDs(f.notifications(payments.NotificationFilter{})))
}

func testNotificationFilters(f *fixture) {
	journalOutOfOrder(f)

	cases := []struct {
		name   string
		filter payments.NotificationFilter
		want   []string
	}{
		{"gateway", payments.NotificationFilter{Gateway: gateway}, []string{"ntf_4", "ntf_3", "ntf_1"}},
		{"outcome", payments.NotificationFilter{Outcome: payments.OutcomeRejected}, []string{"ntf_2", "ntf_1"}},
		{"gateway and outcome", payments.NotificationFilter{Gateway: otherGateway, Outcome: payments.OutcomeRecorded}, []string{"ntf_5"}},
		{"limit", payments.NotificationFilter{Limit: 2}, []string{"ntf_5", "ntf_4"}},
		{"gateway and limit", payments.NotificationFilter{Gateway: gateway, Limit: 2}, []string{"ntf_4", "ntf_3"}},
		{"no match", payments.NotificationFilter{Outcome: payments.OutcomeParked}, []string{}},
	}
	for _, c := range cases {
		f.run(c.name, func(f *fixture) {
			assert.Equal(f.t, c.want, notificationIDs(f.notifications(c.filter)))
		})
	}
}

// testCommitJournalsOutcome checks that the notification of a batch is
// journaled with it and with the outcome the plan decided, both in the
// journal and in the result, and that the caller's Notification is left as
// it was.
func testCommitJournalsOutcome(f *fixture) {
	f.createPayment(newPayment("pay_1", "pi_1", "acct_1"))
	deliver := func(id string, now time.Time, entries ...payments.Entry) *payments.Notification {
		b := statusUpdate(now, "pi_1", payments.StatusSucceeded)
		b.Entries = entries
		b.Notification = newNotification(id, now)
		b.Notification.Outcome = payments.OutcomeFailed // whatever the caller guessed, the plan decides
		res := f.commit(b)
		assert.Equal(f.t, payments.OutcomeFailed, b.Notification.Outcome, "Commit leaves the batch as it was")
		n := *b.Notification
		n.Outcome = res.Outcome
		return &n
	}

	first := deliver("ntf_first", at(0), chargeOf("ch_1", "pi_1", 100))
	again := deliver("ntf_again", at(time.Minute), chargeOf("ch_1", "pi_1", 100))
	statusOnly := deliver("ntf_status_only", at(2*time.Minute))

	for _, c := range []struct {
		n    *payments.Notification
		want payments.Outcome
	}{
		{first, payments.OutcomeRecorded},
		{again, payments.OutcomeDuplicate},
		{statusOnly, payments.OutcomeDuplicate},
	} {
		assert.Equal(f.t, c.want, c.n.Outcome, "Outcome in the result of %s", c.n.ID)
		stored := f.notification(c.n.ID)
		assert.Equal(f.t, c.want, stored.Outcome, "Outcome journaled for %s", c.n.ID)
		want := normNotification(*c.n)
		assert.Equal(f.t, want, stored, "the rest of %s is journaled as given", c.n.ID)
	}
	require.Len(f.t, f.notifications(payments.NotificationFilter{}), 3)
}
