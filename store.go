package payments

import (
	"context"
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

	// Commit records a batch in ONE transaction: it plans it with
	// Batch.Plan, reading payments in that transaction, and persists the
	// Plan (see there). Either all of it is durable when Commit returns
	// nil, and it returns Plan.Result, or none of it is.
	Commit(ctx context.Context, b *Batch) (*BatchResult, error)

	// Entries lists one page of ledger entries, ordered by RecordedAt,
	// then ID, and the cursor of the next page ("" after the last one).
	// A cursor the Store did not issue is ErrInvalidInput.
	Entries(ctx context.Context, f EntryFilter) (page []Entry, next string, err error)
	// SettleEntry records the conversion of an entry that waited for a
	// rate, in one transaction: the entry's Settlement becomes c, c.Money
	// is added to its balance's Settled, and the entry's pending sync task
	// becomes due at now. An entry whose conversion is already c is left as
	// it is (nil); one that does not wait for a conversion into
	// c.Money.Currency is ErrConflict; an unknown one ErrNotFound.
	SettleEntry(ctx context.Context, entryID string, c Conversion, now time.Time) error
	// Balance returns one account's balance in one currency; an account
	// with no entries in it has a zero Balance, not an error.
	Balance(ctx context.Context, account string, currency Currency) (Balance, error)
	// Balances returns every balance of an account, ordered by currency.
	Balances(ctx context.Context, account string) ([]Balance, error)

	// AppendNotification journals a notification outside any batch: one
	// that was rejected, ignored, or whose batch failed. A taken ID is
	// ErrConflict.
	AppendNotification(ctx context.Context, n *Notification) error
	// Notification returns one journaled notification, or ErrNotFound.
	Notification(ctx context.Context, id string) (*Notification, error)
	// PruneNotifications deletes up to p.Limit journal rows of
	// p.Outcome received before p.Before, and reports how many. It never
	// deletes a parked or failed row no replay has resolved (ResolvedBy
	// empty): that is money or a delivery still waiting for the host.
	PruneNotifications(ctx context.Context, p NotificationPrune) (int, error)
	// Notifications lists one page of the journal, newest ReceivedAt
	// first (rows received at the same instant in an order of the
	// Store's choosing, the same on every page), and the cursor of the
	// next page.
	Notifications(ctx context.Context, f NotificationFilter) (page []Notification, next string, err error)

	// ClaimSync leases up to c.Limit due sync tasks (state pending,
	// NextAttempt <= c.Now, no live lease) to c.Owner until c.Now+c.Lease.
	// No task is leased to two owners at once, across processes.
	ClaimSync(ctx context.Context, c SyncClaim) ([]SyncTask, error)
	// SettleSync ends a lease: done, retry later, or park. It returns
	// ErrConflict when the lease is no longer the owner's (it expired and
	// someone else claimed the task), and changes nothing then.
	SettleSync(ctx context.Context, s SyncSettlement) error
	// SyncTasks lists one page of sync tasks, in the order their entries
	// were queued, and the cursor of the next page.
	SyncTasks(ctx context.Context, f SyncFilter) (page []SyncTask, next string, err error)
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
// one transaction. A Store hands it to Batch.Plan, which decides every rule
// (see there), and persists the Plan.
type Batch struct {
	Gateway      string
	Notification *Notification
	Payments     []PaymentUpdate
	Entries      []Entry
	// Account and Reference are what the caller vouches for: they fill the
	// payments and entries that have none (Service.Attribute,
	// Service.VerifyPurchase), and a payment or entry of another account
	// fails the batch with ErrConflict.
	Account, Reference string
	Now                time.Time
	// SyncOwner, when set, leases the new entries' sync tasks to it until
	// SyncLeaseUntil, so that the caller may apply them at once.
	SyncOwner      string
	SyncLeaseUntil time.Time
	// Postbacks has the plan make the batch's postback Messages, which a
	// PostbackStore queues for every endpoint that wants them.
	Postbacks bool
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
	// Outcome is what the batch's notification was journaled as:
	// OutcomeRecorded when the batch recorded an entry, created a payment
	// or moved a status (Empty is false), else OutcomeDuplicate; empty for
	// a batch without a notification.
	Outcome Outcome
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

// SyncFilter selects sync tasks, in the order their entries were queued.
type SyncFilter struct {
	State SyncState // empty for every state
	// Limit caps the page; 0 means DefaultListLimit.
	Limit int
	// After is the cursor a previous page returned: the page starts after
	// it. Empty starts at the beginning.
	After string
}
