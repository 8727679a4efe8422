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
