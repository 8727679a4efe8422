package postgres_test

import (
	"errors"
	"fmt"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/postgres"
)

// TestInTxRetries checks that a transaction that lost a race is run again,
// from the start, and that its first attempt left nothing behind.
func TestInTxRetries(t *testing.T) {
	s := newStore(t)
	var attempts, rows int
	err := s.InTx(t.Context(), func(tx pgx.Tx) error {
		attempts++
		if _, err := tx.Exec(t.Context(), "CREATE TEMP TABLE IF NOT EXISTS attempt (n int) ON COMMIT DROP"); err != nil {
			return err
		}
		if _, err := tx.Exec(t.Context(), "INSERT INTO attempt VALUES ($1)", attempts); err != nil {
			return err
		}
		if err := tx.QueryRow(t.Context(), "SELECT count(*) FROM attempt").Scan(&rows); err != nil {
			return err
		}
		if attempts < 3 {
			return fmt.Errorf("simulated: %w", &pgconn.PgError{Code: "40P01"})
		}
		return nil
	})
	require.NoError(t, err)
	assert.Equal(t, 3, attempts)
	assert.Equal(t, 1, rows, "each attempt starts from a clean transaction")

	attempts = 0
	err = s.InTx(t.Context(), func(pgx.Tx) error {
		attempts++
		return &pgconn.PgError{Code: "40001"}
	})
	assert.Equal(t, postgres.MaxTxAttempts, attempts, "retries are bounded")
	assert.True(t, postgres.Retryable(err), "the last error reaches the caller")
	assert.False(t, errors.Is(err, payments.ErrConflict))
}
