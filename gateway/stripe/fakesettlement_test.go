package stripe_test

import (
	"encoding/json"
	"maps"
	"strings"
)

// The fake's charges and balance transactions: what Stripe's account
// records when an intent succeeds, for the driver's settlement figures.

// expandedCharge returns a copy of a charge, with its balance transaction
// expanded when asked for and the fake expands at all.
func (f *fakeAPI) expandedCharge(ch map[string]any, withTxn bool) map[string]any {
	out := maps.Clone(ch)
	if id, ok := out["balance_transaction"].(string); ok && withTxn && !f.settle.unexpanded {
		out["balance_transaction"] = maps.Clone(f.balanceTxns[id])
	}
	return out
}

// fakeSettlement is how the fake's Stripe account settles new charges.
// The zero value settles each in its own currency, at its amount.
type fakeSettlement struct {
	currency     string                    // lower-case settlement currency; "" for the charge's own
	amount       func(charged int64) int64 // the settled amount; nil for the charged one
	exchangeRate string                    // exchange_rate as Stripe sends it, a JSON number; "" for null
	none         bool                      // charges have no balance transaction (balance_transaction null)
	unexpanded   bool                      // balance_transaction is never expanded, as if the driver had not asked
}

func (f *fakeAPI) setSettlement(s fakeSettlement) {
	f.mu.Lock()
	f.settle = s
	f.mu.Unlock()
}

// newCharge records the charge of amount a succeeded intent made, and its
// balance transaction: Stripe's gross amount in the settlement currency,
// a 2.9% + 30 fee, and the net.
func (f *fakeAPI) newCharge(pi map[string]any, amount int64) {
	intentID := pi["id"].(string)
	id := chargeOf(intentID)
	ch := map[string]any{
		"id": id, "object": "charge", "amount": pi["amount"], "amount_captured": amount, "amount_refunded": int64(0),
		"captured": true, "paid": true, "status": "succeeded", "currency": pi["currency"], "payment_intent": intentID,
		"balance_transaction": nil, "created": int64(1703175361), "livemode": false,
	}
	if !f.settle.none {
		currency, settled := pi["currency"], amount
		if f.settle.currency != "" {
			currency = f.settle.currency
		}
		if f.settle.amount != nil {
			settled = f.settle.amount(amount)
		}
		var rate any
		if f.settle.exchangeRate != "" {
			rate = json.Number(f.settle.exchangeRate)
		}
		fee := settled*29/1000 + 30
		txn := "txn_" + strings.TrimPrefix(intentID, "pi_")
		f.balanceTxns[txn] = map[string]any{
			"id": txn, "object": "balance_transaction", "amount": settled, "currency": currency, "exchange_rate": rate,
			"fee": fee, "net": settled - fee, "created": int64(1703175361), "available_on": int64(1703721600),
			"source": id, "type": "charge", "reporting_category": "charge", "status": "pending",
		}
		ch["balance_transaction"] = txn
	}
	f.charges[id] = ch
	pi["latest_charge"] = id
}
