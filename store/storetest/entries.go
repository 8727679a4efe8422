package storetest

import (
	"cmp"
	"fmt"
	"slices"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

func entryQueryTests() []namedTest {
	return []namedTest{
		{"Filters", testEntryFilters},
		{"OrderedByRecordedAtThenID", testEntryOrder},
	}
}

func testEntryFilters(f *fixture) {
	f.createPayment(newPayment("pay_a", "pi_a", "acct_1"))
	f.createPayment(newPayment("pay_b", "pi_b", "acct_2"))
	f.commit(batchAt(at(0),
		chargeOf("ch_a1", "pi_a", 100),
		chargeOf("ch_a2", "pi_a", 200),
		chargeOf("ch_b1", "pi_b", 300),
		charge("ch_loose", "acct_1", 400),
	))
	f.commit(&payments.Batch{Gateway: otherGateway, Now: at(time.Minute), Entries: []payments.Entry{
		charge("ch_o1", "acct_2", 500),
	}})

	cases := []struct {
		name   string
		filter payments.EntryFilter
		want   []string
	}{
		{"all", payments.EntryFilter{}, []string{"ch_a1", "ch_a2", "ch_b1", "ch_loose", "ch_o1"}},
		{"account", payments.EntryFilter{Account: "acct_1"}, []string{"ch_a1", "ch_a2", "ch_loose"}},
		{"payment", payments.EntryFilter{PaymentID: "pay_a"}, []string{"ch_a1", "ch_a2"}},
		{"gateway", payments.EntryFilter{Gateway: otherGateway}, []string{"ch_o1"}},
		{"gateway and account", payments.EntryFilter{Gateway: gateway, Account: "acct_2"}, []string{"ch_b1"}},
		{"unknown account", payments.EntryFilter{Account: "acct_nobody"}, nil},
	}
	for _, c := range cases {
		f.run(c.name, func(f *fixture) {
			var refs []string
			for _, e := range f.entries(c.filter) {
				refs = append(refs, e.GatewayRef)
			}
			assert.ElementsMatch(f.t, c.want, refs)
		})
	}
}

// testEntryOrder commits batches with their clocks out of order, several
// entries each, and checks the listing order and that Limit cuts it.
func testEntryOrder(f *fixture) {
	var all []payments.Entry
	for i, offset := range []time.Duration{2 * time.Minute, 0, time.Minute} {
		var batch []payments.Entry
		for j := range 6 {
			batch = append(batch, charge(fmt.Sprintf("ord_%d_%d", i, j), "acct_1", int64(100+j)))
		}
		res := f.commit(batchAt(at(offset), batch...))
		require.Len(f.t, res.Entries, len(batch))
		require.False(f.t, slices.IsSorted(entryIDs(res.Entries)),
			"precondition: the batch lists its entries out of id order, so insertion order is not the answer")
		all = append(all, normEntries(res.Entries)...)
	}
	slices.SortFunc(all, func(a, b payments.Entry) int {
		return cmp.Or(a.RecordedAt.Compare(b.RecordedAt), cmp.Compare(a.ID, b.ID))
	})
	want := entryIDs(all)

	assert.Equal(f.t, want, entryIDs(f.entries(payments.EntryFilter{})))
	assert.Equal(f.t, want[:7], entryIDs(f.entries(payments.EntryFilter{Limit: 7})), "Limit keeps the first in order")
	assert.Equal(f.t, want[:1], entryIDs(f.entries(payments.EntryFilter{Account: "acct_1", Limit: 1})))
	for _, e := range f.entries(payments.EntryFilter{}) {
		assert.Contains(f.t, []time.Time{at(0), at(time.Minute), at(2 * time.Minute)}, e.RecordedAt,
			"RecordedAt of %s is its batch's Now", e.GatewayRef)
	}
}
