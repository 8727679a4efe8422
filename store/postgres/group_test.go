package postgres_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func groupCharge(ref, account string, amount int64) payments.Entry {
	kind := payments.KindCharge
	if amount < 0 {
		kind = payments.KindRefund
	}
	return payments.Entry{Kind: kind, GatewayRef: ref, Account: account, Amount: payments.Money{Amount: amount, Currency: "USD"}}
}

func groupBatch(ntf string, entries ...payments.Entry) *payments.Batch {
	return &payments.Batch{
		Gateway: "grouppay", Now: clock, Entries: entries,
		Notification: &payments.Notification{ID: ntf, Gateway: "grouppay", ReceivedAt: clock, Verified: true},
	}
}

// TestGroupBatchFailsAlone commits a group whose middle batch carries a
// taken notification id: the database refuses the group, and each batch is
// then committed on its own, the middle one failing with ErrConflict.
func TestGroupBatchFailsAlone(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Commit(ctx, groupBatch("ntf_taken"))
	require.NoError(t, err)

	res, errs := s.CommitTogether(ctx,
		groupBatch("ntf_1", groupCharge("ch_1", "acct", 100)),
		groupBatch("ntf_taken", groupCharge("ch_2", "acct", 200)),
		groupBatch("ntf_3", groupCharge("ch_3", "acct", 300)),
	)
	assert.NoError(t, errs[0])
	assert.ErrorIs(t, errs[1], payments.ErrConflict)
	assert.NoError(t, errs[2])
	assert.Len(t, res[0].Entries, 1)
	assert.Nil(t, res[1])
	assert.Len(t, res[2].Entries, 1)

	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(400), b.Money.Amount, "the failing batch's entry is not recorded")
	assert.Equal(t, int64(2), b.Entries)
}

// TestGroupOverflowOnTheWay adds +2 then -2 to a balance one short of
// MaxInt64 in one group. The sum is zero, but one after the other the first
// overflows, which is what the group must report.
func TestGroupOverflowOnTheWay(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	_, err := s.Commit(ctx, groupBatch("ntf_0", groupCharge("ch_0", "acct", math.MaxInt64-1)))
	require.NoError(t, err)

	_, errs := s.CommitTogether(ctx,
		groupBatch("ntf_up", groupCharge("ch_up", "acct", 2)),
		groupBatch("ntf_down", groupCharge("re_down", "acct", -2)),
	)
	assert.ErrorIs(t, errs[0], payments.ErrInvalidInput)
	assert.NoError(t, errs[1])
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(math.MaxInt64-3), b.Money.Amount)
	assert.Equal(t, int64(2), b.Entries)
}

// TestGroupSumsBalances records several entries on one balance in one
// group, of both signs.
func TestGroupSumsBalances(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	_, errs := s.CommitTogether(ctx,
		groupBatch("ntf_1", groupCharge("ch_1", "acct", 500), groupCharge("ch_2", "acct", 250)),
		groupBatch("ntf_2", groupCharge("re_1", "acct", -100)),
		groupBatch("ntf_3", groupCharge("ch_3", "other", 40)),
	)
	for _, err := range errs {
		require.NoError(t, err)
	}
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(650), b.Money.Amount)
	assert.Equal(t, int64(3), b.Entries)
	assert.True(t, b.UpdatedAt.Equal(clock))
	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{})
	require.NoError(t, err)
	assert.Len(t, tasks, 4)
}

// TestGroupOverlappingBatches commits, in one group, a batch that updates a
// payment by its gateway id and another that names it by the library's id:
// the second must see the first's update, as it would in a later
// transaction, so it waits for the next group.
func TestGroupOverlappingBatches(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	require.NoError(t, s.CreatePayment(ctx, &payments.Payment{
		ID: "pay_1", Gateway: "grouppay", GatewayID: "pi_1", Account: "acct",
		Status: payments.StatusPending, CreatedAt: clock, UpdatedAt: clock,
	}))
	authorize := &payments.Batch{Gateway: "grouppay", Now: clock.Add(time.Second),
		Payments: []payments.PaymentUpdate{{GatewayID: "pi_1", Status: payments.StatusAuthorized}}}
	capture := &payments.Batch{Gateway: "grouppay", Now: clock.Add(2 * time.Second),
		Payments: []payments.PaymentUpdate{{PaymentID: "pay_1", Status: payments.StatusSucceeded}},
		Entries:  []payments.Entry{{Kind: payments.KindCharge, GatewayRef: "ch_1", GatewayPaymentID: "pi_1", Amount: payments.Money{Amount: 900, Currency: "USD"}}}}

	res, errs := s.CommitTogether(ctx, authorize, capture)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	require.Len(t, res[0].Changes, 1)
	assert.Equal(t, payments.StatusAuthorized, res[0].Changes[0].To)
	require.Len(t, res[1].Changes, 1)
	assert.Equal(t, payments.StatusAuthorized, res[1].Changes[0].From, "the capture saw the authorization")
	assert.Equal(t, payments.StatusSucceeded, res[1].Changes[0].To)
	require.Len(t, res[1].Entries, 1)
	assert.Equal(t, "acct", res[1].Entries[0].Account)
	assert.Equal(t, "pay_1", res[1].Entries[0].PaymentID)

	p, err := s.Payment(ctx, "pay_1")
	require.NoError(t, err)
	assert.Equal(t, payments.StatusSucceeded, p.Status)
}

// TestGroupDuplicateDeliveries commits two deliveries of the same event in
// one group: one records the entry, the other finds it recorded.
func TestGroupDuplicateDeliveries(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	res, errs := s.CommitTogether(ctx,
		groupBatch("ntf_1", groupCharge("ch_1", "acct", 100)),
		groupBatch("ntf_2", groupCharge("ch_1", "acct", 100)),
	)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Len(t, res[0].Entries, 1)
	assert.Len(t, res[1].Duplicates, 1)
	assert.Equal(t, payments.OutcomeRecorded, res[0].Outcome)
	assert.Equal(t, payments.OutcomeDuplicate, res[1].Outcome)
	n, err := s.Notification(ctx, "ntf_2")
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, n.Outcome)
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(100), b.Money.Amount)
}

// TestGroupRetriedDelivery commits, beside a new entry, one that was
// recorded before: the group, committed first as if every row were new,
// must be run again the careful way and report the duplicate as such.
func TestGroupRetriedDelivery(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	first, err := s.Commit(ctx, groupBatch("ntf_0", groupCharge("ch_1", "acct", 100)))
	require.NoError(t, err)

	res, errs := s.CommitTogether(ctx,
		groupBatch("ntf_1", groupCharge("ch_1", "acct", 100)),
		groupBatch("ntf_2", groupCharge("ch_2", "acct", 50)),
	)
	require.NoError(t, errs[0])
	require.NoError(t, errs[1])
	assert.Empty(t, res[0].Entries)
	require.Len(t, res[0].Duplicates, 1)
	assert.Equal(t, first.Entries[0].ID, res[0].Duplicates[0].ID)
	assert.Len(t, res[1].Entries, 1)
	for id, want := range map[string]payments.Outcome{"ntf_1": payments.OutcomeDuplicate, "ntf_2": payments.OutcomeRecorded} {
		n, err := s.Notification(ctx, id)
		require.NoError(t, err)
		assert.Equal(t, want, n.Outcome, id)
	}
	b, err := s.Balance(ctx, "acct", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(150), b.Money.Amount)
	assert.Equal(t, int64(2), b.Entries)
	tasks, _, err := s.SyncTasks(ctx, payments.SyncFilter{})
	require.NoError(t, err)
	assert.Len(t, tasks, 2)
}

// TestGroupReplaysResolve commits, in one group, two replays of one parked
// journal row and a replay of another: each row is resolved by the first
// replay of it in the group, as one transaction after the other would, and
// the replays are journaled with what they replay.
func TestGroupReplaysResolve(t *testing.T) {
	s := newStore(t)
	ctx := t.Context()
	for _, id := range []string{"ntf_parked_1", "ntf_parked_2"} {
		require.NoError(t, s.AppendNotification(ctx, &payments.Notification{
			ID: id, Gateway: "grouppay", ReceivedAt: clock, Verified: true, Outcome: payments.OutcomeParked,
		}))
	}
	replay := func(id, of string, entry payments.Entry) *payments.Batch {
		b := groupBatch(id, entry)
		b.Notification.ReplayOf = of
		return b
	}
	res, errs := s.CommitTogether(ctx,
		replay("ntf_replay_a", "ntf_parked_2", groupCharge("ch_2", "acct", 200)),
		replay("ntf_replay_b", "ntf_parked_1", groupCharge("ch_1", "acct", 100)),
		replay("ntf_replay_c", "ntf_parked_2", groupCharge("ch_3", "acct", 300)),
	)
	for i, err := range errs {
		require.NoError(t, err, "batch %d", i)
		assert.Equal(t, payments.OutcomeRecorded, res[i].Outcome, "batch %d", i)
	}
	for row, by := range map[string]string{"ntf_parked_1": "ntf_replay_b", "ntf_parked_2": "ntf_replay_a"} {
		n, err := s.Notification(ctx, row)
		require.NoError(t, err)
		assert.Equal(t, by, n.ResolvedBy, row)
	}
	n, err := s.Notification(ctx, "ntf_replay_c")
	require.NoError(t, err)
	assert.Equal(t, "ntf_parked_2", n.ReplayOf)
	assert.Empty(t, n.ResolvedBy)

	unresolved, _, err := s.Notifications(ctx, payments.NotificationFilter{Outcome: payments.OutcomeParked, Unresolved: true})
	require.NoError(t, err)
	assert.Empty(t, unresolved)
}
