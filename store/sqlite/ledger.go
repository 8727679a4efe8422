package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/cursor"
)

const entryColumns = `id, gateway, kind, gateway_ref, gateway_payment_id, payment_id, account,
	amount, currency, reference, occurred_at, recorded_at, ` + conversionColumns

// insertEntry inserts e with its sync task unless its id (and so its key)
// is taken, reporting the new row's seq, or 0 when it wrote none.
func (s *Store) insertEntry(ctx context.Context, q querier, e *payments.Entry, task *payments.SyncTask) (int64, error) {
	args := append([]any{e.ID, e.Gateway, string(e.Kind), e.GatewayRef, e.GatewayPaymentID, e.PaymentID, e.Account,
		e.Amount.Amount, string(e.Amount.Currency), e.Reference, micros(e.OccurredAt), micros(e.RecordedAt)},
		conversionArgs(e.Settlement)...)
	args = append(args, taskArgs(task)...)
	res, err := q.exec(ctx, `INSERT INTO {{p}}entries (`+entryColumns+`, `+taskColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`, args...)
	if err != nil {
		return 0, fmt.Errorf("sqlite: insert entry %s: %w", e.ID, err)
	}
	// LastInsertId is only this row's when the insert wrote one.
	if n, err := res.RowsAffected(); err != nil || n != 1 {
		return 0, err
	}
	return res.LastInsertId()
}

// entryByID returns nil, nil when no entry has the id.
func (s *Store) entryByID(ctx context.Context, q querier, id string) (*payments.Entry, error) {
	row := q.queryRow(ctx, `SELECT `+entryColumns+` FROM {{p}}entries WHERE id = ?`, id)
	e, err := scanEntry(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	return e, err
}

// addToBalance adds a plan's change to one balance in one upsert. SQLite
// would turn an integer sum that overflows into an inexact REAL (which the
// STRICT table then refuses with a less telling error), so the update only
// applies while the stored amount lies within the change's bounds, which
// keep every running sum in int64, and the settled sum within
// settledBounds; and, as a balance has one settlement currency, while the
// stored balance is settled in none or in the change's. Otherwise it
// changes nothing, and refusedBalance says which rule it broke. A new
// balance starts at zero, within every bound.
func (s *Store) addToBalance(ctx context.Context, q querier, c payments.BalanceChange) error {
	low, high := c.Bounds()
	settledLow, settledHigh := settledBounds(c.Settled.Amount)
	res, err := q.exec(ctx, `INSERT INTO {{p}}balances (account, currency, amount, entries, updated_at, settled_amount, settled_currency)
		VALUES (?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (account, currency) DO UPDATE SET
			amount = amount + excluded.amount,
			entries = entries + excluded.entries,
			settled_amount = settled_amount + excluded.settled_amount,
			settled_currency = coalesce(settled_currency, excluded.settled_currency),
			updated_at = excluded.updated_at
		WHERE amount BETWEEN ? AND ? AND settled_amount BETWEEN ? AND ?
			AND (excluded.settled_currency IS NULL OR settled_currency IS NULL OR settled_currency = excluded.settled_currency)`,
		c.Account, string(c.Currency), c.Amount, c.Entries, micros(c.UpdatedAt), c.Settled.Amount, optionalCurrency(c.Settled.Currency),
		low, high, settledLow, settledHigh)
	if err != nil {
		return fmt.Errorf("sqlite: update balance of %s: %w", c.Account, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("sqlite: update balance of %s: %w", c.Account, err)
	}
	if n == 0 {
		return s.refusedBalance(ctx, q, c.Account, c.Currency, c.Settled.Currency)
	}
	return nil
}

// Entries implements payments.Store: entries ordered by RecordedAt, then
// ID; the cursor is the last row's (recorded_at, id).
func (s *Store) Entries(ctx context.Context, f payments.EntryFilter) ([]payments.Entry, string, error) {
	var where []string
	var args []any
	if f.After != "" {
		k, err := cursor.Decode(f.After)
		if err != nil {
			return nil, "", fmt.Errorf("sqlite: list entries: %w", err)
		}
		where, args = append(where, "(recorded_at, id) > (?, ?)"), append(args, micros(k.At), k.ID)
	}
	for _, c := range []struct{ column, value string }{
		{"account", f.Account}, {"payment_id", f.PaymentID}, {"gateway", f.Gateway},
	} {
		if c.value != "" {
			where = append(where, c.column+" = ?")
			args = append(args, c.value)
		}
	}
	if f.Unsettled {
		where = append(where, pendingConversion)
	}
	if f.PaymentID != "" {
		// The index by payment holds only linked entries; a bound
		// parameter cannot show SQLite that it applies.
		where = append(where, "payment_id <> ''")
	}
	q, err := s.read()
	if err != nil {
		return nil, "", err
	}
	query := `SELECT ` + entryColumns + ` FROM {{p}}entries`
	if len(where) > 0 {
		query += ` WHERE ` + strings.Join(where, " AND ")
	}
	query += ` ORDER BY recorded_at, id LIMIT ?`
	limit := cursor.Limit(f.Limit)
	rows, err := q.query(ctx, query, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("sqlite: list entries: %w", err)
	}
	defer rows.Close()
	var out []payments.Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, "", err
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("sqlite: list entries: %w", err)
	}
	return page(out, limit, func(last int) string {
		return cursor.Encode(cursor.Key{At: out[last].RecordedAt, ID: out[last].ID})
	})
}

func scanEntry(row scanner) (*payments.Entry, error) {
	var (
		e                      payments.Entry
		kind, currency         string
		occurredAt, recordedAt int64
		settlement             storedConversion
	)
	err := row.Scan(append([]any{&e.ID, &e.Gateway, &kind, &e.GatewayRef, &e.GatewayPaymentID, &e.PaymentID, &e.Account,
		&e.Amount.Amount, &currency, &e.Reference, &occurredAt, &recordedAt}, settlement.dest()...)...)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, err
		}
		return nil, fmt.Errorf("sqlite: read entry: %w", err)
	}
	e.Kind = payments.EntryKind(kind)
	e.Amount.Currency = payments.Currency(currency)
	e.OccurredAt, e.RecordedAt = fromMicros(occurredAt), fromMicros(recordedAt)
	e.Settlement = settlement.conversion()
	return &e, nil
}

// Balance implements payments.Store; an account with no entries in the
// currency has a zero Balance.
func (s *Store) Balance(ctx context.Context, account string, currency payments.Currency) (payments.Balance, error) {
	b := payments.Balance{Account: account, Money: payments.Money{Currency: currency}}
	q, err := s.read()
	if err != nil {
		return b, err
	}
	var (
		updatedAt       int64
		settledCurrency sql.NullString
	)
	err = q.queryRow(ctx, `SELECT amount, entries, updated_at, settled_amount, settled_currency FROM {{p}}balances
		WHERE account = ? AND currency = ?`, account, string(currency)).
		Scan(&b.Money.Amount, &b.Entries, &updatedAt, &b.Settled.Amount, &settledCurrency)
	if errors.Is(err, sql.ErrNoRows) {
		return b, nil
	}
	if err != nil {
		return b, fmt.Errorf("sqlite: balance of %s: %w", account, err)
	}
	b.UpdatedAt = fromMicros(updatedAt)
	b.Settled = settledMoney(b.Settled.Amount, settledCurrency)
	return b, nil
}

// Balances implements payments.Store: every balance of the account, ordered
// by currency.
func (s *Store) Balances(ctx context.Context, account string) ([]payments.Balance, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT currency, amount, entries, updated_at, settled_amount, settled_currency FROM {{p}}balances
		WHERE account = ? ORDER BY currency`, account)
	if err != nil {
		return nil, fmt.Errorf("sqlite: balances of %s: %w", account, err)
	}
	defer rows.Close()
	var out []payments.Balance
	for rows.Next() {
		b := payments.Balance{Account: account}
		var (
			currency        string
			updatedAt       int64
			settledCurrency sql.NullString
		)
		if err := rows.Scan(&currency, &b.Money.Amount, &b.Entries, &updatedAt, &b.Settled.Amount, &settledCurrency); err != nil {
			return nil, fmt.Errorf("sqlite: balances of %s: %w", account, err)
		}
		b.Money.Currency = payments.Currency(currency)
		b.UpdatedAt = fromMicros(updatedAt)
		b.Settled = settledMoney(b.Settled.Amount, settledCurrency)
		out = append(out, b)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: balances of %s: %w", account, err)
	}
	return out, nil
}
