package appstore

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/awa/go-iap/appstore/api"

	"github.com/payrail/payments"
)

// Apple's values the translation reads
// (https://developer.apple.com/documentation/appstoreserverapi/inappownershiptype,
// https://developer.apple.com/documentation/appstoreserverapi/revocationtype).
const (
	ownershipFamilyShared = "FAMILY_SHARED"
	revocationFamily      = api.RevocationType("FAMILY_REVOKE")
)

// purchase records what one transaction moved: the payment (the
// transaction) as succeeded and its charge and, when the transaction has
// been refunded, its refund, with the payment refunded or partially
// refunded. Notifications of a purchase and of a refund, and
// VerifyPurchase, all record through it, so each reports the same entries
// under the same keys. A refund notification thus also books the charge
// it refunds when no earlier report did, and the ledger stays whole.
func (g *Gateway) purchase(ctx context.Context, tx *Transaction, c *payments.Changes) error {
	if tx.TransactionID == "" {
		return fmt.Errorf("appstore: transaction without transactionId: %w", payments.ErrInvalidInput)
	}
	if tx.InAppOwnershipType == ownershipFamilyShared {
		// A family member's access to what the purchaser paid for: the
		// purchaser's own transaction carries the money.
		c.Note = joinNote(c.Note, "transaction "+tx.TransactionID+" is shared through Family Sharing: the purchaser's transaction carries the money")
		return nil
	}
	charge, priceNote, err := g.priceOf(tx)
	if err != nil {
		return err
	}
	c.Note = joinNote(c.Note, priceNote)
	if charge.Amount == 0 {
		c.Note = joinNote(c.Note, "transaction "+tx.TransactionID+" charged nothing (a free trial or offer)")
		return nil
	}
	account, err := g.account(ctx, tx.AppAccountToken)
	if err != nil {
		return err
	}
	id := tx.TransactionID
	update := payments.PaymentUpdate{GatewayID: id, Status: payments.StatusSucceeded, Account: account, Amount: charge}
	entries := []payments.Entry{{
		Gateway: g.cfg.Name, Kind: payments.KindCharge, GatewayRef: id, GatewayPaymentID: id,
		Account: account, Amount: charge, OccurredAt: millis(tx.PurchaseDate),
	}}
	if tx.RevocationDate != 0 && tx.RevocationType != revocationFamily {
		refund, status, note, err := refundOf(tx, charge)
		if err != nil {
			return err
		}
		c.Note = joinNote(c.Note, note)
		if refund.Amount > 0 {
			update.Status = status
			entries = append(entries, payments.Entry{
				Gateway: g.cfg.Name, Kind: payments.KindRefund, GatewayRef: id, GatewayPaymentID: id,
				Account: account, Amount: payments.Money{Amount: -refund.Amount, Currency: refund.Currency},
				OccurredAt: millis(tx.RevocationDate),
			})
		}
	}
	c.Payments = append(c.Payments, update)
	c.Entries = append(c.Entries, entries...)
	return nil
}

// refundOf is what the refund of a revoked transaction took: all of the
// charge, or for REFUND_PRORATED its revocationPercentage.
func refundOf(tx *Transaction, charge payments.Money) (payments.Money, payments.Status, string, error) {
	if tx.RevocationType != api.REFUND_PRORATED {
		return charge, payments.StatusRefunded, "", nil
	}
	pct := int64(tx.RevocationPercentage)
	if pct <= 0 || pct > 100000 {
		return payments.Money{}, "", "", fmt.Errorf("appstore: transaction %s: prorated refund of %d thousandths of a percent: %w",
			tx.TransactionID, pct, payments.ErrInvalidInput)
	}
	part, exact := share(charge.Amount, pct)
	refund := payments.Money{Amount: part, Currency: charge.Currency}
	note := fmt.Sprintf("prorated refund of %d.%03d%% of %s: %s", pct/1000, pct%1000, charge, refund)
	if !exact {
		note += " (rounded to the currency's minor unit)"
	}
	switch {
	case part == 0:
		return refund, "", note + "; nothing to record", nil
	case part == charge.Amount:
		return refund, payments.StatusRefunded, note, nil
	}
	return refund, payments.StatusPartiallyRefunded, note, nil
}

// reversal records the reversal of a transaction's refund
// (REFUND_REVERSED): the refund's amount back, under the transaction's
// key. The payment keeps its status, which never moves back.
func (g *Gateway) reversal(ctx context.Context, tx *Transaction, at time.Time, c *payments.Changes) error {
	if tx.TransactionID == "" {
		return fmt.Errorf("appstore: transaction without transactionId: %w", payments.ErrInvalidInput)
	}
	if tx.InAppOwnershipType == ownershipFamilyShared {
		c.Note = joinNote(c.Note, "transaction "+tx.TransactionID+" is shared through Family Sharing: no money of its own")
		return nil
	}
	charge, priceNote, err := g.priceOf(tx)
	if err != nil {
		return err
	}
	c.Note = joinNote(c.Note, priceNote)
	amount := charge
	if g.cfg.RefundedAmount != nil {
		if amount, err = g.cfg.RefundedAmount(ctx, tx.TransactionID); err != nil {
			return fmt.Errorf("appstore: refunded amount of transaction %s: %w", tx.TransactionID, err)
		}
		if amount.Currency != charge.Currency || amount.Amount < 0 || amount.Amount > charge.Amount {
			return fmt.Errorf("appstore: refunded amount %s of transaction %s of %s: %w", amount, tx.TransactionID, charge, payments.ErrInvalidInput)
		}
	} else {
		c.Note = joinNote(c.Note, "reverses the full price: a prorated refund's share is not in a reversed transaction (Config.RefundedAmount)")
	}
	if amount.Amount == 0 {
		c.Note = joinNote(c.Note, "nothing was refunded, so nothing is reversed")
		return nil
	}
	account, err := g.account(ctx, tx.AppAccountToken)
	if err != nil {
		return err
	}
	c.Entries = append(c.Entries, payments.Entry{
		Gateway: g.cfg.Name, Kind: payments.KindRefundReversal, GatewayRef: tx.TransactionID,
		GatewayPaymentID: tx.TransactionID, Account: account, Amount: amount, OccurredAt: at,
	})
	return nil
}

// account maps an appAccountToken to the host's account. A token that is
// not a UUID is not one the app set, and leaves the money without an
// account.
func (g *Gateway) account(ctx context.Context, token string) (string, error) {
	if token == "" {
		return "", nil
	}
	canonical, ok := canonicalUUID(token)
	if !ok {
		g.log.WarnContext(ctx, "appstore: appAccountToken is not a UUID; the money has no account", "gateway", g.cfg.Name)
		return "", nil
	}
	if g.cfg.AccountForToken == nil {
		return canonical, nil
	}
	account, err := g.cfg.AccountForToken(ctx, canonical)
	if err != nil {
		return "", fmt.Errorf("appstore: account for appAccountToken: %w", err)
	}
	return account, nil
}

// canonicalUUID returns s as a lower-case UUID (8-4-4-4-12 hex digits), as
// Apple's appAccountToken is
// (https://developer.apple.com/documentation/appstoreserverapi/appaccounttoken).
func canonicalUUID(s string) (string, bool) {
	if len(s) != 36 {
		return "", false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case i == 8 || i == 13 || i == 18 || i == 23:
			if c != '-' {
				return "", false
			}
		case c >= '0' && c <= '9', c >= 'a' && c <= 'f', c >= 'A' && c <= 'F':
		default:
			return "", false
		}
	}
	return strings.ToLower(s), true
}

// millis is a time Apple gives in milliseconds since the epoch. Zero, and
// anything past the year 9999 that no database column holds, is the zero
// time: the ledger then uses the time it records.
func millis(ms int64) time.Time {
	const maxMillis = 253402300799999 // 9999-12-31T23:59:59.999Z
	if ms <= 0 || ms > maxMillis {
		return time.Time{}
	}
	return time.UnixMilli(ms).UTC()
}

func joinNote(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "":
		return a
	}
	return a + "; " + b
}
