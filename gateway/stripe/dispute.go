package stripe

import (
	"fmt"
	"time"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
)

// disputeChanges reports a dispute event (https://docs.stripe.com/disputes/how-disputes-work).
// Every one marks the payment disputed. Money, keyed by the dispute id:
//
//   - charge.dispute.funds_withdrawn: a chargeback of the disputed amount;
//   - charge.dispute.funds_reinstated, and charge.dispute.closed as won when
//     funds were withdrawn: the chargeback and its reversal, so that a
//     reversal never stands in the ledger without its chargeback when the
//     events arrive out of order (the chargeback is a duplicate otherwise);
//   - charge.dispute.closed as lost when funds were withdrawn: the
//     chargeback, a duplicate unless funds_withdrawn was missed.
//
// Amounts are the dispute's own amount and currency, those of the charge.
// The dispute's balance_transactions are in the account's settlement
// currency, which can differ, so they only tell whether funds moved.
func (g *Gateway) disputeChanges(c *payments.Changes, typ stripego.EventType, d *stripego.Dispute, at time.Time) error {
	paymentID := disputedPayment(d)
	if d.ID == "" || paymentID == "" {
		return fmt.Errorf("dispute without id or charge: %w", payments.ErrInvalidInput)
	}
	c.Payments = append(c.Payments, payments.PaymentUpdate{GatewayID: paymentID, Status: payments.StatusDisputed})
	chargeback, reversal := false, false
	switch typ {
	case stripego.EventTypeChargeDisputeFundsWithdrawn:
		chargeback = true
	case stripego.EventTypeChargeDisputeFundsReinstated:
		chargeback, reversal = true, true
	case stripego.EventTypeChargeDisputeClosed:
		withdrawn := fundsWithdrawn(d)
		chargeback = withdrawn && (d.Status == stripego.DisputeStatusWon || d.Status == stripego.DisputeStatusLost)
		reversal = withdrawn && d.Status == stripego.DisputeStatusWon
		if !withdrawn {
			c.Note = fmt.Sprintf("dispute %s closed as %s without funds withdrawn", d.ID, d.Status)
		}
	}
	if !chargeback {
		return nil
	}
	amount, err := fromStripe(d.Amount, d.Currency)
	if err != nil {
		return err
	}
	if amount.Amount == 0 {
		c.Note = fmt.Sprintf("dispute %s is for nothing", d.ID)
		return nil
	}
	entry := payments.Entry{
		Gateway: g.name, Kind: payments.KindChargeback, GatewayRef: d.ID, GatewayPaymentID: paymentID,
		Amount: payments.Money{Amount: -amount.Amount, Currency: amount.Currency}, OccurredAt: at,
	}
	c.Entries = append(c.Entries, entry)
	if reversal {
		entry.Kind, entry.Amount = payments.KindChargebackReversal, amount
		c.Entries = append(c.Entries, entry)
	}
	return nil
}

// fundsWithdrawn reports whether the dispute took money from the balance:
// one of its balance transactions is negative. Inquiries and some payment
// methods' disputes never withdraw funds.
func fundsWithdrawn(d *stripego.Dispute) bool {
	for _, bt := range d.BalanceTransactions {
		if bt != nil && bt.Amount < 0 {
			return true
		}
	}
	return false
}

func disputedPayment(d *stripego.Dispute) string {
	if d.PaymentIntent != nil && d.PaymentIntent.ID != "" {
		return d.PaymentIntent.ID
	}
	if d.Charge != nil {
		return d.Charge.ID
	}
	return ""
}
