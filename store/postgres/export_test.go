package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// Test-only access to the transaction runner, for tests that need a Store.

func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error { return s.inTx(ctx, fn) }

const MaxTxAttempts = maxTxAttempts

var Retryable = retryable
