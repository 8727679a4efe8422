package postgres

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

// Entries implements payments.Store; entries come ordered by RecordedAt,
// then ID, and the cursor is the last one's (RecordedAt, ID).
func (s *Store) Entries(ctx context.Context, f payments.EntryFilter) ([]payments.Entry, string, error) {
	l, err := entriesQuery(f)
	return list(ctx, s, "entries", l, err, scanEntry, func(e payments.Entry) string {
		return cursor.Encode(cursor.Key{At: e.RecordedAt, ID: e.ID})
	})
}

// entriesQuery is the page of entries f selects. Entries have no index by
// gateway: there are few gateways, each with many entries, so a listing by
// gateway reads the recorded_at index and skips the others'.
func entriesQuery(f payments.EntryFilter) (listing, error) {
	var w where
	w.add("account", f.Account)
	// The index the listing reads, by the column before (recorded_at, id)
	// in it (indexed), and that column's value.
	var indexed, value string
	if f.Account != "" {
		indexed, value = "account", f.Account
	}
	if f.Unsettled {
		// The few entries that wait for a rate have an index of their
		// own, in the listing's order, which serves an account's too.
		w.addPredicate(pendingConversion)
		indexed, value = "", ""
	}
	if f.PaymentID != "" {
		w.add("payment_id", f.PaymentID)
		w.addPredicate("payment_id <> ''")
		indexed, value = "payment_id", f.PaymentID
	}
	w.add("gateway", f.Gateway)
	if f.After != "" {
		k, err := cursor.Decode(f.After)
		if err != nil {
			return listing{}, err
		}
		// As the listing of notifications does, the row comparison starts
		// with the column of the index the listing reads.
		if indexed == "" {
			w.addArgs("(recorded_at, id) > (%s, %s)", k.At, k.ID)
		} else {
			w.addArgs("("+indexed+", recorded_at, id) > (%s, %s, %s)", value, k.At, k.ID)
		}
	}
	return w.listing("SELECT "+entryColumns+" FROM {entries}", "recorded_at, id", f.Limit), nil
}

func scanEntry(row pgx.Row) (payments.Entry, error) {
	var (
		e                      payments.Entry
		kind, currency         string
		occurredAt, recordedAt time.Time
		settlement             storedConversion
	)
	err := row.Scan(append([]any{&e.ID, &e.Gateway, &kind, &e.GatewayRef, &e.GatewayPaymentID, &e.PaymentID, &e.Account,
		&e.Amount.Amount, &currency, &e.Reference, &occurredAt, &recordedAt}, settlement.dest()...)...)
	e.Kind, e.Amount.Currency = payments.EntryKind(kind), payments.Currency(currency)
	e.OccurredAt, e.RecordedAt = occurredAt.UTC(), recordedAt.UTC()
	e.Settlement = settlement.conversion()
	return e, err
}

const balanceColumns = "account, amount, currency, entries, updated_at, settled_amount, settled_currency"

// Balance implements payments.Store. It reads one row: balances are kept
// up to date by Commit.
func (s *Store) Balance(ctx context.Context, account string, currency payments.Currency) (payments.Balance, error) {
	zero := payments.Balance{Account: account, Money: payments.Money{Currency: currency}}
	if err := s.usable(); err != nil {
		return zero, err
	}
	b, err := scanBalance(s.pool.QueryRow(ctx,
		s.sql("SELECT "+balanceColumns+" FROM {balances} WHERE account = $1 AND currency = $2"), account, string(currency)))
	if errors.Is(err, pgx.ErrNoRows) {
		return zero, nil
	}
	if err != nil {
		return zero, fail(fmt.Sprintf("balance %s %s", account, currency), err)
	}
	return b, nil
}

// Balances implements payments.Store.
func (s *Store) Balances(ctx context.Context, account string) ([]payments.Balance, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	rows, err := s.pool.Query(ctx, s.sql("SELECT "+balanceColumns+" FROM {balances} WHERE account = $1 ORDER BY currency"), account)
	if err != nil {
		return nil, fail("balances of "+account, err)
	}
	list, err := collect(rows, scanBalance)
	return list, fail("balances of "+account, err)
}

func scanBalance(row pgx.Row) (payments.Balance, error) {
	var (
		b               payments.Balance
		currency        string
		updatedAt       time.Time
		settledAmount   int64
		settledCurrency *string
	)
	err := row.Scan(&b.Account, &b.Money.Amount, &currency, &b.Entries, &updatedAt, &settledAmount, &settledCurrency)
	b.Money.Currency, b.UpdatedAt = payments.Currency(currency), updatedAt.UTC()
	b.Settled = settledMoney(settledAmount, settledCurrency)
	return b, err
}
