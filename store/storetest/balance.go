package storetest

import (
	"math"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/payrail/payments"
)

func balanceTests() []namedTest {
	return []namedTest{
		{"RefundsAndChargebacksSubtract", testNegativeEntries},
		{"ListedByCurrency", testBalancesByCurrency},
		{"UnknownAccountIsZero", testUnknownAccountBalance},
		{"HugeAmountsExact", testHugeAmounts},
		{"OverflowWritesNothing", testBalanceOverflow},
	}
}

func testNegativeEntries(f *fixture) {
	f.commit(batchAt(at(0),
		charge("ch_1", "acct_1", 10_000),
		movement(payments.KindRefund, "re_1", "acct_1", -2_500, "USD"),
		movement(payments.KindChargeback, "cb_1", "acct_1", -5_000, "USD"),
	))
	assertBalance(f, "acct_1", usd(2_500), 3)

	f.commit(batchAt(at(time.Minute),
		movement(payments.KindChargebackReversal, "cb_1", "acct_1", 5_000, "USD"),
		movement(payments.KindRefund, "re_2", "acct_1", -9_000, "USD"),
	))
	assertBalance(f, "acct_1", usd(-1_500), 5) // a balance may go below zero: the money has left
}

func testBalancesByCurrency(f *fixture) {
	f.commit(batchAt(at(0),
		movement(payments.KindCharge, "ch_usd", "acct_1", 1_050, "USD"),
		movement(payments.KindCharge, "ch_jpy", "acct_1", 500, "JPY"),
		movement(payments.KindCharge, "ch_btc", "acct_1", 12_345_678, "BTC"),
		movement(payments.KindCharge, "ch_eur", "acct_1", 990, "EUR"),
		movement(payments.KindRefund, "re_eur", "acct_1", -90, "EUR"),
		movement(payments.KindCharge, "ch_other", "acct_2", 7, "USD"),
	))

	got := f.balances("acct_1")

	type row struct {
		Money   payments.Money
		Entries int64
	}
	want := []row{
		{payments.Money{Amount: 12_345_678, Currency: "BTC"}, 1},
		{payments.Money{Amount: 900, Currency: "EUR"}, 2},
		{payments.Money{Amount: 500, Currency: "JPY"}, 1},
		{payments.Money{Amount: 1_050, Currency: "USD"}, 1},
	}
	rows := make([]row, 0, len(got))
	for _, b := range got {
		assert.Equal(f.t, "acct_1", b.Account)
		rows = append(rows, row{b.Money, b.Entries})
	}
	assert.Equal(f.t, want, rows, "one balance per currency, ordered by currency, no other account's")
	assert.Empty(f.t, f.balances("acct_nobody"))
}

func testUnknownAccountBalance(f *fixture) {
	f.commit(batchAt(at(0), charge("ch_1", "acct_1", 100)))

	for _, c := range []struct {
		account  string
		currency payments.Currency
	}{{"acct_nobody", "USD"}, {"acct_1", "EUR"}} {
		b := f.balance(c.account, c.currency)
		assert.Equal(f.t, c.account, b.Account)
		assert.Equal(f.t, payments.Money{Amount: 0, Currency: c.currency}, b.Money)
		assert.Zero(f.t, b.Entries)
	}
}

// testHugeAmounts records amounts a float64 cannot hold exactly (2^53+1)
// and sums up to the int64 limits: a store that passes amounts through a
// float, or a JSON number, loses them.
func testHugeAmounts(f *fixture) {
	const notAFloat = 1<<53 + 1
	f.commit(batchAt(at(0),
		charge("ch_big_1", "acct_max", notAFloat),
		charge("ch_big_2", "acct_max", math.MaxInt64-notAFloat),
		movement(payments.KindRefund, "re_big_1", "acct_min", -notAFloat, "USD"),
		movement(payments.KindRefund, "re_big_2", "acct_min", math.MinInt64+notAFloat, "USD"),
	))

	assertBalance(f, "acct_max", usd(math.MaxInt64), 2)
	assertBalance(f, "acct_min", usd(math.MinInt64), 2)
	amounts := map[string]int64{}
	for _, e := range f.entries(payments.EntryFilter{}) {
		amounts[e.GatewayRef] = e.Amount.Amount
	}
	assert.Equal(f.t, map[string]int64{
		"ch_big_1": notAFloat,
		"ch_big_2": math.MaxInt64 - notAFloat,
		"re_big_1": -notAFloat,
		"re_big_2": math.MinInt64 + notAFloat,
	}, amounts)
}

// testBalanceOverflow fills balances to the int64 limits and then tries to
// pass them. The batch must fail rather than wrap around or lose precision,
// and its other entries must not be recorded.
func testBalanceOverflow(f *fixture) {
	f.commit(batchAt(at(0),
		charge("ch_max", "acct_max", math.MaxInt64),
		movement(payments.KindRefund, "re_min", "acct_min", math.MinInt64, "USD"),
	))
	accounts := []string{"acct_max", "acct_min", "acct_bystander"}

	f.run("above MaxInt64", func(f *fixture) {
		b := batchAt(at(time.Minute), charge("ch_bystander", "acct_bystander", 10), charge("ch_one_more", "acct_max", 1))
		f.assertWritesNothing(b, nil, nil, accounts)
	})
	f.run("below MinInt64", func(f *fixture) {
		b := batchAt(at(time.Minute), charge("ch_bystander", "acct_bystander", 10),
			movement(payments.KindRefund, "re_one_more", "acct_min", -1, "USD"))
		f.assertWritesNothing(b, nil, nil, accounts)
	})
	assertBalance(f, "acct_max", usd(math.MaxInt64), 1)
	assertBalance(f, "acct_min", usd(math.MinInt64), 1)
}
