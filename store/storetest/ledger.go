package storetest

import (
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func ledgerTests() []namedTest {
	return []namedTest{
		{"RecordsEntry", testRecordsEntry},
		{"DuplicateIsRecordedOnce", testDuplicateEntry},
		{"SameKeyTwiceInOneBatch", testDuplicateInOneBatch},
		{"SameKeyDifferentMovementConflicts", testConflictingEntry},
		{"IDDerivedFromKey", testEntryID},
		{"LinkedToPayment", testEntryLinkedToPayment},
		{"AttributedByPaymentOfSameBatch", testEntryAttributedInBatch},
		{"UnattributedWritesNothing", testUnattributedEntry},
	}
}

func testRecordsEntry(f *fixture) {
	e := charge("ch_1", "acct_1", 1250)
	e.Reference = "order:1:abc123"

	res := f.commit(batchAt(at(time.Minute), e))

	want := e
	want.ID = payments.EntryID(gateway, payments.KindCharge, "ch_1")
	want.Gateway = gateway
	want.RecordedAt = at(time.Minute)
	require.Len(f.t, res.Entries, 1)
	assert.Empty(f.t, res.Duplicates)
	assert.Equal(f.t, want, normEntry(res.Entries[0]), "BatchResult.Entries holds the entry as stored")
	assert.Equal(f.t, []payments.Entry{want}, f.entries(payments.EntryFilter{}))
}

func testDuplicateEntry(f *fixture) {
	e := charge("ch_dup", "acct_1", 700)
	first := f.commit(batchAt(at(0), e))
	require.Len(f.t, first.Entries, 1)

	second := f.commit(batchAt(at(time.Minute), e))

	assert.Empty(f.t, second.Entries)
	require.Len(f.t, second.Duplicates, 1)
	assert.Equal(f.t, normEntry(first.Entries[0]), normEntry(second.Duplicates[0]),
		"a duplicate is reported as first stored, RecordedAt included")
	assert.True(f.t, second.Empty())
	assert.Len(f.t, f.entries(payments.EntryFilter{}), 1)
	assertBalance(f, "acct_1", usd(700), 1)
	assert.Len(f.t, f.tasks(""), 1, "a duplicate queues no second sync")
}

func testDuplicateInOneBatch(f *fixture) {
	e := charge("ch_twice", "acct_1", 300)

	res := f.commit(batchAt(at(0), e, e))

	assert.Len(f.t, res.Entries, 1)
	assert.Len(f.t, res.Duplicates, 1)
	assert.Len(f.t, f.entries(payments.EntryFilter{}), 1)
	assertBalance(f, "acct_1", usd(300), 1)
	assert.Len(f.t, f.tasks(""), 1)
}

// assertBalance asserts one balance's amount and entry count.
func assertBalance(f *fixture, account string, want payments.Money, entries int64) {
	f.t.Helper()
	b := f.balance(account, want.Currency)
	assert.Equal(f.t, account, b.Account)
	assert.Equal(f.t, want, b.Money, "balance of %s", account)
	assert.Equal(f.t, entries, b.Entries, "entries in the balance of %s", account)
}

// testConflictingEntry redelivers a recorded key describing a different
// movement: that is a gateway or driver bug the ledger must refuse, not
// overwrite.
func testConflictingEntry(f *fixture) {
	f.commit(batchAt(at(0), charge("ch_c", "acct_1", 700)))

	cases := []struct {
		name  string
		entry payments.Entry
	}{
		{"different amount", charge("ch_c", "acct_1", 701)},
		{"different account", charge("ch_c", "acct_2", 700)},
		{"different currency", movement(payments.KindCharge, "ch_c", "acct_1", 700, "EUR")},
	}
	for _, c := range cases {
		f.run(c.name, func(f *fixture) {
			f.assertWritesNothing(batchAt(at(time.Minute), c.entry), payments.ErrConflict, nil, []string{"acct_1", "acct_2"})
		})
	}
}

// testEntryID checks that the key is (gateway, kind, gateway ref) and that
// the id is derived from it, so redeliveries get the same id.
func testEntryID(f *fixture) {
	chargeEntry := charge("txn_1", "acct_1", 1000)
	refundEntry := movement(payments.KindRefund, "txn_1", "acct_1", -400, "USD")
	res := f.commit(batchAt(at(0), chargeEntry, refundEntry))
	assert.ElementsMatch(f.t, []string{
		payments.EntryID(gateway, payments.KindCharge, "txn_1"),
		payments.EntryID(gateway, payments.KindRefund, "txn_1"),
	}, entryIDs(res.Entries), "the same gateway ref with another kind is another movement")
	for _, e := range res.Entries {
		assert.Equal(f.t, gateway, e.Gateway, "the batch's gateway is filled in")
	}

	other := &payments.Batch{Gateway: otherGateway, Now: at(0), Entries: []payments.Entry{chargeEntry}}
	res = f.commit(other)
	require.Len(f.t, res.Entries, 1, "the same gateway ref at another gateway is another movement")
	assert.Equal(f.t, payments.EntryID(otherGateway, payments.KindCharge, "txn_1"), res.Entries[0].ID)
	assertBalance(f, "acct_1", usd(1600), 3)

	forged := charge("txn_2", "acct_1", 1000)
	forged.ID = payments.EntryID(gateway, payments.KindCharge, "txn_other")
	f.assertWritesNothing(batchAt(at(time.Minute), forged), payments.ErrInvalidInput, nil, []string{"acct_1"})
}

func testEntryLinkedToPayment(f *fixture) {
	p := newPayment("pay_link", "pi_link", "acct_1")
	f.createPayment(p)
	withAccount := charge("ch_with_account", "acct_1", 100)
	withAccount.GatewayPaymentID = "pi_link"
	inherited := chargeOf("ch_inherited", "pi_link", 200)

	f.commit(batchAt(at(0), withAccount, inherited))

	linked := f.entries(payments.EntryFilter{PaymentID: p.ID})
	require.Len(f.t, linked, 2)
	for _, e := range linked {
		assert.Equal(f.t, p.ID, e.PaymentID, "entry %s", e.GatewayRef)
		assert.Equal(f.t, "acct_1", e.Account, "entry %s", e.GatewayRef)
		assert.Equal(f.t, p.Reference, e.Reference, "entry %s", e.GatewayRef)
	}
	assertBalance(f, "acct_1", usd(300), 2)
}

// testEntryAttributedInBatch checks that entries see the payment updates of
// their own batch: a notification often reports a payment the store has not
// seen together with its money.
func testEntryAttributedInBatch(f *fixture) {
	b := batchAt(at(0), chargeOf("ch_fresh", "pi_fresh", 500))
	b.Payments = []payments.PaymentUpdate{{
		GatewayID: "pi_fresh", Account: "acct_9", Reference: "order:9:x1y2z3", Status: payments.StatusSucceeded,
	}}

	res := f.commit(b)

	require.Len(f.t, res.Created, 1)
	require.Len(f.t, res.Entries, 1)
	e := res.Entries[0]
	assert.Equal(f.t, "acct_9", e.Account)
	assert.Equal(f.t, res.Created[0].ID, e.PaymentID)
	assert.Equal(f.t, "order:9:x1y2z3", e.Reference)
	assertBalance(f, "acct_9", usd(500), 1)
}

// testUnattributedEntry sends batches whose last entry has no account and
// no payment to take one from. The whole batch must fail: a half-recorded
// notification could never be replayed cleanly.
func testUnattributedEntry(f *fixture) {
	seen := newPayment("pay_seen", "pi_seen", "acct_1")
	f.createPayment(seen)
	f.createPayment(newPayment("pay_anonymous", "pi_anonymous", ""))

	cases := []struct {
		name  string
		entry payments.Entry
	}{
		{"unknown payment", chargeOf("ch_u1", "pi_unknown", 100)},
		{"no payment", chargeOf("ch_u2", "", 100)},
		{"payment without account", chargeOf("ch_u3", "pi_anonymous", 100)},
	}
	for _, c := range cases {
		f.run(c.name, func(f *fixture) {
			b := statusUpdate(at(time.Minute), "pi_seen", payments.StatusSucceeded)
			b.Entries = []payments.Entry{chargeOf("ch_ok", "pi_seen", 100), c.entry}
			b.Notification = newNotification("ntf_"+c.entry.GatewayRef, at(time.Minute))
			b.SyncOwner, b.SyncLeaseUntil = "svc_a", at(2*time.Minute)

			f.assertWritesNothing(b, payments.ErrUnattributed, []string{"pay_seen", "pay_anonymous"}, []string{"acct_1"})
		})
	}
}
