package postgres

import (
	"context"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"

	"github.com/payrail/payments"
)

func TestRetryable(t *testing.T) {
	for code, want := range map[string]bool{"40001": true, "40P01": true, "23505": false, "22003": false} {
		err := fmt.Errorf("wrapped: %w", &pgconn.PgError{Code: code})
		assert.Equal(t, want, retryable(err), code)
	}
	assert.False(t, retryable(context.Canceled))
	assert.True(t, retryable(fmt.Errorf("%w: %w", errStaleRead, &pgconn.PgError{Code: "23505"})), "a stale read")
	assert.NotErrorIs(t, errStaleRead, payments.ErrConflict, "a stale read is no fault of the batch's")
}

func TestFailMapsCodes(t *testing.T) {
	assert.ErrorIs(t, fail("op", &pgconn.PgError{Code: "23505"}), payments.ErrConflict)
	assert.ErrorIs(t, fail("op", &pgconn.PgError{Code: "22003"}), payments.ErrInvalidInput)
	assert.ErrorIs(t, fail("op", context.DeadlineExceeded), context.DeadlineExceeded)
	assert.NoError(t, fail("op", nil))
}
