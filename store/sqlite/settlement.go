package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/payrail/payments"
)

// conversionColumns hold an entry's conversion into a settlement currency
// (payments.Entry.Settlement), NULL where it has none; see migration 0005.
const conversionColumns = `settled_amount, settled_currency, settled_rate, settled_source, settled_at`

// pendingConversion selects the entries whose conversion waits for a rate:
// the predicate of the entries_unsettled index, spelled out so that SQLite
// can tell the index applies.
const pendingConversion = `settled_currency IS NOT NULL AND settled_rate IS NULL`

// conversionArgs are the values of conversionColumns for c: all NULL
// without a conversion, only the currency for one that waits for a rate.
func conversionArgs(c *payments.Conversion) []any {
	switch {
	case c == nil:
		return []any{nil, nil, nil, nil, nil}
	case c.Pending():
		return []any{nil, string(c.Money.Currency), nil, nil, nil}
	}
	var source any
	if c.Source != "" {
		source = c.Source
	}
	return []any{c.Money.Amount, string(c.Money.Currency), c.Rate, source, optionalMicros(c.At)}
}

// storedConversion scans conversionColumns.
type storedConversion struct {
	amount, at             sql.NullInt64
	currency, rate, source sql.NullString
}

func (s *storedConversion) dest() []any {
	return []any{&s.amount, &s.currency, &s.rate, &s.source, &s.at}
}

// conversion is what was scanned, nil when the entry has no conversion.
func (s *storedConversion) conversion() *payments.Conversion {
	if !s.currency.Valid {
		return nil
	}
	return &payments.Conversion{
		Money: payments.Money{Amount: s.amount.Int64, Currency: payments.Currency(s.currency.String)},
		Rate:  s.rate.String, Source: s.source.String, At: fromOptionalMicros(s.at),
	}
}

// optionalCurrency stores "no currency" as NULL.
func optionalCurrency(c payments.Currency) any {
	if c == "" {
		return nil
	}
	return string(c)
}

// settledBounds returns the range a balance's settled sum must lie in for
// amount to be added to it within int64. SQLite would turn a sum that
// overflows into an inexact REAL, which the STRICT table refuses with a
// less telling error.
func settledBounds(amount int64) (low, high int64) {
	if amount >= 0 {
		return math.MinInt64, math.MaxInt64 - amount
	}
	return math.MinInt64 - amount, math.MaxInt64
}

// refusedBalance explains why an update of a balance that was due to apply
// changed nothing: the balance is settled in another currency than
// settled (payments.ErrConflict), or a sum would have left int64
// (payments.ErrInvalidInput). It runs only once a batch has failed.
func (s *Store) refusedBalance(ctx context.Context, q querier, account string, currency, settled payments.Currency) error {
	var stored sql.NullString
	err := q.queryRow(ctx, `SELECT settled_currency FROM {{p}}balances WHERE account = ? AND currency = ?`,
		account, string(currency)).Scan(&stored)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("sqlite: balance of %s in %s: %w", account, currency, payments.ErrNotFound)
	case err != nil:
		return fmt.Errorf("sqlite: balance of %s in %s: %w", account, currency, err)
	case settled != "" && stored.Valid && stored.String != string(settled):
		return fmt.Errorf("sqlite: balance of %s in %s is settled in %s, not %s: %w",
			account, currency, stored.String, settled, payments.ErrConflict)
	}
	return fmt.Errorf("sqlite: balance of %s in %s would overflow: %w", account, currency, payments.ErrInvalidInput)
}

// SettleEntry implements payments.Store: in one write transaction it sets
// the conversion of an entry that waits for one, adds it to the entry's
// balance and makes the entry's pending sync task due at now.
func (s *Store) SettleEntry(ctx context.Context, entryID string, c payments.Conversion, now time.Time) error {
	c.At = storedTime(c.At)
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		e, err := s.entryByID(ctx, tx, entryID)
		if err != nil {
			return err
		}
		if e == nil {
			return fmt.Errorf("sqlite: entry %s: %w", entryID, payments.ErrNotFound)
		}
		if sameConversion(e.Settlement, c) {
			return nil
		}
		if !e.Settlement.Pending() || e.Settlement.Money.Currency != c.Money.Currency || c.Pending() {
			return fmt.Errorf("sqlite: entry %s waits for no conversion into %s: %w", entryID, c.Money.Currency, payments.ErrConflict)
		}
		args := conversionArgs(&c)
		if _, err := tx.exec(ctx, `UPDATE {{p}}entries SET settled_amount = ?, settled_rate = ?, settled_source = ?, settled_at = ?
			WHERE id = ?`, args[0], args[2], args[3], args[4], entryID); err != nil {
			return fmt.Errorf("sqlite: settle entry %s: %w", entryID, err)
		}
		low, high := settledBounds(c.Money.Amount)
		res, err := tx.exec(ctx, `UPDATE {{p}}balances
			SET settled_amount = settled_amount + ?, settled_currency = ?, updated_at = ?
			WHERE account = ? AND currency = ? AND settled_amount BETWEEN ? AND ?
				AND (settled_currency IS NULL OR settled_currency = ?)`,
			c.Money.Amount, string(c.Money.Currency), micros(now), e.Account, string(e.Amount.Currency), low, high,
			string(c.Money.Currency))
		if err != nil {
			return fmt.Errorf("sqlite: settle entry %s: %w", entryID, err)
		}
		if n, err := res.RowsAffected(); err != nil || n != 1 {
			if err != nil {
				return fmt.Errorf("sqlite: settle entry %s: %w", entryID, err)
			}
			return s.refusedBalance(ctx, tx, e.Account, e.Amount.Currency, c.Money.Currency)
		}
		if _, err := tx.exec(ctx, `UPDATE {{p}}entries SET sync_next_attempt = ? WHERE id = ? AND sync_state = 'pending'`,
			micros(now), entryID); err != nil {
			return fmt.Errorf("sqlite: settle entry %s: %w", entryID, err)
		}
		return nil
	})
}

// sameConversion reports whether stored is c, which is as a read returns
// it (its time to the microsecond).
func sameConversion(stored *payments.Conversion, c payments.Conversion) bool {
	return stored != nil && stored.Money == c.Money && stored.Rate == c.Rate && stored.Source == c.Source &&
		stored.At.Equal(c.At)
}

// settledMoney is a balance's settled sum as stored: none, the zero Money,
// until an entry of it has been converted.
func settledMoney(amount int64, currency sql.NullString) payments.Money {
	if !currency.Valid {
		return payments.Money{}
	}
	return payments.Money{Amount: amount, Currency: payments.Currency(currency.String)}
}
