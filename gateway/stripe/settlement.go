package stripe

import (
	"context"

	stripego "github.com/stripe/stripe-go/v76"

	"github.com/payrail/payments"
	"github.com/payrail/payments/rates"
)

// SettlementSource is the Source of the settlement figures the driver
// reports (payments.Conversion): Stripe's own, from the charge's balance
// transaction.
//
// Stripe converts a charge in a currency the account does not settle in
// into one it does, and records what the charge added to the balance as
// the charge's balance transaction
// (https://docs.stripe.com/api/balance_transactions/object): amount and
// currency in the settlement currency, fee, and the exchange_rate used. A
// Gateway with a key reports those figures as the charge entry's
// payments.Entry.Settlement: the transaction's gross amount (before
// Stripe's fee, as the entry is), the rate derived exactly as settled ÷
// charged, and the transaction's time. A Service settling in that currency
// keeps them instead of asking its RateSource (payments.Settlement); one
// that does not settle, or settles in another currency, ignores them.
// Refunds, chargebacks and reversals carry none: the Service converts them
// at their charge's rate.
//
// Where the figures come from, and what they cost:
//
//   - Capture's answer, the captures and reads of CaptureAfterReview and
//     the read of a Checkout Session's PaymentIntent call the API anyway;
//     they expand latest_charge.balance_transaction, at no extra call.
//   - payment_intent.succeeded names its charge by id only (events are
//     never expanded), so the driver reads the charge with its balance
//     transaction expanded: one GET /v1/charges/{id} per event, made again
//     on every redelivery and replay (Config.DisableSettlementLookup turns
//     it off). A charge that names its balance transaction by id only
//     costs one GET /v1/balance_transactions/{id}.
//   - A Gateway without a key reports none.
//
// A read that fails (Stripe unreachable, a restricted key without read
// access to charges and balance transactions) is logged and leaves the
// figures out: the charge is still recorded, and the Service prices it
// with its RateSource. The figures refine a conversion; they never hold
// money back. They are left out too when the charge has no balance
// transaction yet (a payment method that settles later), when its amount
// is not positive, or when they do not price exactly the charge the entry
// records.
const SettlementSource = "stripe"

// chargeSettlement returns Stripe's settlement figures of the charge of a
// succeeded intent, which the entry records as charged, or nil.
func (g *Gateway) chargeSettlement(ctx context.Context, pi *stripego.PaymentIntent, charged payments.Money) *payments.Conversion {
	if g.api == nil || pi.LatestCharge == nil || pi.LatestCharge.ID == "" {
		return nil
	}
	ch, bt, err := g.balanceTransaction(ctx, pi.LatestCharge)
	if err != nil {
		g.log.WarnContext(ctx, "stripe: reading the charge's balance transaction failed; the charge is recorded without Stripe's settlement figures",
			"payment_intent", pi.ID, "charge", pi.LatestCharge.ID, "error", err)
		return nil
	}
	return settlement(ch, bt, charged)
}

// balanceTransaction returns the charge and its balance transaction,
// reading what the intent did not carry expanded, unless
// Config.DisableSettlementLookup. bt is nil when the charge has none.
func (g *Gateway) balanceTransaction(ctx context.Context, ch *stripego.Charge) (*stripego.Charge, *stripego.BalanceTransaction, error) {
	if ch.Object != "charge" { // only its id
		if g.noSettlementLookup {
			return nil, nil, nil
		}
		params := &stripego.ChargeParams{}
		params.Context = ctx
		params.AddExpand("balance_transaction")
		got, err := g.api.Charges.Get(ch.ID, params)
		if err != nil {
			return nil, nil, wrapAPIError("read charge", ch.ID, err)
		}
		ch = got
	}
	bt := ch.BalanceTransaction
	if bt == nil || bt.ID == "" || bt.Object == "balance_transaction" || g.noSettlementLookup {
		return ch, bt, nil
	}
	params := &stripego.BalanceTransactionParams{}
	params.Context = ctx
	got, err := g.api.BalanceTransactions.Get(bt.ID, params)
	if err != nil {
		return nil, nil, wrapAPIError("read balance transaction", bt.ID, err)
	}
	return ch, got, nil
}

// settlement turns a charge's balance transaction into the Conversion of
// the charge entry that records charged, or nil when the figures do not
// price exactly that charge.
//
// Money is the transaction's gross amount, not its net: the entry records
// what the customer paid, before Stripe's fee, so its worth in the
// settlement currency is the gross too. The fee is a cost of the
// merchant's that the ledger does not record, and Stripe keeps it when it
// refunds, so a rate derived from the net would understate every charge
// and, as the Service converts a refund at its charge's rate, every refund.
//
// Rate is the settled amount divided by the charged one, as rates.Quotient
// writes it: exact when the quotient terminates, else to 12 significant
// digits; the charge converted at it must give the settled amount back
// exactly (payments.Convert), which is checked. Stripe's own exchange_rate
// is a float (1.234 and the like) and is not used: money and the rates that
// price it never pass through a float here.
//
// The figures are left out — and the Service's RateSource prices the
// charge — when there is no balance transaction (a payment method that
// settles later), when it is not the charge's (another source, another
// type than charge or payment), when its amount is not positive, when the
// charge captured other than what the entry records, or when, in the
// charge's own currency, it is not the charge itself.
func settlement(ch *stripego.Charge, bt *stripego.BalanceTransaction, charged payments.Money) *payments.Conversion {
	switch {
	case ch == nil || bt == nil || bt.Object != "balance_transaction" || bt.Amount <= 0:
		return nil
	case bt.Type != stripego.BalanceTransactionTypeCharge && bt.Type != stripego.BalanceTransactionTypePayment:
		return nil
	case bt.Source != nil && bt.Source.ID != "" && bt.Source.ID != ch.ID:
		return nil
	}
	captured, err := fromStripe(ch.AmountCaptured, ch.Currency)
	if err != nil || captured != charged {
		return nil
	}
	settled, err := fromStripe(bt.Amount, bt.Currency)
	if err != nil || (settled.Currency == charged.Currency && settled != charged) {
		return nil
	}
	rate, err := rates.Quotient(settled.Decimal(), charged.Decimal())
	if err != nil {
		return nil
	}
	if back, err := payments.Convert(charged, rate, settled.Currency); err != nil || back != settled {
		return nil // beyond about 10^11 minor units the 12 digits may not give the amount back
	}
	return &payments.Conversion{Money: settled, Rate: rate, Source: SettlementSource, At: unixTime(bt.Created)}
}
