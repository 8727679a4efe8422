package payments

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"time"
)

// EntryKind says what kind of money movement an Entry is, and so its sign.
type EntryKind string

// Entry kinds. Charges and reversals add to a balance; refunds and
// chargebacks take from it.
const (
	KindCharge             EntryKind = "charge"
	KindRefund             EntryKind = "refund"
	KindChargeback         EntryKind = "chargeback"
	KindChargebackReversal EntryKind = "chargeback_reversal"
	KindRefundReversal     EntryKind = "refund_reversal"
)

// Sign returns +1 for kinds that add money, -1 for kinds that remove it and
// 0 for an unknown kind.
func (k EntryKind) Sign() int {
	switch k {
	case KindCharge, KindChargebackReversal, KindRefundReversal:
		return 1
	case KindRefund, KindChargeback:
		return -1
	}
	return 0
}

// Entry is one line of the ledger: money that actually moved.
//
// Its key is (Gateway, Kind, GatewayRef). Recording the same key again is a
// no-op reported as a duplicate; recording it with a different amount or
// account is ErrConflict. The ID is derived from the key, so it is stable
// however often a gateway redelivers, and it is the idempotency key the host's
// BalanceService must honour.
type Entry struct {
	ID      string
	Gateway string
	Kind    EntryKind
	// GatewayRef is the gateway's id of this money movement: a refund id, a
	// capture id, a transaction id.
	GatewayRef string
	// GatewayPaymentID is the gateway's id of the payment the money belongs
	// to; the Store links the entry to that payment (PaymentID) and takes
	// the account from it when the entry carries none.
	GatewayPaymentID string
	PaymentID        string
	Account          string
	// Amount is signed: positive for charges and reversals, negative for
	// refunds and chargebacks.
	Amount    Money
	Reference string
	// OccurredAt is when the gateway says the money moved; RecordedAt is when
	// the Store committed the entry.
	OccurredAt time.Time
	RecordedAt time.Time
	// Settlement is the entry's worth in the settlement currency, recorded
	// with it when the Service has one (see Settlement); nil otherwise. A
	// driver may set it to its gateway's own settlement figures (Stripe's
	// balance transaction), which the Service keeps when they are in the
	// account's settlement currency.
	Settlement *Conversion
	// Overpayment is set by a driver whose gateway itself reports that more
	// was paid than the payment asked for (Cryptomus's paid_over): the
	// ledger books such a charge, where it parks any other charge above its
	// payment's amount (ErrMismatch). It is an instruction to the ledger,
	// not stored.
	Overpayment bool
}

// EntryID derives the id of the entry with key (gateway, kind, gatewayRef).
func EntryID(gateway string, kind EntryKind, gatewayRef string) string {
	h := sha256.New()
	for _, part := range []string{gateway, string(kind), gatewayRef} {
		h.Write([]byte(part))
		h.Write([]byte{0}) // separator: ("a","bc") and ("ab","c") must differ
	}
	return "ent_" + hex.EncodeToString(h.Sum(nil)[:16])
}

// validate checks an entry before it is recorded: known kind, non-empty key,
// known currency, a non-zero amount whose sign matches the kind. It fills ID
// when it is empty and rejects an ID that does not match the key.
func (e *Entry) validate() error {
	if e.Gateway == "" || e.GatewayRef == "" {
		return fmt.Errorf("payments: entry without gateway or gateway ref: %w", ErrInvalidInput)
	}
	sign := e.Kind.Sign()
	if sign == 0 {
		return fmt.Errorf("payments: entry %s: unknown kind %q: %w", e.GatewayRef, e.Kind, ErrInvalidInput)
	}
	if _, ok := e.Amount.Currency.Exponent(); !ok {
		return fmt.Errorf("payments: entry %s: unknown currency %q: %w", e.GatewayRef, e.Amount.Currency, ErrInvalidInput)
	}
	if e.Amount.Amount == 0 || (e.Amount.Amount > 0) != (sign > 0) {
		return fmt.Errorf("payments: entry %s: %s amount %s has the wrong sign: %w",
			e.GatewayRef, e.Kind, e.Amount, ErrInvalidInput)
	}
	id := EntryID(e.Gateway, e.Kind, e.GatewayRef)
	if e.ID == "" {
		e.ID = id
	} else if e.ID != id {
		return fmt.Errorf("payments: entry %s: id %s does not match its key: %w", e.GatewayRef, e.ID, ErrInvalidInput)
	}
	return nil
}

// Balance is the sum of one account's entries in one currency. Stores keep
// it materialized, updated in the transaction that records each entry.
type Balance struct {
	Account string
	Money   Money
	// Settled is the sum of the entries' conversions into the settlement
	// currency (see Settlement); its Currency is empty when none was
	// converted. Entries that wait for a rate count once converted.
	Settled Money
	// Entries is how many entries make up the balance.
	Entries   int64
	UpdatedAt time.Time
}

// EntryFilter selects ledger entries. Empty fields match everything; pages
// are ordered by RecordedAt, then ID.
type EntryFilter struct {
	Account   string
	PaymentID string
	Gateway   string
	// Unsettled keeps only entries whose conversion waits for a rate.
	Unsettled bool
	// Limit caps the page; 0 means DefaultListLimit.
	Limit int
	// After is the cursor a previous page returned: the page starts after
	// it. Empty starts at the beginning.
	After string
}

// DefaultListLimit is the number of rows a page holds when its filter sets
// no limit.
const DefaultListLimit = 1000
