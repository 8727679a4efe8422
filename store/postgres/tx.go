package postgres

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrail/payments"
)

// PostgreSQL error codes the Store reacts to
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	codeSerializationFailure = "40001"
	codeDeadlockDetected     = "40P01"
	codeUniqueViolation      = "23505"
	codeNumericOutOfRange    = "22003"
	codeCheckViolation       = "23514"
)

// maxTxAttempts bounds how often a transaction that lost a serialization
// race or a deadlock is run again before its error reaches the caller.
const maxTxAttempts = 6

func pgCode(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// errStaleRead fails a transaction that planned a batch from payments
// another transaction has written since: one it took for new, or a gateway
// id it gave a payment. Running it again plans from what is stored now.
// Like a deadlock, it is no fault of the batch's: should it outlast the
// retries, it is no payments.ErrConflict, which would have the webhook
// reject the notification rather than let the gateway retry it.
var errStaleRead = errors.New("postgres: a payment the batch was planned from was written meanwhile")

// retryable reports whether a transaction failed only because it ran
// concurrently with another one, so that running it again can succeed.
func retryable(err error) bool {
	code := pgCode(err)
	return code == codeSerializationFailure || code == codeDeadlockDetected || errors.Is(err, errStaleRead)
}

// inTx runs fn in a READ COMMITTED transaction and commits it, running it
// again from the start after a serialization failure, a deadlock or a
// stale read (errStaleRead). fn must therefore build its results afresh
// on every call.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	if err := s.usable(); err != nil {
		return err
	}
	for attempt := 1; ; attempt++ {
		err := s.runTx(ctx, fn)
		if err == nil || !retryable(err) || attempt == maxTxAttempts {
			return err
		}
		// Jitter keeps the transactions that collided from colliding again.
		pause := time.Duration(attempt) * time.Millisecond
		pause += rand.N(pause*4 + 1)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(pause):
		}
	}
}

// runTx runs fn in one transaction. Errors from fn are returned as they
// are: fn wraps its own.
func (s *Store) runTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := s.pool.Begin(ctx)
	if err != nil {
		return fail("begin", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // after Commit this is a no-op; after a failure the error that counts is fn's
	if err := fn(tx); err != nil {
		return err
	}
	return fail("commit", tx.Commit(ctx))
}

// fail wraps a database error for the caller: a unique violation, or a
// balance refusing a second settlement currency, becomes
// payments.ErrConflict and a bigint overflow (a balance beyond int64)
// payments.ErrInvalidInput, so that callers can branch with errors.Is.
func fail(op string, err error) error {
	if err == nil {
		return nil
	}
	switch pgCode(err) {
	case codeUniqueViolation:
		return fmt.Errorf("postgres: %s: %w: %v", op, payments.ErrConflict, err)
	case codeCheckViolation:
		if settledElsewhere(err) {
			return fmt.Errorf("postgres: %s: a balance is settled in one currency: %w: %v", op, payments.ErrConflict, err)
		}
	case codeNumericOutOfRange:
		return fmt.Errorf("postgres: %s: out of range: %w: %v", op, payments.ErrInvalidInput, err)
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}
