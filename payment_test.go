package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

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

func TestIsPaymentID(t *testing.T) {
	for s, want := range map[string]bool{
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5": true,
		"pay_4f1c2a9b8e7d6c5b4a392817":         true, // 24 digits, as earlier versions issued
		"pay_0195F3C2A1B4D5E6F7A8B9C0D1E2F3A5": false,
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a":  false,
		"ord_0195f3c2a1b4d5e6f7a8b9c0d1e2f3a5": false,
		"pay_0195f3c2a1b4d5e6f7a8b9c0d1e2f3g5": false,
		"":                                     false,
	} {
		assert.Equal(t, want, payments.IsPaymentID(s), s)
	}
	svc, _, _ := newService(t)
	p, err := svc.Checkout(t.Context(), "fake", payments.CheckoutRequest{Account: "a", Amount: payments.Money{Amount: 1, Currency: "USD"}})
	require.NoError(t, err)
	assert.True(t, payments.IsPaymentID(p.ID), "what the Service issues")
}
