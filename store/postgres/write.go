package postgres

import (
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"time"

	"github.com/payrail/payments"
)

// The statements that persist a payments.Plan, shared by the transaction
// per batch (commit) and the group commit (groupTx). Each writes many rows
// over one array per column (arrayRows), keeping the order of its arrays
// (ORDER BY n), which the callers sort in the order rows
// must be locked in: payments and entries by id, balances by account and
// currency.

// insertPayments inserts payments; onConflict is empty, or DO NOTHING.
func insertPayments(onConflict string) string {
	return `INSERT INTO {payments} (` + paymentColumns + `)
	SELECT id, gateway, gateway_id, account, amount, currency, reference, status,
		redirect_url, capture_before, metadata::jsonb, version, created_at, updated_at
	FROM ` + arrayRows("r", "$1::text[] id", "$2::text[] gateway", "$3::text[] gateway_id", "$4::text[] account",
		"$5::bigint[] amount", "$6::text[] currency", "$7::text[] reference", "$8::text[] status",
		"$9::text[] redirect_url", "$10::timestamptz[] capture_before", "$11::text[] metadata", "$12::bigint[] version",
		"$13::timestamptz[] created_at", "$14::timestamptz[] updated_at") + `
	ORDER BY n ` + onConflict
}

const entryColumns = `id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account,
	amount, currency, reference, occurred_at, recorded_at, ` + conversionColumns

// insertEntries inserts entries; onConflict is empty, or DO NOTHING
// RETURNING the ids inserted.
func insertEntries(onConflict string) string {
	return `INSERT INTO {entries} (` + entryColumns + `)
	SELECT id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account, amount, currency, reference,
		occurred_at, recorded_at, ` + conversionColumns + `
	FROM ` + arrayRows("r", "$1::text[] id", "$2::text[] gateway", "$3::text[] kind", "$4::text[] gateway_ref",
		"$5::text[] gateway_payment_id", "$6::text[] payment_id", "$7::text[] account", "$8::bigint[] amount",
		"$9::text[] currency", "$10::text[] reference", "$11::timestamptz[] occurred_at", "$12::timestamptz[] recorded_at",
		"$13::bigint[] settled_amount", "$14::text[] settled_currency", "$15::text[] settled_rate",
		"$16::text[] settled_source", "$17::timestamptz[] settled_at") + `
	ORDER BY n ` + onConflict
}

// readEntries reads back the entries with the given ids; see paymentsByKeys
// for why through LATERAL.
var readEntries = `SELECT e.* FROM ` + arrayRows("k", "$1::text[] id") + `
	CROSS JOIN LATERAL (SELECT ` + entryColumns + ` FROM {entries} WHERE id = k.id LIMIT 1) AS e`

// addToBalances adds payments.BalanceChanges, each in one upsert row; where
// is the condition under which a stored balance may take its change, over
// the change's row r. Its columns low and high are the change's Low and
// High, or its Bounds, as the condition needs.
//
// A change's settled sum (settled_currency NULL when it has none) is added
// to the balance's. A change settled in another currency than the balance
// sets settled_currency to the empty string, which the
// balances_one_settlement_currency constraint refuses (see migration
// 0005): the statement fails, with it a group commit's transaction, and
// fail makes it payments.ErrConflict. A settled sum beyond int64 fails the
// statement as numeric_value_out_of_range.
func addToBalances(where string) string {
	return `WITH r AS (
		SELECT * FROM ` + arrayRows("r", "$1::text[] account", "$2::text[] currency", "$3::bigint[] amount",
		"$4::bigint[] entries", "$5::timestamptz[] updated_at", "$6::bigint[] low", "$7::bigint[] high",
		"$8::bigint[] settled_amount", "$9::text[] settled_currency") + `
	)
	INSERT INTO {balances} AS b (account, currency, amount, entries, updated_at, settled_amount, settled_currency)
	SELECT account, currency, amount, entries, updated_at, settled_amount, settled_currency FROM r ORDER BY n
	ON CONFLICT (account, currency) DO UPDATE
	SET amount = b.amount + excluded.amount, entries = b.entries + excluded.entries, updated_at = excluded.updated_at,
		settled_amount = b.settled_amount + excluded.settled_amount,
		settled_currency = CASE WHEN b.settled_currency <> excluded.settled_currency THEN ''
			ELSE coalesce(b.settled_currency, excluded.settled_currency) END
	WHERE (SELECT ` + where + ` FROM r WHERE r.account = excluded.account AND r.currency = excluded.currency)`
}

// addWithinBounds adds a transaction's balance changes, given with their
// Bounds, and returns the balances it added to: a stored balance outside
// its change's bounds is left alone, and missing from what is returned, for
// the caller to fail the batch (a new balance starts at zero, which every
// change's bounds hold).
var addWithinBounds = addToBalances("b.amount BETWEEN r.low AND r.high") + " RETURNING account, currency"

// addOrOverflow adds changes given with their Low and High, and raises
// numeric_value_out_of_range when a stored balance lies outside a change's
// bounds, which aborts the transaction: b.amount + High leaves int64
// exactly when the balance is above the upper bound, and b.amount + Low when
// it is below the lower one. A group commit, which sends COMMIT in the same
// round trip, cannot look at what the upsert returned before it commits.
var addOrOverflow = addToBalances("b.amount + r.high >= b.amount + r.low")

// balanceArgs are the arguments of addToBalances for changes, sorted by
// account and currency; bounds passes each change's Bounds as low and high,
// else its Low and High.
func balanceArgs(changes []payments.BalanceChange, bounds bool) []any {
	changes = slices.Clone(changes)
	slices.SortFunc(changes, func(a, b payments.BalanceChange) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Currency, b.Currency))
	})
	low, high := make([]int64, len(changes)), make([]int64, len(changes))
	for i, c := range changes {
		if bounds {
			low[i], high[i] = c.Bounds()
		} else {
			low[i], high[i] = c.Low, c.High
		}
	}
	return []any{
		column(changes, func(c payments.BalanceChange) string { return c.Account }),
		column(changes, func(c payments.BalanceChange) string { return string(c.Currency) }),
		column(changes, func(c payments.BalanceChange) int64 { return c.Amount }),
		column(changes, func(c payments.BalanceChange) int64 { return c.Entries }),
		column(changes, func(c payments.BalanceChange) time.Time { return c.UpdatedAt }),
		low, high,
		column(changes, func(c payments.BalanceChange) int64 { return c.Settled.Amount }),
		column(changes, func(c payments.BalanceChange) *string { return nullIfZero(string(c.Settled.Currency)) }),
	}
}

var queueSyncTasks = `INSERT INTO {sync} (entry_id, state, next_attempt, lease_owner, lease_until)
	SELECT entry_id, 'pending', next_attempt, lease_owner, lease_until
	FROM ` + arrayRows("r", "$1::text[] entry_id", "$2::timestamptz[] next_attempt", "$3::text[] lease_owner",
	"$4::timestamptz[] lease_until") + `
	ORDER BY n`

// syncArgs are the arguments of queueSyncTasks, in the order tasks are
// queued.
func syncArgs(tasks []payments.SyncTask) []any {
	return []any{
		column(tasks, func(t payments.SyncTask) string { return t.Entry.ID }),
		column(tasks, func(t payments.SyncTask) time.Time { return t.NextAttempt }),
		column(tasks, func(t payments.SyncTask) string { return t.LeaseOwner }),
		column(tasks, func(t payments.SyncTask) *time.Time { return nullTime(t.LeaseUntil) }),
	}
}

// resolveNotification marks journal row $1 resolved by row $2, unless a
// replay resolved it before.
const resolveNotification = `UPDATE {notifications} SET resolved_by = $2 WHERE id = $1 AND resolved_by = ''`

func paymentInsertArgs(ps []payments.Payment) ([]any, error) {
	metadata := make([]*string, len(ps)) // JSON
	for i, p := range ps {
		b, err := marshalMetadata(p.Metadata)
		if err != nil {
			return nil, err
		}
		if b != nil {
			m := string(b)
			metadata[i] = &m
		}
	}
	return []any{
		column(ps, func(p payments.Payment) string { return p.ID }),
		column(ps, func(p payments.Payment) string { return p.Gateway }),
		column(ps, func(p payments.Payment) string { return p.GatewayID }),
		column(ps, func(p payments.Payment) string { return p.Account }),
		column(ps, func(p payments.Payment) int64 { return p.Amount.Amount }),
		column(ps, func(p payments.Payment) string { return string(p.Amount.Currency) }),
		column(ps, func(p payments.Payment) string { return p.Reference }),
		column(ps, func(p payments.Payment) string { return string(p.Status) }),
		column(ps, func(p payments.Payment) string { return p.RedirectURL }),
		column(ps, func(p payments.Payment) *time.Time { return nullTime(p.CaptureBefore) }),
		metadata,
		column(ps, func(p payments.Payment) int64 { return p.Version }),
		column(ps, func(p payments.Payment) time.Time { return p.CreatedAt }),
		column(ps, func(p payments.Payment) time.Time { return p.UpdatedAt }),
	}, nil
}

func entryArgs(es []payments.Entry) []any {
	conversions := column(es, func(e payments.Entry) storedConversion { return storeConversion(e.Settlement) })
	return []any{
		column(es, func(e payments.Entry) string { return e.ID }),
		column(es, func(e payments.Entry) string { return e.Gateway }),
		column(es, func(e payments.Entry) string { return string(e.Kind) }),
		column(es, func(e payments.Entry) string { return e.GatewayRef }),
		column(es, func(e payments.Entry) string { return e.GatewayPaymentID }),
		column(es, func(e payments.Entry) string { return e.PaymentID }),
		column(es, func(e payments.Entry) string { return e.Account }),
		column(es, func(e payments.Entry) int64 { return e.Amount.Amount }),
		column(es, func(e payments.Entry) string { return string(e.Amount.Currency) }),
		column(es, func(e payments.Entry) string { return e.Reference }),
		column(es, func(e payments.Entry) time.Time { return e.OccurredAt }),
		column(es, func(e payments.Entry) time.Time { return e.RecordedAt }),
		column(conversions, func(c storedConversion) *int64 { return c.amount }),
		column(conversions, func(c storedConversion) *string { return c.currency }),
		column(conversions, func(c storedConversion) *string { return c.rate }),
		column(conversions, func(c storedConversion) *string { return c.source }),
		column(conversions, func(c storedConversion) *time.Time { return c.at }),
	}
}

// headerJSON encodes a notification's headers for the JSONB column; nil
// headers are NULL.
func headerJSON(n *payments.Notification) (*string, error) {
	if n.Header == nil {
		return nil, nil
	}
	b, err := json.Marshal(n.Header)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode headers of notification %s: %w", n.ID, err)
	}
	h := string(b)
	return &h, nil
}

// byEntryID orders entries as their rows are locked.
func byEntryID(a, b payments.Entry) int { return cmp.Compare(a.ID, b.ID) }

// column is one column of a multi-row statement's rows, as an array
// parameter.
func column[R, V any](rows []R, value func(R) V) []V {
	out := make([]V, len(rows))
	for i, r := range rows {
		out[i] = value(r)
	}
	return out
}
