package main

import (
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/sqlite"
)

// reconcileOutput is reconcile's --json document.
type reconcileOutput struct {
	Reports []struct {
		Gateway     string `json:"gateway"`
		Next        string `json:"next"`
		Listed      int    `json:"listed"`
		Recorded    int    `json:"recorded"`
		Duplicates  int    `json:"duplicates"`
		Differences []struct {
			Kind           string     `json:"kind"`
			Entry          *entryView `json:"entry"`
			Reported       *entryView `json:"reported"`
			NotificationID string     `json:"notification_id"`
		} `json:"differences"`
	} `json:"reports"`
	Differences int      `json:"differences"`
	Errors      []string `json:"errors"`
}

// reconcileWorld is an empty SQLite ledger, migrated, and a Fake gateway
// whose money moves without notifications (Fake.Move).
func reconcileWorld(t *testing.T) (env map[string]string, fake *gatewaytest.Fake, host *payments.Service) {
	path := filepath.Join(t.TempDir(), "payments.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	fake = gatewaytest.NewFake(fakeSecret)
	host, err = payments.New(store, payments.WithGateway(fake))
	require.NoError(t, err)
	return map[string]string{"SQLITE_PATH": path}, fake, host
}

func charge(id, account, amount string) gatewaytest.Event {
	return gatewaytest.Event{ID: "ev_" + id, Type: "payment.succeeded", PaymentID: id, Account: account, Amount: amount, Currency: "USD"}
}

// TestReconcileCommandRecordsWhatNoWebhookBrought: money that moved
// without a webhook is recorded once by the command, which exits 0; a
// second run finds nothing new; the webhook, delivered late to the host,
// is a duplicate.
func TestReconcileCommandRecordsWhatNoWebhookBrought(t *testing.T) {
	env, fake, host := reconcileWorld(t)
	late := fake.Move(charge("fp_1", "acct-a", "12.00"), time.Now())
	fake.Move(charge("fp_2", "acct-a", "3.00"), time.Now())

	var out reconcileOutput
	ok(t, runWith(t, env, []payments.Gateway{fake}, "reconcile", "fake", "--json"), &out)
	require.Len(t, out.Reports, 1)
	r := out.Reports[0]
	assert.Equal(t, "fake", r.Gateway)
	assert.Equal(t, 2, r.Listed)
	assert.Equal(t, 2, r.Recorded)
	assert.Empty(t, r.Differences)
	assert.Zero(t, out.Differences)
	assert.NotEmpty(t, r.Next, "the cursor is saved in the store")

	ok(t, runWith(t, env, []payments.Gateway{fake}, "reconcile", "fake", "--json"), &out)
	assert.Zero(t, out.Reports[0].Recorded, "nothing new after the cursor")

	res, err := host.HandleWebhook(t.Context(), "fake", late)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome, "the late webhook")
	b, err := host.Balance(t.Context(), "acct-a", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1500), b.Money.Amount, "each charge once")
}

// TestReconcileCommandExitsFiveOnDifferences: money the ledger cannot
// attribute is a difference, reported with its kind, and the command
// exits 5 so that a script can alert; the table names it too.
func TestReconcileCommandExitsFiveOnDifferences(t *testing.T) {
	env, fake, _ := reconcileWorld(t)
	fake.Move(charge("fp_ok", "acct-b", "1.00"), time.Now())
	fake.Move(charge("fp_orphan", "", "7.00"), time.Now()) // names no account

	r := runWith(t, env, []payments.Gateway{fake}, "reconcile", "--json") // every gateway: the Fake
	require.Equal(t, exitDifferences, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	var out reconcileOutput
	require.NoError(t, jsonUnmarshal(r.stdout, &out), r.stdout)
	require.Len(t, out.Reports, 1)
	assert.Equal(t, 1, out.Reports[0].Recorded)
	require.Len(t, out.Reports[0].Differences, 1)
	d := out.Reports[0].Differences[0]
	assert.Equal(t, string(payments.DifferenceParked), d.Kind)
	assert.NotEmpty(t, d.NotificationID, "the journal row to attribute")
	assert.Equal(t, 1, out.Differences)
	assert.Contains(t, r.stderr, "1 difference(s)")

	// The next run reports the next such movement, as a table too.
	fake.Move(charge("fp_orphan2", "", "2.00"), time.Now())
	r = runWith(t, env, []payments.Gateway{fake}, "reconcile", "fake")
	require.Equal(t, exitDifferences, r.code, r.stderr)
	assert.Contains(t, r.stdout, "GATEWAY  LISTED  RECORDED")
	assert.Contains(t, r.stdout, "parked")
}

// TestReconcileCommandAmountDiffers: the gateway reports another amount
// under a key the ledger holds; nothing is booked and the command shows
// both amounts.
func TestReconcileCommandAmountDiffers(t *testing.T) {
	env, fake, host := reconcileWorld(t)
	res, err := host.HandleWebhook(t.Context(), "fake", fake.Request(charge("fp_1", "acct-c", "10.00"), time.Now()))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	fake.Move(charge("fp_1", "acct-c", "12.00"), time.Now())

	r := runWith(t, env, []payments.Gateway{fake}, "reconcile", "fake", "--json")
	require.Equal(t, exitDifferences, r.code, r.stderr)
	var out reconcileOutput
	require.NoError(t, jsonUnmarshal(r.stdout, &out), r.stdout)
	require.Len(t, out.Reports[0].Differences, 1)
	d := out.Reports[0].Differences[0]
	assert.Equal(t, string(payments.DifferenceAmount), d.Kind)
	require.NotNil(t, d.Entry)
	require.NotNil(t, d.Reported)
	assert.Equal(t, int64(1000), d.Entry.AmountMinor)
	assert.Equal(t, int64(1200), d.Reported.AmountMinor)
	b, err := host.Balance(t.Context(), "acct-c", "USD")
	require.NoError(t, err)
	assert.Equal(t, int64(1000), b.Money.Amount, "reported, not booked")
}

func TestReconcileCommandRefusals(t *testing.T) {
	env, fake, _ := reconcileWorld(t)
	plain := struct{ payments.Gateway }{gatewaytest.NewFake(fakeSecret, gatewaytest.WithName("plain"))}

	r := runWith(t, env, nil, "reconcile", "stripe")
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "STRIPE_ENABLED", "names the variable to set")

	r = runWith(t, env, []payments.Gateway{plain}, "reconcile", "plain")
	assert.Equal(t, exitRefused, r.code, r.stderr)
	assert.Contains(t, r.stderr, "lists nothing to reconcile")

	r = runWith(t, env, []payments.Gateway{plain}, "reconcile")
	assert.Equal(t, exitRefused, r.code, "no gateway that lists: %s", r.stderr)

	r = runWith(t, env, []payments.Gateway{fake}, "reconcile", "fake", "extra")
	assert.Equal(t, exitUsage, r.code)
	r = runWith(t, env, []payments.Gateway{fake}, "reconcile", "--lookback", "-1h")
	assert.Equal(t, exitUsage, r.code)

	fake.FailListing(assert.AnError)
	r = runWith(t, env, []payments.Gateway{fake}, "reconcile", "--json")
	assert.Equal(t, exitFailed, r.code, "the gateway's API failed: %s", r.stderr)
	var out reconcileOutput
	require.NoError(t, jsonUnmarshal(r.stdout, &out), r.stdout)
	assert.Len(t, out.Errors, 1)
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
