package storetest

import (
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// settlementTests check what a Store keeps of conversions into a
// settlement currency (payments.Settlement): with the entry, in the
// balance, and for entries that wait for a rate.
func settlementTests() []namedTest {
	return []namedTest{
		{"ConversionKeptWithEntry", testConversionKept},
		{"PendingConversionWaits", testPendingConversion},
		{"SettleEntryRules", testSettleEntryRules},
		{"OneSettlementCurrencyPerBalance", testOneSettlementCurrency},
	}
}

func converted(e payments.Entry, minor int64, rate string) payments.Entry {
	e.Settlement = &payments.Conversion{Money: payments.Money{Amount: minor, Currency: "USD"}, Rate: rate, Source: "fixed", At: at(-time.Hour)}
	return e
}

func pending(e payments.Entry) payments.Entry {
	e.Settlement = &payments.Conversion{Money: payments.Money{Currency: "USD"}}
	return e
}

func testConversionKept(f *fixture) {
	eur := movement(payments.KindCharge, "ch_eur", "acct_1", 1001, "EUR")
	refund := movement(payments.KindRefund, "re_eur", "acct_1", -333, "EUR")
	res := f.commit(batchAt(at(0), converted(eur, 1085, "1.0842"), converted(refund, -361, "1.0842"),
		charge("ch_usd", "acct_1", 500)))
	require.Len(f.t, res.Entries, 3)
	got := f.entries(payments.EntryFilter{Account: "acct_1"})
	require.Len(f.t, got, 3)
	byRef := map[string]payments.Entry{}
	for _, e := range got {
		byRef[e.GatewayRef] = e
	}
	assert.Equal(f.t, &payments.Conversion{Money: payments.Money{Amount: 1085, Currency: "USD"}, Rate: "1.0842", Source: "fixed", At: at(-time.Hour)},
		normConversion(byRef["ch_eur"].Settlement))
	assert.Equal(f.t, int64(-361), byRef["re_eur"].Settlement.Money.Amount)
	assert.Nil(f.t, byRef["ch_usd"].Settlement, "an entry without a conversion reads back without one")

	bal := f.balance("acct_1", "EUR")
	assert.Equal(f.t, payments.Money{Amount: 668, Currency: "EUR"}, bal.Money)
	assert.Equal(f.t, payments.Money{Amount: 724, Currency: "USD"}, bal.Settled)
	assert.Equal(f.t, payments.Money{}, f.balance("acct_1", "USD").Settled, "nothing converted into this one")
}

func testPendingConversion(f *fixture) {
	res := f.commit(batchAt(at(0), pending(movement(payments.KindCharge, "ch_wait", "acct_1", 1000, "EUR")),
		converted(movement(payments.KindCharge, "ch_done", "acct_1", 2000, "EUR"), 2200, "1.1")))
	require.Len(f.t, res.Entries, 2)
	waiting := f.entries(payments.EntryFilter{Unsettled: true})
	require.Equal(f.t, []string{"ch_wait"}, refs(waiting))
	assert.True(f.t, waiting[0].Settlement.Pending())
	assert.Equal(f.t, payments.Currency("USD"), waiting[0].Settlement.Money.Currency)
	assert.Equal(f.t, payments.Money{Amount: 2200, Currency: "USD"}, f.balance("acct_1", "EUR").Settled)

	due := f.claim("worker", at(time.Hour), lease, 10)
	assert.Equal(f.t, []string{payments.EntryID(gateway, payments.KindCharge, "ch_done")}, taskIDs(due),
		"the waiting entry's task is not claimed: nothing is credited at a guessed rate")
}

func testSettleEntryRules(f *fixture) {
	id := entryIDs(f.commit(batchAt(at(0), pending(movement(payments.KindCharge, "ch_wait", "acct_1", 1000, "EUR")))).Entries)[0]
	c := payments.Conversion{Money: payments.Money{Amount: 1100, Currency: "USD"}, Rate: "1.1", Source: "ecb", At: at(time.Minute)}

	other := c
	other.Money.Currency = "GBP"
	assert.ErrorIs(f.t, f.s.SettleEntry(f.ctx, id, other, at(time.Hour)), payments.ErrConflict, "another settlement currency")
	assert.ErrorIs(f.t, f.s.SettleEntry(f.ctx, "ent_missing", c, at(time.Hour)), payments.ErrNotFound)

	require.NoError(f.t, f.s.SettleEntry(f.ctx, id, c, at(time.Hour)))
	assert.Empty(f.t, f.entries(payments.EntryFilter{Unsettled: true}))
	assert.Equal(f.t, &c, normConversion(f.entries(payments.EntryFilter{})[0].Settlement))
	assert.Equal(f.t, payments.Money{Amount: 1100, Currency: "USD"}, f.balance("acct_1", "EUR").Settled)
	assert.Equal(f.t, []string{id}, taskIDs(f.claim("worker", at(time.Hour), lease, 10)), "due once converted")

	require.NoError(f.t, f.s.SettleEntry(f.ctx, id, c, at(2*time.Hour)), "the same conversion again changes nothing")
	assert.Equal(f.t, payments.Money{Amount: 1100, Currency: "USD"}, f.balance("acct_1", "EUR").Settled, "counted once")
	again := c
	again.Rate, again.Money.Amount = "1.2", 1200
	assert.ErrorIs(f.t, f.s.SettleEntry(f.ctx, id, again, at(2*time.Hour)), payments.ErrConflict, "converted already, at another rate")

	plain := entryIDs(f.commit(batchAt(at(0), charge("ch_plain", "acct_1", 100))).Entries)[0]
	assert.ErrorIs(f.t, f.s.SettleEntry(f.ctx, plain, c, at(time.Hour)), payments.ErrConflict, "it waits for no conversion")
}

func testOneSettlementCurrency(f *fixture) {
	f.commit(batchAt(at(0), converted(movement(payments.KindCharge, "ch_1", "acct_1", 1000, "EUR"), 1100, "1.1")))
	gbp := movement(payments.KindCharge, "ch_2", "acct_1", 1000, "EUR")
	gbp.Settlement = &payments.Conversion{Money: payments.Money{Amount: 850, Currency: "GBP"}, Rate: "0.85", Source: "fixed"}
	f.commitFails(batchAt(at(time.Minute), gbp), payments.ErrConflict)
	assert.Equal(f.t, payments.Money{Amount: 1100, Currency: "USD"}, f.balance("acct_1", "EUR").Settled)
}

func refs(list []payments.Entry) []string {
	out := make([]string, 0, len(list))
	for _, e := range list {
		out = append(out, e.GatewayRef)
	}
	return out
}

func normConversion(c *payments.Conversion) *payments.Conversion {
	if c == nil {
		return nil
	}
	n := *c
	n.At = normTime(n.At)
	return &n
}
