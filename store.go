package payments

import (
	"context"
	"fmt"
	"time"
)

// Store persists payments, the ledger, balances, the notification journal and
// the sync outbox. Every implementation runs store/storetest; a Store is done
// when that suite passes with the race detector on. It must be safe for
// concurrent use, and for several processes when it is shared.
type Store interface {
	// CreatePayment inserts a new payment. A taken ID, or a taken
	// (Gateway, GatewayID) when GatewayID is set, is ErrConflict.
	// ClientSecret is never persisted.
	CreatePayment(ctx context.Context, p *Payment) error
	// Payment returns the payment with the library's id, or ErrNotFound.
	Payment(ctx context.Context, id string) (*Payment, error)
	// PaymentByGatewayID returns the payment with the gateway's id, or
	// ErrNotFound.
	PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*Payment, error)

	// Commit records a batch in ONE transaction: the journal row, payment
	// updates, entries, balances and sync tasks. Either all of it is durable
	// when Commit returns nil, or none of it is. See Batch for the rules.
	Commit(ctx context.Context, b *Batch) (*BatchResult, error)

	// Entries lists ledger entries.
	Entries(ctx context.Context, f EntryFilter) ([]Entry, error)
	// Balance returns one account's balance in one currency; an account
	// with no entries in it has a zero Balance, not an error.
	Balance(ctx context.Context, account string, currency Currency) (Balance, error)
	// Balances returns every balance of an account, ordered by currency.
	Balances(ctx context.Context, account string) ([]Balance, error)

	// AppendNotification journals a notification outside any batch: one
	// that was rejected, or whose batch failed.
	AppendNotification(ctx context.Context, n *Notification) error
	// Notification returns one journaled notification, or ErrNotFound.
	Notification(ctx context.Context, id string) (*Notification, error)
	// Notifications lists the journal, newest ReceivedAt first.
	Notifications(ctx context.Context, f NotificationFilter) ([]Notification, error)

	// ClaimSync leases up to c.Limit due sync tasks (state pending,
	// NextAttempt <= c.Now, no live lease) to c.Owner until c.Now+c.Lease.
	// No task is leased to two owners at once, across processes.
	ClaimSync(ctx context.Context, c SyncClaim) ([]SyncTask, error)
	// SettleSync ends a lease: done, retry later, or park. It returns
	// ErrConflict when the lease is no longer the owner's (it expired and
	// someone else claimed the task), and changes nothing then.
	SettleSync(ctx context.Context, s SyncSettlement) error
	// SyncTasks lists sync tasks in a state, ordered by their entry's
	// RecordedAt, then entry ID.
	SyncTasks(ctx context.Context, f SyncFilter) ([]SyncTask, error)
	// RequeueSync makes a parked task pending and due now, with its
	// attempts reset. A task that is not parked is ErrConflict.
	RequeueSync(ctx context.Context, entryID string, now time.Time) error

	// Close releases the Store's resources.
	Close() error
}

// Pinger is implemented by stores that can check their connection; the
// Service's Health uses it.
type Pinger interface {
	Ping(ctx context.Context) error
}

// Batch is everything one notification or operation records, committed in
// one transaction.
//
// Rules every Store follows (store/storetest checks each):
//   - Payments: matched by (Gateway, GatewayID), else by PaymentID.
//     It is created when it is unknown and the update carries both a
//     GatewayID and an Account (with PaymentID as its id when set).
//     Status is applied only when it advances; Account, Reference, Amount
//     and CaptureBefore are filled only where empty (MergeUpdate).
//   - Entries: validated; an entry without an Account takes it from its
//     payment (Gateway, GatewayPaymentID); if there is none the whole batch
//     fails with ErrUnattributed and nothing is written. A key already
//     recorded with the same amount and account is a duplicate (not an
//     error); with a different one the batch fails with ErrConflict.
//   - Each new entry adds to its (account, currency) balance and gets a
//     sync task, leased to SyncOwner until SyncLeaseUntil when SyncOwner
//     is set so that the caller can apply it at once.
//   - Notification, when set, is journaled in the same transaction, its
//     Outcome set by the Store, on b.Notification too: OutcomeRecorded
//     when the batch recorded an entry, created a payment or changed a
//     status (BatchResult.Empty is false), else OutcomeDuplicate. A taken
//     notification ID fails the batch with ErrConflict.
type Batch struct {
	Gateway        string
	Notification   *Notification
	Payments       []PaymentUpdate
	Entries        []Entry
	Now            time.Time
	SyncOwner      string
	SyncLeaseUntil time.Time
}

// BatchResult says what a committed Batch changed.
type BatchResult struct {
	// Entries are the newly recorded entries, as stored.
	Entries []Entry
	// Duplicates are entries that were already recorded, as stored.
	Duplicates []Entry
	// Changes are the status changes applied.
	Changes []StatusChange
	// Created are payments the batch created.
	Created []Payment
}

// Empty reports whether the batch changed nothing.
func (r *BatchResult) Empty() bool {
	return len(r.Entries) == 0 && len(r.Changes) == 0 && len(r.Created) == 0
}

// SyncState is where a sync task stands.
type SyncState string

// Sync task states.
const (
	SyncPending SyncState = "pending" // due at NextAttempt (maybe leased)
	SyncDone    SyncState = "done"    // the BalanceService applied it
	SyncParked  SyncState = "parked"  // failed permanently or too often
)

// SyncTask is one entry waiting to be, or having been, applied by the host's
// BalanceService.
type SyncTask struct {
	Entry       Entry
	State       SyncState
	Attempts    int
	NextAttempt time.Time
	LastError   string
	LeaseOwner  string
	LeaseUntil  time.Time
}

// SyncClaim asks a Store for due sync tasks.
type SyncClaim struct {
	Owner string
	Now   time.Time
	Lease time.Duration
	Limit int
}

// SyncSettlement ends the lease on one task. State is SyncDone, SyncParked,
// or SyncPending with NextAttempt set for a retry; Attempts and LastError
// are stored as given.
type SyncSettlement struct {
	EntryID     string
	Owner       string
	State       SyncState
	Attempts    int
	NextAttempt time.Time
	LastError   string
}

// SyncFilter selects sync tasks.
type SyncFilter struct {
	State SyncState
	Limit int // 0 means DefaultListLimit
}

// Validate checks every update and entry of the batch, filling entry ids and
// the gateway name where a driver left them empty. Stores call it first so
// that nothing malformed is half-written.
func (b *Batch) Validate() error {
	if b.Gateway == "" {
		return fmt.Errorf("payments: batch without gateway: %w", ErrInvalidInput)
	}
	for i := range b.Payments {
		if err := b.Payments[i].Validate(); err != nil {
			return err
		}
	}
	for i := range b.Entries {
		e := &b.Entries[i]
		if e.Gateway == "" {
			e.Gateway = b.Gateway
		}
		if e.Gateway != b.Gateway {
			return fmt.Errorf("payments: entry %s of gateway %q in a %q batch: %w", e.GatewayRef, e.Gateway, b.Gateway, ErrInvalidInput)
		}
		if err := e.Validate(); err != nil {
			return err
		}
	}
	return nil
}
