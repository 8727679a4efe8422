package crashtest

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

const (
	// pageSize is how many rows each page of a listing asks for. The check
	// reads every page, following the store's cursor, so a cursor that
	// skips or repeats rows after a crash shows up as missing or twice
	// recorded entries.
	pageSize = payments.DefaultListLimit
	// maxReported caps the findings printed per check, so a store that
	// lost thousands of entries fails with a readable message.
	maxReported = 20
)

// check compares the database with what was sent and acknowledged.
func check(ctx context.Context, t *testing.T, store payments.Store, m *model) {
	m.mu.Lock()
	defer m.mu.Unlock()
	entries := checkEntries(ctx, t, store, m)
	checkBalances(ctx, t, store, entries)
	checkJournal(ctx, t, store, m, entries)
	checkPayments(ctx, t, store, m)
}

// listAll reads every page of a listing, following its cursor from the
// first page to the one whose cursor is "".
func listAll[T any](list func(after string) (page []T, next string, err error)) ([]T, error) {
	var all []T
	after := ""
	for {
		page, next, err := list(after)
		if err != nil {
			return nil, err
		}
		all = append(all, page...)
		if next == "" {
			return all, nil
		}
		if next == after || len(page) == 0 {
			return nil, fmt.Errorf("the listing does not advance past cursor %q", after)
		}
		after = next
	}
}

// findings collects one check's failures and reports the first few.
type findings struct {
	what string
	list []string
}

func (f *findings) add(format string, args ...any) {
	f.list = append(f.list, fmt.Sprintf(format, args...))
}

func (f *findings) report(t *testing.T) {
	t.Helper()
	if len(f.list) == 0 {
		return
	}
	shown := f.list[:min(len(f.list), maxReported)]
	t.Errorf("%s: %d findings, the first %d:\n  %s", f.what, len(f.list), len(shown), strings.Join(shown, "\n  "))
}

// checkLoss checks that the ledger lacks some acknowledged notifications, as
// it must when the store was made to acknowledge without syncing and
// AfterKill dropped what was not synced (Config.ExpectLoss). It is the
// ledger check of check, expected to fail.
func checkLoss(ctx context.Context, t *testing.T, store payments.Store, m *model) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, f, lost := compareLedger(ctx, t, store, m)
	require.NotEmpty(t, lost, "no acknowledged notification was lost: the run cannot tell a store that syncs from one that does not")
	shown := lost[:min(len(lost), maxReported)]
	t.Logf("as expected, the ledger check failed: %d findings, %d of them acknowledged notifications lost, the first %d:\n  %s",
		len(f.list), len(lost), len(shown), strings.Join(shown, "\n  "))
}

// checkEntries checks that every acknowledged notification's entry is in the
// ledger exactly once, as sent, and that every entry in the ledger was sent.
// It returns the ledger's entries by id.
func checkEntries(ctx context.Context, t *testing.T, store payments.Store, m *model) map[string]payments.Entry {
	byID, f, _ := compareLedger(ctx, t, store, m)
	f.report(t)
	return byID
}

// compareLedger compares the ledger with what was sent and acknowledged. It
// returns the ledger's entries by id, every finding, and among them the
// acknowledged notifications without their entry.
func compareLedger(ctx context.Context, t *testing.T, store payments.Store, m *model) (map[string]payments.Entry, findings, []string) {
	listed, err := listAll(func(after string) ([]payments.Entry, string, error) {
		return store.Entries(ctx, payments.EntryFilter{Limit: pageSize, After: after})
	})
	require.NoError(t, err, "list entries")
	f := findings{what: "ledger"}
	byID := make(map[string]payments.Entry, len(listed))
	for _, e := range listed {
		if _, dup := byID[e.ID]; dup {
			f.add("entry %s (%s %s) is recorded twice", e.ID, e.Kind, e.GatewayRef)
		}
		byID[e.ID] = e
		n, sent := m.byEntry[e.ID]
		if !sent {
			f.add("entry %s (%s %s) was never sent", e.ID, e.Kind, e.GatewayRef)
			continue
		}
		if e.Kind != n.entry.Kind || e.Account != n.entry.Account || e.Amount != n.entry.Amount {
			f.add("entry %s of %s is %s %s %s, sent as %s %s %s", e.ID, n.event.ID,
				e.Kind, e.Account, e.Amount, n.entry.Kind, n.entry.Account, n.entry.Amount)
		}
	}
	var lost []string
	for _, n := range m.all {
		if _, ok := byID[n.entry.ID]; n.acked && !ok {
			f.add("acknowledged %s (%s %s) has no entry %s", n.event.ID, n.event.Type, n.entry.Amount, n.entry.ID)
			lost = append(lost, f.list[len(f.list)-1])
		}
	}
	return byID, f, lost
}

// checkBalances checks every account's materialized balances against the sum
// and count of the entries the store lists for it.
func checkBalances(ctx context.Context, t *testing.T, store payments.Store, entries map[string]payments.Entry) {
	type sum struct {
		amount, count int64
	}
	byAccount := map[string]bool{}
	for _, a := range accounts {
		byAccount[a] = true
	}
	for _, e := range entries {
		byAccount[e.Account] = true
	}
	var listed int
	for account := range byAccount {
		list, err := listAll(func(after string) ([]payments.Entry, string, error) {
			return store.Entries(ctx, payments.EntryFilter{Account: account, Limit: pageSize, After: after})
		})
		require.NoError(t, err, "list entries of %s", account)
		listed += len(list)
		want := map[payments.Currency]sum{}
		for _, e := range list {
			s := want[e.Amount.Currency]
			want[e.Amount.Currency] = sum{s.amount + e.Amount.Amount, s.count + 1}
		}
		balances, err := store.Balances(ctx, account)
		require.NoError(t, err, "balances of %s", account)
		got := map[payments.Currency]sum{}
		for _, b := range balances {
			assert.Equal(t, account, b.Account, "balance listed for %s", account)
			got[b.Money.Currency] = sum{b.Money.Amount, b.Entries}
		}
		for currency, s := range got {
			if s == (sum{}) {
				delete(got, currency) // a zero balance with no entries is no balance
			}
		}
		assert.Equal(t, want, got, "balances of %s against the sum of its entries", account)
		for currency, s := range want {
			b, err := store.Balance(ctx, account, currency)
			require.NoError(t, err, "balance of %s in %s", account, currency)
			assert.Equal(t, s, sum{b.Money.Amount, b.Entries}, "balance of %s in %s", account, currency)
		}
	}
	assert.Equal(t, len(entries), listed, "entries listed by account against the whole ledger")
}

// checkJournal checks that the journal holds a row for every acknowledged
// notification, no more rows for a notification than its deliveries, and
// exactly one recorded row for each entry in the ledger, which the store
// writes in the entry's own transaction.
func checkJournal(ctx context.Context, t *testing.T, store payments.Store, m *model, entries map[string]payments.Entry) {
	rows, err := listAll(func(after string) ([]payments.Notification, string, error) {
		return store.Notifications(ctx, payments.NotificationFilter{Gateway: gatewayName, Limit: pageSize, After: after})
	})
	require.NoError(t, err, "list the journal")
	byEvent := map[string][]payments.Notification{}
	for _, row := range rows {
		byEvent[row.EventID] = append(byEvent[row.EventID], row)
	}
	sent := make(map[string]bool, len(m.all))
	f := findings{what: "journal"}
	for _, n := range m.all {
		sent[n.event.ID] = true
		journaled := byEvent[n.event.ID]
		if n.acked && len(journaled) == 0 {
			f.add("acknowledged %s is not in the journal", n.event.ID)
		}
		if len(journaled) > n.sent {
			f.add("%s is journaled %d times but was delivered %d times", n.event.ID, len(journaled), n.sent)
		}
		var recorded int
		for _, row := range journaled {
			if row.Outcome == payments.OutcomeRecorded {
				recorded++
			}
		}
		want := 0
		if _, inLedger := entries[n.entry.ID]; inLedger {
			want = 1
		}
		if recorded != want {
			f.add("%s has %d journal rows with outcome recorded, want %d", n.event.ID, recorded, want)
		}
	}
	for event, journaled := range byEvent {
		if !sent[event] {
			f.add("journal rows for %q, which was never sent: %d, first outcome %s", event, len(journaled), journaled[0].Outcome)
		}
	}
	f.report(t)
}

// checkPayments checks that every acknowledged charge's payment exists,
// succeeded, in the charge's account.
func checkPayments(ctx context.Context, t *testing.T, store payments.Store, m *model) {
	f := findings{what: "payments"}
	for _, n := range m.all {
		if !n.acked || n.entry.Kind != payments.KindCharge {
			continue
		}
		p, err := store.PaymentByGatewayID(ctx, gatewayName, n.event.PaymentID)
		switch {
		case err != nil:
			f.add("payment %s of acknowledged %s: %v", n.event.PaymentID, n.event.ID, err)
		case p.Account != n.entry.Account || p.Status != payments.StatusSucceeded:
			f.add("payment %s of acknowledged %s is %s in %s, want succeeded in %s",
				n.event.PaymentID, n.event.ID, p.Status, p.Account, n.entry.Account)
		}
	}
	f.report(t)
}
