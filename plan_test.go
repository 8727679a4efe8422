package payments_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// mapLookup serves the planner from a map, as a Store serves it from its
// transaction, and counts the look-ups.
type mapLookup struct {
	payments map[string]payments.Payment
	asked    []string
}

func (m *mapLookup) PaymentByID(ctx context.Context, id string) (*payments.Payment, error) {
	m.asked = append(m.asked, "id "+id)
	if p, ok := m.payments[id]; ok {
		return &p, nil
	}
	return nil, nil
}

func (m *mapLookup) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	m.asked = append(m.asked, "gateway "+gatewayID)
	for _, p := range m.payments {
		if p.Gateway == gateway && p.GatewayID == gatewayID {
			return &p, nil
		}
	}
	return nil, nil
}

func TestPlanWritesOnlyWhatChanged(t *testing.T) {
	stored := payments.Payment{ID: "pay_1", Gateway: "g", GatewayID: "pi_1", Account: "a", Status: payments.StatusSucceeded,
		Amount: payments.Money{Amount: 500, Currency: "USD"}, UpdatedAt: time.Unix(1, 0).UTC()}
	lookup := &mapLookup{payments: map[string]payments.Payment{"pay_1": stored}}
	b := &payments.Batch{Gateway: "g", Now: time.Unix(100, 123456789),
		Payments: []payments.PaymentUpdate{{GatewayID: "pi_1", Status: payments.StatusAuthorized, Account: "intruder"}},
		Entries: []payments.Entry{
			{Kind: payments.KindCharge, GatewayRef: "pi_1", GatewayPaymentID: "pi_1", Amount: payments.Money{Amount: 500, Currency: "USD"}},
			{Kind: payments.KindCharge, GatewayRef: "pi_1", GatewayPaymentID: "pi_1", Amount: payments.Money{Amount: 500, Currency: "USD"}},
		}}
	plan, err := b.Plan(t.Context(), lookup)
	require.NoError(t, err)
	assert.Empty(t, plan.Updated, "a late status and a taken account change nothing, so nothing is written")
	assert.Empty(t, plan.Result.Changes)
	assert.Equal(t, []string{"gateway pi_1"}, lookup.asked, "each payment is read once per batch")
	require.Len(t, plan.Entries, 1, "the same key twice in a batch is one entry")
	e := plan.Entries[0]
	assert.Equal(t, "a", e.Account, "taken from the payment")
	assert.Equal(t, "pay_1", e.PaymentID)
	assert.Equal(t, time.UnixMicro(100_123_456).UTC(), e.RecordedAt, "times as a Store keeps them")
	assert.Equal(t, payments.EntryID("g", payments.KindCharge, "pi_1"), e.ID)
	assert.Empty(t, b.Entries[0].ID, "the batch is left as it was")

	require.NoError(t, plan.Settle(nil))
	assert.Len(t, plan.Result.Entries, 1)
	assert.Len(t, plan.Result.Duplicates, 1)
	require.Len(t, plan.Balances, 1)
	assert.Equal(t, payments.BalanceChange{Account: "a", Currency: "USD", Amount: 500, Entries: 1, Low: 0, High: 500,
		UpdatedAt: e.RecordedAt}, plan.Balances[0])
	require.Len(t, plan.Tasks, 1)
	assert.Equal(t, payments.SyncPending, plan.Tasks[0].State)
}

func TestPlanSettleTellsDuplicateFromConflict(t *testing.T) {
	charge := payments.Entry{Kind: payments.KindCharge, GatewayRef: "ch_1", Account: "a", Amount: payments.Money{Amount: 100, Currency: "USD"}}
	plan := func() *payments.Plan {
		p, err := (&payments.Batch{Gateway: "g", Entries: []payments.Entry{charge},
			Notification: &payments.Notification{ID: "ntf_1", ReplayOf: "ntf_0"}}).Plan(t.Context(), &mapLookup{})
		require.NoError(t, err)
		return p
	}
	stored := plan().Entries[0]

	dup := plan()
	require.NoError(t, dup.Settle(map[string]payments.Entry{stored.ID: stored}))
	assert.Empty(t, dup.Result.Entries)
	assert.Empty(t, dup.Balances)
	assert.Empty(t, dup.Tasks)
	assert.Equal(t, payments.OutcomeDuplicate, dup.Journal.Outcome)
	assert.Equal(t, "ntf_0", dup.Resolves, "a replay that finds everything recorded resolves what it replays")

	other := stored
	other.Amount.Amount = 101
	assert.ErrorIs(t, plan().Settle(map[string]payments.Entry{stored.ID: other}), payments.ErrConflict)
}

func TestBalanceChangeBounds(t *testing.T) {
	up := payments.BalanceChange{Amount: 10, Entries: 1, High: 10}
	down := payments.BalanceChange{Amount: -30, Entries: 1, Low: -30}
	both, err := up.Then(down)
	require.NoError(t, err)
	assert.Equal(t, payments.BalanceChange{Amount: -20, Entries: 2, Low: -20, High: 10}, both)
	low, high := both.Bounds()
	assert.Equal(t, int64(math.MinInt64+20), low)
	assert.Equal(t, int64(math.MaxInt64-10), high)

	_, err = payments.BalanceChange{Amount: math.MaxInt64, High: math.MaxInt64}.Then(up)
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}
