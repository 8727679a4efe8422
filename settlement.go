package payments

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"strings"
	"time"
)

// Conversion is an entry's money in a settlement currency, recorded with the
// entry: what the host's balances count when buyers pay in many currencies.
type Conversion struct {
	// Money is the entry's amount in the settlement currency, rounded once,
	// half away from zero, at that currency's exponent.
	Money Money
	// Rate is how many units of the settlement currency one unit of the
	// entry's currency is worth, as an exact decimal ("0.0067", "1"). It
	// is empty while the entry waits for a rate: Money then names only the
	// currency it will be converted into.
	Rate string
	// Source says where the rate came from: a RateSource's name, or a
	// gateway's ("stripe") for its own settlement figures.
	Source string
	// At is the time the rate is for.
	At time.Time
}

// Pending reports whether the conversion still waits for a rate.
func (c *Conversion) Pending() bool { return c != nil && c.Rate == "" }

// Rate is an exchange rate a RateSource gives: Value units of the target
// currency per unit of the source currency, as an exact decimal.
type Rate struct {
	Value  string
	Source string
	At     time.Time
}

// ErrNoRate reports that a RateSource has no rate for a pair of currencies
// at a time. The entry is recorded in its own currency and waits; Run tries
// again (Settlement.Retry).
var ErrNoRate = errors.New("no exchange rate")

// RateSource gives exchange rates: the rate to convert from into to at time
// at, or an error wrapping ErrNoRate. It is called before an entry is
// recorded and never inside a Store's transaction. Sources a host can use as
// they are live in package rates.
type RateSource interface {
	Rate(ctx context.Context, from, to Currency, at time.Time) (Rate, error)
}

// Settlement makes a Service convert every entry into one currency (per
// account where For says so) and record the conversion with it, so that
// balances and the BalanceService see both the money the gateway moved and
// its worth in the host's unit.
//
// A charge converts at the rate its RateSource gives for the time the money
// moved, or at the gateway's own figures when the driver reports them in
// the settlement currency (Entry.Settlement). A refund, chargeback or
// reversal converts at the rate of the payment's charge it undoes, and never
// takes back more than the payment's entries were credited, so that the
// account never loses more than it gained; RefundsAtCurrentRate converts
// them at the current rate instead. An entry no rate is available for is
// recorded in its own currency and waits (Conversion.Pending): its sync task
// is held back, nothing is credited at a guessed rate, and Run converts it
// once a rate comes (EntryFilter.Unsettled lists what waits).
type Settlement struct {
	// Currency is the settlement currency.
	Currency Currency
	// For, when set, gives an account's settlement currency; "" means
	// Currency.
	For func(account string) Currency
	// Rates gives the rates; required.
	Rates RateSource
	// RefundsAtCurrentRate converts refunds, chargebacks and reversals at
	// the current rate instead of the rate of the charge they undo.
	RefundsAtCurrentRate bool
	// Retry is how often Run converts entries that wait for a rate;
	// default a minute.
	Retry time.Duration
}

// WithSettlement converts every entry into a settlement currency (see
// Settlement).
func WithSettlement(st Settlement) Option {
	return func(s *Service) error {
		if _, ok := st.Currency.Exponent(); !ok {
			return fmt.Errorf("payments: settlement currency %q: %w", st.Currency, ErrInvalidInput)
		}
		if st.Rates == nil {
			return fmt.Errorf("payments: settlement without a RateSource: %w", ErrInvalidInput)
		}
		if st.Retry <= 0 {
			st.Retry = time.Minute
		}
		s.settlement = &st
		return nil
	}
}

// Convert converts m at rate (units of to per unit of m's currency, an exact
// decimal) into currency to, exactly: the product is computed in rationals
// and rounded once, half away from zero, at to's exponent. A rate that is
// not a positive decimal, an unknown currency or an amount beyond int64 is
// ErrInvalidInput.
func Convert(m Money, rate string, to Currency) (Money, error) {
	fromExp, ok1 := m.Currency.Exponent()
	toExp, ok2 := to.Exponent()
	if !ok1 || !ok2 {
		return Money{}, fmt.Errorf("payments: convert %s to %s: unknown currency: %w", m, to, ErrInvalidInput)
	}
	r, err := parseRate(rate)
	if err != nil {
		return Money{}, err
	}
	// minor_to = minor_from × 10^-fromExp × rate × 10^toExp
	v := new(big.Rat).SetInt64(m.Amount)
	v.Mul(v, r)
	v.Mul(v, new(big.Rat).SetFrac(pow10(toExp), pow10(fromExp)))
	out, ok := roundHalfAway(v)
	if !ok {
		return Money{}, fmt.Errorf("payments: convert %s at %s to %s: out of range: %w", m, rate, to, ErrInvalidInput)
	}
	return Money{Amount: out, Currency: to}, nil
}

// parseRate reads a positive decimal rate; exponents and fractions are
// refused, so that what is stored is what was computed with.
func parseRate(rate string) (*big.Rat, error) {
	if rate == "" || strings.ContainsAny(rate, "eE/+-") {
		return nil, fmt.Errorf("payments: rate %q is not a positive decimal: %w", rate, ErrInvalidInput)
	}
	r, ok := new(big.Rat).SetString(rate)
	if !ok || r.Sign() <= 0 {
		return nil, fmt.Errorf("payments: rate %q is not a positive decimal: %w", rate, ErrInvalidInput)
	}
	return r, nil
}

func pow10(n int) *big.Int { return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil) }

// roundHalfAway rounds v to an integer, half away from zero, reporting
// whether it fits in int64.
func roundHalfAway(v *big.Rat) (int64, bool) {
	num, den := new(big.Int).Abs(v.Num()), v.Denom()
	q, r := new(big.Int).QuoRem(num, den, new(big.Int))
	if r.Lsh(r, 1).Cmp(den) >= 0 {
		q.Add(q, big.NewInt(1))
	}
	if v.Sign() < 0 {
		q.Neg(q)
	}
	if !q.IsInt64() {
		return 0, false
	}
	return q.Int64(), true
}

// settleTo is the settlement currency of an account, or "" without
// settlement.
func (s *Service) settleTo(account string) Currency {
	st := s.settlement
	if st == nil {
		return ""
	}
	if st.For != nil {
		if c := st.For(account); c != "" {
			return c
		}
	}
	return st.Currency
}

// convertEntries sets the Settlement of each entry of a batch about to be
// committed: the gateway's own figures when the driver gave them in the
// right currency, the rate of the charge a refund undoes, or the
// RateSource's; a pending conversion when no rate is to be had. It reads
// the payments and entries it needs outside the Store's transaction, which
// is safe: a rate only prices what the transaction records.
func (s *Service) convertEntries(ctx context.Context, gateway, account string, entries []Entry) {
	for i := range entries {
		e := &entries[i]
		if s.settlement == nil {
			// A driver's own figure (Cryptomus's USD worth) means nothing
			// to a Service that does not settle: entries stay unconverted
			// alike.
			e.Settlement = nil
			continue
		}
		owner, charged, err := s.entryContext(ctx, gateway, account, e)
		if err != nil {
			s.log.WarnContext(ctx, "payments: settlement: reading the entry's payment failed; it waits for a rate", "entry", e.GatewayRef, "error", err)
		}
		to := s.settleTo(owner)
		if to == "" {
			e.Settlement = nil // this account does not settle
			continue
		}
		if owner == "" {
			continue // unattributed: the ledger parks it anyway
		}
		if c := e.Settlement; c != nil && !c.Pending() && c.Money.Currency == to {
			continue // the gateway's own figures
		}
		c, err := s.conversion(ctx, *e, to, charged)
		if err != nil {
			if !errors.Is(err, ErrNoRate) {
				s.log.WarnContext(ctx, "payments: settlement: no conversion; the entry waits for a rate", "entry", e.GatewayRef, "error", err)
			}
			c = &Conversion{Money: Money{Currency: to}}
		}
		e.Settlement = c
	}
}

func hasSettlement(e Entry) bool { return e.Settlement != nil }

// entryContext returns the account an entry will be recorded for and, for
// money that undoes a charge, the payment's entries so far.
func (s *Service) entryContext(ctx context.Context, gateway, account string, e *Entry) (string, []Entry, error) {
	owner := e.Account
	var p *Payment
	if e.GatewayPaymentID != "" {
		found, err := s.store.PaymentByGatewayID(ctx, gateway, e.GatewayPaymentID)
		switch {
		case err == nil:
			p = found
		case !errors.Is(err, ErrNotFound):
			return owner, nil, err
		}
	}
	if owner == "" && p != nil {
		owner = p.Account
	}
	if owner == "" {
		owner = account
	}
	if e.Kind.Sign() > 0 || p == nil {
		return owner, nil, nil
	}
	var charged []Entry
	for en, err := range s.allEntries(ctx, EntryFilter{PaymentID: p.ID}) {
		if err != nil {
			return owner, nil, err
		}
		charged = append(charged, en)
	}
	return owner, charged, nil
}

// conversion prices one entry in currency to.
func (s *Service) conversion(ctx context.Context, e Entry, to Currency, paymentEntries []Entry) (*Conversion, error) {
	if e.Amount.Currency == to {
		return &Conversion{Money: e.Amount, Rate: "1", Source: "same", At: e.OccurredAt}, nil
	}
	undoes := e.Kind.Sign() < 0 && !s.settlement.RefundsAtCurrentRate
	if undoes {
		if c, ok := undoConversion(e, to, paymentEntries); ok {
			return c, nil
		}
	}
	at := e.OccurredAt
	if at.IsZero() {
		at = s.now()
	}
	r, err := s.settlement.Rates.Rate(ctx, e.Amount.Currency, to, at)
	if err != nil {
		return nil, err
	}
	m, err := Convert(e.Amount, r.Value, to)
	if err != nil {
		return nil, err
	}
	return &Conversion{Money: m, Rate: r.Value, Source: r.Source, At: storedTime(r.At)}, nil
}

// undoConversion converts money that undoes a charge at the rate of the
// payment's latest converted charge in the same currency, and never for
// more than the payment's entries are worth in settlement so far: so a
// refund gives back at most what was credited, however the rate moved.
func undoConversion(e Entry, to Currency, paymentEntries []Entry) (*Conversion, bool) {
	var charge *Conversion
	var worth int64
	for i := range paymentEntries {
		c := paymentEntries[i].Settlement
		if c == nil || c.Pending() || c.Money.Currency != to {
			continue
		}
		worth += c.Money.Amount
		if paymentEntries[i].Kind == KindCharge && paymentEntries[i].Amount.Currency == e.Amount.Currency {
			charge = c
		}
	}
	if charge == nil {
		return nil, false
	}
	m, err := Convert(e.Amount, charge.Rate, to)
	if err != nil {
		return nil, false
	}
	if -m.Amount > worth {
		m.Amount = -max(worth, 0)
	}
	return &Conversion{Money: m, Rate: charge.Rate, Source: charge.Source, At: charge.At}, true
}

// SettlePending converts the entries that wait for a rate, as many as the
// RateSource can price now, and reports how many it converted. Run calls it
// every Settlement.Retry; a host that does not Run calls it itself.
func (s *Service) SettlePending(ctx context.Context) (int, error) {
	if s.settlement == nil {
		return 0, nil
	}
	converted := 0
	for e, err := range s.allEntries(ctx, EntryFilter{Unsettled: true}) {
		if err != nil {
			return converted, err
		}
		to := e.Settlement.Money.Currency
		var charged []Entry
		if e.Kind.Sign() < 0 && e.PaymentID != "" {
			for en, err := range s.allEntries(ctx, EntryFilter{PaymentID: e.PaymentID}) {
				if err != nil {
					return converted, err
				}
				charged = append(charged, en)
			}
		}
		c, err := s.conversion(ctx, e, to, charged)
		if errors.Is(err, ErrNoRate) {
			continue
		}
		if err != nil {
			s.log.WarnContext(ctx, "payments: settlement: converting a waiting entry failed", "entry", e.ID, "error", err)
			continue
		}
		if err := s.store.SettleEntry(ctx, e.ID, *c, s.now()); err != nil {
			return converted, fmt.Errorf("payments: settle entry %s: %w", e.ID, err)
		}
		converted++
	}
	return converted, nil
}
