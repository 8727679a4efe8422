package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/payrail/payments"
)

func TestStatusAdvances(t *testing.T) {
	tests := []struct {
		from, to payments.Status
		want     bool
	}{
		{payments.StatusPending, payments.StatusAuthorized, true},
		{payments.StatusPending, payments.StatusSucceeded, true},
		{payments.StatusAuthorized, payments.StatusSucceeded, true},
		{payments.StatusFailed, payments.StatusSucceeded, true}, // a retried attempt succeeds
		{payments.StatusFailed, payments.StatusCanceled, true},
		{payments.StatusSucceeded, payments.StatusPartiallyRefunded, true},
		{payments.StatusPartiallyRefunded, payments.StatusRefunded, true},
		{payments.StatusSucceeded, payments.StatusDisputed, true},
		{payments.StatusSucceeded, payments.StatusPending, false},
		{payments.StatusSucceeded, payments.StatusAuthorized, false},
		{payments.StatusSucceeded, payments.StatusFailed, false},
		{payments.StatusRefunded, payments.StatusSucceeded, false},
		{payments.StatusCanceled, payments.StatusExpired, false}, // same rank: first wins
		{payments.StatusExpired, payments.StatusCanceled, false},
		{payments.StatusPending, payments.StatusPending, false},
		{payments.StatusPending, payments.Status("bogus"), false},
		{payments.Status("bogus"), payments.StatusSucceeded, false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, tt.from.Advances(tt.to), "%s → %s", tt.from, tt.to)
	}
}

func TestMergeUpdateFillsOnlyEmptyFields(t *testing.T) {
	p := &payments.Payment{ID: "pay_1", Gateway: "fake", Account: "a1", Status: payments.StatusSucceeded}
	changed := payments.MergeUpdate(p, &payments.PaymentUpdate{
		GatewayID: "g1", Account: "intruder", Reference: "order:1:x", Status: payments.StatusAuthorized,
		Amount: payments.Money{Amount: 5, Currency: "USD"},
	}, p.CreatedAt)
	assert.False(t, changed, "a late authorized must not move a succeeded payment")
	assert.Equal(t, payments.StatusSucceeded, p.Status)
	assert.Equal(t, "a1", p.Account, "an account is never overwritten")
	assert.Equal(t, "g1", p.GatewayID)
	assert.Equal(t, "order:1:x", p.Reference)
	assert.Equal(t, int64(5), p.Amount.Amount)

	assert.True(t, payments.MergeUpdate(p, &payments.PaymentUpdate{GatewayID: "g1", Status: payments.StatusRefunded}, p.CreatedAt))
	assert.Equal(t, payments.StatusRefunded, p.Status)
}
