package stormtest

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// check compares what the store holds after the storm with what was
// delivered and returns every difference, the mismatches: every entry
// must be there exactly once, with its amount and account; every balance
// must be the sum and count of its entries, and there must be no other;
// the journal must hold one verified row per delivery, exactly one of each
// notification's rows recorded and the rest duplicates.
func check(t *testing.T, store payments.Store, s *storm) []string {
	t.Helper()
	var m mismatches
	checkEntries(t, store, s, &m)
	checkBalances(t, store, s, &m)
	checkJournal(t, store, s, &m)
	return m
}

// mismatches collects what differs from what was delivered.
type mismatches []string

func (m *mismatches) add(format string, args ...any) { *m = append(*m, fmt.Sprintf(format, args...)) }

type ledgerKey struct {
	kind payments.EntryKind
	ref  string
}

// checkEntries pages through the ledger and counts each entry by its key.
func checkEntries(t *testing.T, store payments.Store, s *storm, m *mismatches) {
	want := map[ledgerKey]*notification{}
	for _, n := range s.notifications {
		want[ledgerKey{n.kind, n.ref}] = n
	}
	seen := map[ledgerKey]int{}
	f := payments.EntryFilter{Gateway: "fake", Limit: payments.DefaultListLimit}
	for {
		page, next, err := store.Entries(context.Background(), f)
		require.NoError(t, err)
		for _, e := range page {
			key := ledgerKey{e.Kind, e.GatewayRef}
			seen[key]++
			n, ok := want[key]
			switch {
			case !ok:
				m.add("an entry nobody delivered: %s %s of %s for %s", e.Kind, e.GatewayRef, e.Amount, e.Account)
			case seen[key] == 2:
				m.add("an entry more than once: %s %s", e.Kind, e.GatewayRef)
			case e.Amount != n.amount || e.Account != n.account:
				m.add("an entry not as delivered: %s %s of %s for %s, delivered %s for %s",
					e.Kind, e.GatewayRef, e.Amount, e.Account, n.amount, n.account)
			}
		}
		if next == "" {
			break
		}
		f.After = next
	}
	for key := range want {
		if seen[key] == 0 {
			m.add("an entry missing: %s %s", key.kind, key.ref)
		}
	}
}

type balanceKey struct {
	account  string
	currency payments.Currency
}

type sum struct{ amount, entries int64 }

// checkBalances reads every balance of every account the storm paid into.
func checkBalances(t *testing.T, store payments.Store, s *storm, m *mismatches) {
	want := map[string]map[payments.Currency]sum{}
	for _, n := range s.notifications {
		if want[n.account] == nil {
			want[n.account] = map[payments.Currency]sum{}
		}
		b := want[n.account][n.amount.Currency]
		want[n.account][n.amount.Currency] = sum{b.amount + n.amount.Amount, b.entries + 1}
	}
	for account, currencies := range want {
		balances, err := store.Balances(context.Background(), account)
		require.NoError(t, err)
		got := map[payments.Currency]sum{}
		for _, b := range balances {
			got[b.Money.Currency] = sum{b.Money.Amount, b.Entries}
		}
		if !maps.Equal(got, currencies) {
			m.add("balances of %s are not the sums of its entries: %+v, delivered %+v", account, got, currencies)
		}
	}
}

// checkJournal pages through the journal with its cursor.
func checkJournal(t *testing.T, store payments.Store, s *storm, m *mismatches) {
	type rows struct{ all, recorded int }
	byEvent := map[string]*rows{}
	outcomes := map[payments.Outcome]int{}
	total := 0
	f := payments.NotificationFilter{Gateway: "fake", Limit: payments.DefaultListLimit}
	for {
		page, next, err := store.Notifications(context.Background(), f)
		require.NoError(t, err)
		for _, n := range page {
			total++
			outcomes[n.Outcome]++
			r := byEvent[n.EventID]
			if r == nil {
				r = &rows{}
				byEvent[n.EventID] = r
			}
			r.all++
			if n.Outcome == payments.OutcomeRecorded {
				r.recorded++
			}
			if !n.Verified {
				m.add("a journal row that did not verify: %s: %s", n.ID, n.Detail)
			}
		}
		if next == "" {
			break
		}
		f.After = next
	}
	if total != len(s.deliveries) {
		m.add("%d journal rows for %d deliveries", total, len(s.deliveries))
	}
	want := map[payments.Outcome]int{payments.OutcomeRecorded: len(s.notifications), payments.OutcomeDuplicate: s.duplicates()}
	if !maps.Equal(want, outcomes) {
		m.add("journal outcomes %v, want %v", outcomes, want)
	}
	for _, n := range s.notifications {
		r := byEvent[n.event.ID]
		if r == nil || r.all != n.deliveries || r.recorded != 1 {
			m.add("%s delivered %d times has journal rows %+v, want that many with one recorded", n.event.ID, n.deliveries, r)
		}
		delete(byEvent, n.event.ID)
	}
	for id, r := range byEvent {
		m.add("journal rows of a notification nobody delivered: %q: %+v", id, r)
	}
}

// TestCheckFindsMismatches storms the memory store, then checks it against
// what was not delivered: a changed amount, a notification never sent, one
// sent but not expected. check must name each.
func TestCheckFindsMismatches(t *testing.T) {
	store := memory.New()
	delivered := newStorm(400, 7)
	res := delivered.run(t, store)
	require.Zero(t, res.failed, res.firstFailure)
	require.Empty(t, check(t, store, delivered))

	for _, tc := range []struct {
		name   string
		change func(s *storm)
		want   []string
	}{
		{"an amount", func(s *storm) { s.notifications[0].amount.Amount++ },
			[]string{"an entry not as delivered", "balances of " + delivered.notifications[0].account}},
		{"a notification never sent", func(s *storm) {
			n := newNotification(len(s.notifications), s.notifications)
			n.deliveries = 1
			s.notifications = append(s.notifications, n)
			s.deliveries = append(s.deliveries, delivery{n: n})
		}, []string{"an entry missing", "journal rows for", "delivered 1 times"}},
		{"a notification not expected", func(s *storm) {
			last := s.notifications[len(s.notifications)-1]
			s.notifications = s.notifications[:len(s.notifications)-1]
			s.deliveries = s.deliveries[:len(s.deliveries)-last.deliveries]
		}, []string{"an entry nobody delivered", "journal rows of a notification nobody delivered"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			expected := delivered.clone()
			tc.change(expected)
			found := strings.Join(check(t, store, expected), "\n")
			for _, w := range tc.want {
				assert.Contains(t, found, w)
			}
		})
	}
}

// clone copies what check reads of s, so that it can be changed.
func (s *storm) clone() *storm {
	c := &storm{deliveries: slices.Clone(s.deliveries), pairs: s.pairs}
	for _, n := range s.notifications {
		copied := *n
		c.notifications = append(c.notifications, &copied)
	}
	return c
}
