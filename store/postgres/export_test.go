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

// Listing queries, rendered for s, for tests that look at their plans. A
// filter's cursor must be one the Store issued.

func (s *Store) EntriesSQL(f payments.EntryFilter) (string, []any) {
	return s.listingSQL(entriesQuery(f))
}

func (s *Store) NotificationsSQL(f payments.NotificationFilter) (string, []any) {
	return s.listingSQL(notificationsQuery(f))
}

func (s *Store) SyncTasksSQL(f payments.SyncFilter) (string, []any) {
	return s.listingSQL(syncTasksQuery(f))
}

func (s *Store) PruneNotificationsSQL(p payments.NotificationPrune) (string, []any) {
	query, args := pruneQuery(p)
	return s.sql(query), args
}

func (s *Store) listingSQL(l listing, err error) (string, []any) {
	if err != nil {
		panic(err)
	}
	return s.sql(l.query), l.args
}

func (s *Store) ClaimSyncSQL() string { return s.sql(claimSyncQuery) }

// The statements that find an open sync task by its entry's id.
func (s *Store) SettleSyncSQL() string  { return s.sql(settleSyncQuery) }
func (s *Store) RequeueSyncSQL() string { return s.sql(requeueSyncQuery) }
func (s *Store) TaskStateSQL() string   { return s.sql(taskStateQuery) }

// CommitAlone commits b in a transaction of its own, as a batch of a group
// that was rolled back is.
func (s *Store) CommitAlone(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	return s.commitAlone(ctx, b)
}

func (s *Store) ClaimDeliveriesSQL() string { return s.sql(claimDeliveriesQuery) }

func (s *Store) ClaimHoldsSQL() string { return s.sql(claimHoldsQuery) }

func (s *Store) FailingSinceSQL() string { return s.sql(failingSinceQuery) }

func (s *Store) DeliveriesSQL(f payments.DeliveryFilter) (string, []any) {
	return s.listingSQL(deliveriesQuery(f))
}
