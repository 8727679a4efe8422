package postgres

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/payrail/payments"
)

// conversionColumns hold an entry's conversion into a settlement currency
// (payments.Entry.Settlement), NULL where it has none; see migration 0005.
const conversionColumns = `settled_amount, settled_currency, settled_rate, settled_source, settled_at`

// pendingConversion selects the entries whose conversion waits for a rate:
// the predicate of entries_unsettled_idx, written out for the prepared
// statement (see where.addPredicate).
const pendingConversion = `settled_currency IS NOT NULL AND settled_rate IS NULL`

// storedConversion is an entry's conversion as conversionColumns hold it.
type storedConversion struct {
	amount                 *int64
	currency, rate, source *string
	at                     *time.Time
}

// storeConversion returns what conversionColumns hold for c: nothing
// without a conversion, only the currency for one that waits for a rate.
func storeConversion(c *payments.Conversion) storedConversion {
	switch {
	case c == nil:
		return storedConversion{}
	case c.Pending():
		return storedConversion{currency: nullIfZero(string(c.Money.Currency))}
	}
	amount := c.Money.Amount
	return storedConversion{
		amount: &amount, currency: nullIfZero(string(c.Money.Currency)), rate: nullIfZero(c.Rate),
		source: nullIfZero(c.Source), at: nullTime(c.At),
	}
}

func (s *storedConversion) dest() []any {
	return []any{&s.amount, &s.currency, &s.rate, &s.source, &s.at}
}

// conversion is what was scanned, nil when the entry has no conversion.
func (s *storedConversion) conversion() *payments.Conversion {
	if s.currency == nil {
		return nil
	}
	deref := func(p *string) string {
		if p == nil {
			return ""
		}
		return *p
	}
	c := &payments.Conversion{Money: payments.Money{Currency: payments.Currency(*s.currency)},
		Rate: deref(s.rate), Source: deref(s.source), At: fromNull(s.at)}
	if s.amount != nil {
		c.Money.Amount = *s.amount
	}
	return c
}

// settledMoney is a balance's settled sum as stored: none, the zero Money,
// until an entry of it has been converted.
func settledMoney(amount int64, currency *string) payments.Money {
	if currency == nil {
		return payments.Money{}
	}
	return payments.Money{Amount: amount, Currency: payments.Currency(*currency)}
}

// settledElsewhere reports whether err is balances_one_settlement_currency
// refusing a change into a second settlement currency (see
// addToBalances).
func settledElsewhere(err error) bool {
	var pgErr *pgconn.PgError
	return errors.As(err, &pgErr) && pgErr.Code == codeCheckViolation &&
		strings.HasSuffix(pgErr.ConstraintName, "balances_one_settlement_currency")
}

// SettleEntry implements payments.Store. In one transaction it locks the
// entry, checks that it waits for a conversion into c's currency, and
// then, in one round trip, records the conversion, adds it to the entry's
// balance and makes the entry's pending sync task due at now.
func (s *Store) SettleEntry(ctx context.Context, entryID string, c payments.Conversion, now time.Time) error {
	c.At = c.At.Truncate(time.Microsecond) // as stored, to compare with what is
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var (
			account, currency string
			stored            storedConversion
		)
		err := tx.QueryRow(ctx, s.sql(`SELECT account, currency, `+conversionColumns+` FROM {entries} WHERE id = $1 FOR UPDATE`),
			entryID).Scan(append([]any{&account, &currency}, stored.dest()...)...)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("postgres: entry %s: %w", entryID, payments.ErrNotFound)
		}
		if err != nil {
			return fail("settle entry "+entryID, err)
		}
		was := stored.conversion()
		if sameConversion(was, c) {
			return nil
		}
		if !was.Pending() || was.Money.Currency != c.Money.Currency || c.Pending() {
			return fmt.Errorf("postgres: entry %s waits for no conversion into %s: %w", entryID, c.Money.Currency, payments.ErrConflict)
		}
		next := storeConversion(&c)
		var refused error
		batch := &pgx.Batch{}
		batch.Queue(s.sql(`UPDATE {entries} SET settled_amount = $2, settled_rate = $3, settled_source = $4, settled_at = $5
			WHERE id = $1`), entryID, next.amount, next.rate, next.source, next.at)
		batch.Queue(s.sql(`UPDATE {balances} SET settled_amount = settled_amount + $3, settled_currency = $4, updated_at = $5
			WHERE account = $1 AND currency = $2 AND (settled_currency IS NULL OR settled_currency = $4)`),
			account, currency, c.Money.Amount, string(c.Money.Currency), now).Exec(func(tag pgconn.CommandTag) error {
			if tag.RowsAffected() != 1 {
				refused = fmt.Errorf("postgres: settle entry %s: balance of %s in %s is settled in another currency than %s: %w",
					entryID, account, currency, c.Money.Currency, payments.ErrConflict)
			}
			return refused
		})
		batch.Queue(s.sql(`UPDATE {sync} SET next_attempt = $2 WHERE entry_id = $1 AND state <> 'done' AND state = 'pending'`), entryID, now)
		err = tx.SendBatch(ctx, batch).Close()
		if refused != nil {
			return refused
		}
		return fail("settle entry "+entryID, err)
	})
}

// sameConversion reports whether stored is c, whose time is to the
// microsecond, as stored times are.
func sameConversion(stored *payments.Conversion, c payments.Conversion) bool {
	return stored != nil && stored.Money == c.Money && stored.Rate == c.Rate && stored.Source == c.Source &&
		stored.At.Equal(c.At)
}
