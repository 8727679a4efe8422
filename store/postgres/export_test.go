package postgres

import (
	"context"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

// Test-only access to the transaction runner, for tests that need a Store.

func (s *Store) InTx(ctx context.Context, fn func(pgx.Tx) error) error { return s.inTx(ctx, fn) }

const MaxTxAttempts = maxTxAttempts

var Retryable = retryable

// CommitTogether commits batches as one group, as if they had arrived
// together, and returns each one's outcome. Batches the group leaves for
// later are committed as the next group, as the committer would.
func (s *Store) CommitTogether(ctx context.Context, batches ...*payments.Batch) ([]*payments.BatchResult, []error) {
	jobs := make([]*commitJob, len(batches))
	for i, b := range batches {
		if err := b.Validate(); err != nil {
			panic(err)
		}
		jobs[i] = &commitJob{ctx: ctx, b: b, done: make(chan struct{})}
	}
	var careful bool
	for group := jobs; len(group) > 0; {
		group = s.committer.commitGroup(group, &careful)
	}
	results, errs := make([]*payments.BatchResult, len(jobs)), make([]error, len(jobs))
	for i, j := range jobs {
		<-j.done
		results[i], errs[i] = j.res, j.err
	}
	return results, errs
}

// Listing queries, rendered for s, for tests that look at their plans.

func (s *Store) EntriesSQL(f payments.EntryFilter) (string, []any) {
	q, args := entriesQuery(f)
	return s.sql(q), args
}

func (s *Store) NotificationsSQL(f payments.NotificationFilter) (string, []any) {
	q, args := notificationsQuery(f)
	return s.sql(q), args
}

func (s *Store) SyncTasksSQL(f payments.SyncFilter) (string, []any) {
	q, args := syncTasksQuery(f)
	return s.sql(q), args
}

func (s *Store) ClaimSyncSQL() string { return s.sql(claimSyncQuery) }
