package payments_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func TestEntryValidate(t *testing.T) {
	usd := func(v int64) payments.Money { return payments.Money{Amount: v, Currency: "USD"} }
	valid := []payments.Entry{
		{Gateway: "g", Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(100)},
		{Gateway: "g", Kind: payments.KindRefund, GatewayRef: "r", Amount: usd(-100)},
		{Gateway: "g", Kind: payments.KindChargeback, GatewayRef: "r", Amount: usd(-1)},
		{Gateway: "g", Kind: payments.KindChargebackReversal, GatewayRef: "r", Amount: usd(1)},
		{Gateway: "g", Kind: payments.KindRefundReversal, GatewayRef: "r", Amount: usd(1)},
	}
	for _, e := range valid {
		require.NoError(t, (&payments.Changes{Entries: []payments.Entry{e}}).Validate("g"), e.Kind)
	}
	invalid := map[string]payments.Entry{
		"charge negative":  {Gateway: "g", Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(-1)},
		"refund positive":  {Gateway: "g", Kind: payments.KindRefund, GatewayRef: "r", Amount: usd(1)},
		"zero":             {Gateway: "g", Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(0)},
		"unknown kind":     {Gateway: "g", Kind: "gift", GatewayRef: "r", Amount: usd(1)},
		"no ref":           {Gateway: "g", Kind: payments.KindCharge, Amount: usd(1)},
		"no gateway":       {Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(1)},
		"unknown currency": {Gateway: "g", Kind: payments.KindCharge, GatewayRef: "r", Amount: payments.Money{Amount: 1, Currency: "usd"}},
		"forged id":        {ID: "ent_x", Gateway: "g", Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(1)},
	}
	for name, e := range invalid {
		assert.ErrorIs(t, (&payments.Changes{Entries: []payments.Entry{e}}).Validate(e.Gateway), payments.ErrInvalidInput, name)
	}
	other := payments.Entry{Gateway: "other", Kind: payments.KindCharge, GatewayRef: "r", Amount: usd(1)}
	assert.ErrorIs(t, (&payments.Changes{Entries: []payments.Entry{other}}).Validate("g"), payments.ErrInvalidInput, "another gateway's entry")
	for name, u := range map[string]payments.PaymentUpdate{
		"no ids":         {Status: payments.StatusSucceeded},
		"unknown status": {GatewayID: "pi_1", Status: "paid"},
	} {
		assert.ErrorIs(t, (&payments.Changes{Payments: []payments.PaymentUpdate{u}}).Validate("g"), payments.ErrInvalidInput, name)
	}
}

func TestEntryIDSeparatesParts(t *testing.T) {
	assert.NotEqual(t, payments.EntryID("ab", payments.KindCharge, "c"), payments.EntryID("a", payments.KindCharge, "bc"))
	assert.NotEqual(t, payments.EntryID("g", payments.KindRefund, "r"), payments.EntryID("g", payments.KindRefundReversal, "r"))
	assert.Equal(t, payments.EntryID("g", payments.KindRefund, "r"), payments.EntryID("g", payments.KindRefund, "r"))
}
