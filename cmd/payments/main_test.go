package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/gatewaytest"
	"github.com/payrail/payments/store/sqlite"
)

const fakeSecret = "whsec_cmd_test"

// day0 is when the seeded journal starts; every row is a day apart and
// long past, so that the default retention prunes the rejected and ignored
// ones.
var day0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// ledger is a SQLite file seeded through a Service with the Fake gateway.
type ledger struct {
	path string
	fake *gatewaytest.Fake
	// ids are the journal rows by the event id they carry.
	ids map[string]string
}

// seeded is what newLedger journals, one day apart in this order: two
// charges and a refund for known accounts, money naming no account
// (parked), a body with a wrong signature (rejected, larger than the
// journal keeps), and an event type the Fake ignores.
var seeded = []struct {
	ev      gatewaytest.Event
	outcome payments.Outcome
}{
	{gatewaytest.Event{ID: "ev_a", Type: "payment.succeeded", PaymentID: "fp_a", Account: "acct-a", Amount: "10.00", Currency: "USD"}, payments.OutcomeRecorded},
	{gatewaytest.Event{ID: "ev_b", Type: "payment.succeeded", PaymentID: "fp_b", Account: "acct-b", Amount: "5.50", Currency: "EUR"}, payments.OutcomeRecorded},
	{gatewaytest.Event{ID: "ev_r", Type: "refund.succeeded", PaymentID: "fp_a", RefundID: "re_1", Amount: "2.50", Currency: "USD"}, payments.OutcomeRecorded},
	{gatewaytest.Event{ID: "ev_p", Type: "payment.succeeded", PaymentID: "fp_orphan", Amount: "7.00", Currency: "USD"}, payments.OutcomeParked},
	{gatewaytest.Event{ID: "ev_x", Type: "payment.succeeded", PaymentID: "fp_x", Account: "mallory", Amount: "999.00", Currency: "USD"}, payments.OutcomeRejected},
	{gatewaytest.Event{ID: "ev_i", Type: "customer.created"}, payments.OutcomeIgnored},
}

func newLedger(t *testing.T) *ledger {
	t.Helper()
	l := &ledger{path: filepath.Join(t.TempDir(), "payments.db"), fake: gatewaytest.NewFake(fakeSecret), ids: map[string]string{}}
	store, err := sqlite.Open(t.Context(), l.path, sqlite.Options{})
	require.NoError(t, err)
	defer store.Close()
	l.seed(t, store)
	return l
}

// seed journals the seeded notifications through a Service over store.
func (l *ledger) seed(t *testing.T, store payments.Store) {
	t.Helper()
	svc, err := payments.New(store, payments.WithGateway(l.fake))
	require.NoError(t, err)
	for i, s := range seeded {
		req := l.fake.Request(s.ev, time.Now())
		req.ReceivedAt = day0.Add(time.Duration(i) * 24 * time.Hour)
		if s.outcome == payments.OutcomeRejected {
			// Padded past what the journal keeps of an unverified body.
			req.Body = append(req.Body, bytes.Repeat([]byte(" "), payments.UnverifiedBodyPrefix)...)
		}
		res, err := svc.HandleWebhook(t.Context(), "fake", req)
		if s.outcome != payments.OutcomeRejected {
			require.NoError(t, err, s.ev.ID)
		}
		require.Equal(t, s.outcome, res.Notification.Outcome, s.ev.ID)
		l.ids[s.ev.ID] = res.Notification.ID
	}
}

// result is one in-process run of the command.
type result struct {
	code           int
	stdout, stderr string
}

// run runs the command as main does; in runs it with gateways and an
// environment of the test's choosing.
func runCmd(t *testing.T, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return result{code, stdout.String(), stderr.String()}
}

func runWith(t *testing.T, env map[string]string, gateways []payments.Gateway, args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := newCLI(&stdout, &stderr, func(k string) string { return env[k] })
	c.gateways = gateways
	code := c.run(context.Background(), args)
	return result{code, stdout.String(), stderr.String()}
}

// ok checks that a run succeeded and decodes its --json output into v.
func ok(t *testing.T, r result, v any) {
	t.Helper()
	require.Equal(t, exitOK, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
	if v != nil {
		require.NoError(t, json.Unmarshal([]byte(r.stdout), v), r.stdout)
	}
}

type journalPage struct {
	Notifications []notificationView `json:"notifications"`
	Next          string             `json:"next"`
}

// events names the rows by the seeded event each journals; a rejected row
// has no event id of its own, as its body was never parsed.
func (l *ledger) events(rows []notificationView) []string {
	out := []string{}
	for _, n := range rows {
		for ev, id := range l.ids {
			if id == n.ID {
				out = append(out, ev)
			}
		}
	}
	return out
}

type balancesDoc struct {
	Balances []balanceView `json:"balances"`
}

func TestAttributeParkedMoney(t *testing.T) {
	l := newLedger(t)
	var parked journalPage
	ok(t, runCmd(t, "parked", "--sqlite", l.path, "--json"), &parked)
	require.Len(t, parked.Notifications, 1)
	id := parked.Notifications[0].ID
	assert.Equal(t, l.ids["ev_p"], id)

	var before balancesDoc
	ok(t, runCmd(t, "balances", "--sqlite", l.path, "--account", "acct-p", "--json"), &before)
	assert.Empty(t, before.Balances)

	fake := []payments.Gateway{l.fake}
	var attributed struct {
		Outcome  payments.Outcome `json:"outcome"`
		Entries  []entryView      `json:"entries"`
		Balances []balanceView    `json:"balances"`
	}
	// Flags after the id, as an operator types them.
	ok(t, runWith(t, nil, fake, "attribute", id, "--sqlite", l.path, "--account", "acct-p", "--reference", "order:42:k3j2h1", "--json"), &attributed)
	assert.Equal(t, payments.OutcomeRecorded, attributed.Outcome)
	require.Len(t, attributed.Entries, 1)
	assert.Equal(t, "order:42:k3j2h1", attributed.Entries[0].Reference)
	require.Len(t, attributed.Balances, 1)
	assert.Equal(t, int64(700), attributed.Balances[0].AmountMinor)

	var after balancesDoc
	ok(t, runCmd(t, "balances", "--sqlite", l.path, "--account", "acct-p", "--json"), &after)
	require.Len(t, after.Balances, 1)
	assert.Equal(t, "USD", after.Balances[0].Currency)
	assert.Equal(t, "7.00", after.Balances[0].Amount)
	ok(t, runCmd(t, "parked", "--sqlite", l.path, "--json"), &parked)
	assert.Empty(t, parked.Notifications, "attributed money is no longer waiting")

	again := runWith(t, nil, fake, "attribute", "--sqlite", l.path, "--account", "acct-p", id)
	ok(t, again, nil)
	assert.Contains(t, again.stdout, "duplicate")
	assert.Contains(t, again.stdout, "7.00", "the table shows the balance")

	other := runWith(t, nil, fake, "attribute", "--sqlite", l.path, "--account", "acct-q", id)
	assert.Equal(t, exitRefused, other.code, "money that is someone's is not moved: %s", other.stderr)
	ok(t, runCmd(t, "balances", "--sqlite", l.path, "--account", "acct-q", "--json"), &after)
	assert.Empty(t, after.Balances)
}

func TestAttributeAndReplayNeedTheDriver(t *testing.T) {
	l := newLedger(t)
	for _, args := range [][]string{
		{"attribute", l.ids["ev_p"], "--account", "acct-p", "--sqlite", l.path},
		{"replay", l.ids["ev_p"], "--sqlite", l.path},
	} {
		r := runCmd(t, args...)
		assert.Equal(t, exitRefused, r.code, args)
		assert.Contains(t, r.stderr, `gateway "fake"`, "the error names the missing driver")
	}
	var b balancesDoc
	ok(t, runCmd(t, "balances", "--sqlite", l.path, "--account", "acct-p", "--json"), &b)
	assert.Empty(t, b.Balances)
}

func TestReplay(t *testing.T) {
	l := newLedger(t)
	var res struct {
		Outcome      payments.Outcome `json:"outcome"`
		Notification notificationView `json:"notification"`
		Duplicates   []entryView      `json:"duplicates"`
	}
	ok(t, runWith(t, nil, []payments.Gateway{l.fake}, "replay", l.ids["ev_a"], "--sqlite", l.path, "--json"), &res)
	assert.Equal(t, payments.OutcomeDuplicate, res.Outcome)
	assert.Equal(t, l.ids["ev_a"], res.Notification.ReplayOf)
	assert.Len(t, res.Duplicates, 1)

	r := runWith(t, nil, []payments.Gateway{l.fake}, "replay", l.ids["ev_x"], "--sqlite", l.path)
	assert.Equal(t, exitRefused, r.code, "a notification that did not verify is not replayed: %s", r.stderr)
}

func TestJournalFilters(t *testing.T) {
	l := newLedger(t)
	at := func(day int) string { return day0.Add(time.Duration(day) * 24 * time.Hour).Format(time.RFC3339) }
	all := []string{"ev_i", "ev_x", "ev_p", "ev_r", "ev_b", "ev_a"} // newest first
	for _, tc := range []struct {
		name string
		args []string
		want []string
	}{
		{"all", nil, all},
		{"gateway", []string{"--gateway", "fake"}, all},
		{"other gateway", []string{"--gateway", "stripe"}, []string{}},
		{"rejected", []string{"--outcome", "rejected"}, []string{"ev_x"}},
		{"recorded", []string{"--outcome", "recorded"}, []string{"ev_r", "ev_b", "ev_a"}},
		{"unresolved parked", []string{"--outcome", "parked", "--unresolved"}, []string{"ev_p"}},
		{"since", []string{"--since", at(3)}, []string{"ev_i", "ev_x", "ev_p"}},
		{"until", []string{"--until", at(2)}, []string{"ev_b", "ev_a"}},
		{"window", []string{"--since", at(1), "--until", at(4)}, []string{"ev_p", "ev_r", "ev_b"}},
		{"date", []string{"--until", day0.Add(24 * time.Hour).Format(time.DateOnly)}, []string{"ev_a"}},
		{"window and outcome", []string{"--since", at(1), "--until", at(5), "--outcome", "recorded"}, []string{"ev_r", "ev_b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var page journalPage
			ok(t, runCmd(t, append([]string{"journal", "--sqlite", l.path, "--json"}, tc.args...)...), &page)
			assert.Equal(t, tc.want, l.events(page.Notifications))
			assert.Empty(t, page.Next)
		})
	}

	t.Run("pages", func(t *testing.T) {
		var got []string
		after := ""
		for range len(all) {
			var page journalPage
			ok(t, runCmd(t, "journal", "--sqlite", l.path, "--json", "--limit", "4", "--until", at(5), "--after", after), &page)
			got = append(got, l.events(page.Notifications)...)
			if after = page.Next; after == "" {
				break
			}
		}
		assert.Equal(t, all[1:], got, "every row before --until once, in order, across pages")
	})

	t.Run("table", func(t *testing.T) {
		r := runCmd(t, "journal", "--sqlite", l.path, "--limit", "2")
		ok(t, r, nil)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		require.Len(t, lines, 3, r.stdout)
		assert.Regexp(t, `^ID\s+RECEIVED\s+GATEWAY\s+OUTCOME`, lines[0])
		assert.Contains(t, lines[1], l.ids["ev_i"])
		assert.Contains(t, r.stderr, "more: --after ")
	})
}

func TestJournalShow(t *testing.T) {
	l := newLedger(t)
	r := runCmd(t, "journal", "show", l.ids["ev_x"], "--sqlite", l.path)
	ok(t, r, nil)
	assert.Contains(t, r.stdout, "verified:")
	assert.Contains(t, r.stdout, fmt.Sprintf("body: the first %d of", payments.UnverifiedBodyPrefix))
	assert.Contains(t, r.stdout, "keeps only a prefix")

	var doc struct {
		Notification notificationView `json:"notification"`
		Header       map[string][]string
		Body         string `json:"body"`
		BodyLen      int64  `json:"body_len"`
		Truncated    bool   `json:"truncated"`
	}
	ok(t, runCmd(t, "journal", "show", "--json", "--sqlite", l.path, l.ids["ev_x"]), &doc)
	assert.True(t, doc.Truncated)
	assert.Greater(t, doc.BodyLen, int64(payments.UnverifiedBodyPrefix))
	assert.Len(t, doc.Body, payments.UnverifiedBodyPrefix)
	assert.Equal(t, payments.OutcomeRejected, payments.Outcome(doc.Notification.Outcome))

	// A verified body comes whole and raw, after the headers the driver keeps.
	r = runCmd(t, "journal", "show", "--sqlite", l.path, l.ids["ev_a"])
	ok(t, r, nil)
	assert.Contains(t, r.stdout, "header "+gatewaytest.SignatureHeader+":")
	body := l.fake.Request(seeded[0].ev, time.Now()).Body
	assert.True(t, strings.HasSuffix(r.stdout, "\n\n"+string(body)), r.stdout)
}

func TestExitCodes(t *testing.T) {
	l := newLedger(t)
	missing := filepath.Join(t.TempDir(), "typo.db")
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want int
		says string
	}{
		{"help", nil, []string{"help"}, exitOK, ""},
		{"command help", nil, []string{"journal", "show", "-h"}, exitOK, ""},
		{"no command", nil, nil, exitUsage, ""},
		{"unknown command", nil, []string{"reconcil"}, exitUsage, `unknown command "reconcil"`},
		{"bad flag", nil, []string{"journal", "--sqlite", l.path, "--bogus"}, exitUsage, "-bogus"},
		{"bad outcome", nil, []string{"journal", "--sqlite", l.path, "--outcome", "lost"}, exitUsage, "--outcome"},
		{"bad time", nil, []string{"journal", "--sqlite", l.path, "--since", "yesterday"}, exitUsage, "RFC 3339"},
		{"bad cursor", nil, []string{"journal", "--sqlite", l.path, "--after", "garbage"}, exitUsage, ""},
		{"missing argument", nil, []string{"journal", "show", "--sqlite", l.path}, exitUsage, "want 1 argument"},
		{"extra argument", nil, []string{"parked", "--sqlite", l.path, "x"}, exitUsage, "unexpected argument"},
		{"no account", nil, []string{"attribute", l.ids["ev_p"], "--sqlite", l.path}, exitUsage, "--account"},
		{"balances need an account", nil, []string{"balances", "--sqlite", l.path}, exitUsage, "cannot list"},
		{"two stores", nil, []string{"parked", "--sqlite", l.path, "--postgres", "postgres://x"}, exitUsage, "two stores"},
		{"no store", map[string]string{}, []string{"parked"}, exitUsage, "no store"},
		{"missing store", nil, []string{"parked", "--sqlite", missing}, exitNotFound, "payments migrate"},
		{"store from the environment", map[string]string{"SQLITE_PATH": l.path}, []string{"parked"}, exitOK, ""},
		{"unknown notification", nil, []string{"journal", "show", "ntf_nope", "--sqlite", l.path}, exitNotFound, "not found"},
		{"unknown attribution", nil, []string{"attribute", "ntf_nope", "--account", "a", "--sqlite", l.path}, exitNotFound, "not found"},
		{"unknown sync task", nil, []string{"sync", "requeue", "ent_nope", "--sqlite", l.path}, exitNotFound, "not found"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			env := tc.env
			if env == nil {
				// As run does, but with DATABASE_URL and SQLITE_PATH unset
				// whatever the machine has.
				env = map[string]string{}
			}
			r := runWith(t, env, nil, tc.args...)
			assert.Equal(t, tc.want, r.code, "stdout: %s\nstderr: %s", r.stdout, r.stderr)
			assert.Contains(t, r.stderr, tc.says)
		})
	}
	assert.NoFileExists(t, missing, "a typo does not leave an empty ledger behind")
}

// failing is a BalanceService that refuses everything for good, so that the
// entries it is given are parked.
var failing = payments.BalanceFunc(func(context.Context, payments.Entry) error {
	return payments.Permanent(errors.New("no such user"))
})

func TestSyncParkedAndRequeue(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payments.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	fake := gatewaytest.NewFake(fakeSecret)
	svc, err := payments.New(store, payments.WithGateway(fake), payments.WithBalanceService(failing))
	require.NoError(t, err)
	res, err := svc.HandleWebhook(t.Context(), "fake", fake.Request(seeded[0].ev, time.Now()))
	require.NoError(t, err)
	require.Len(t, res.Recorded.Entries, 1)
	entry := res.Recorded.Entries[0].ID
	require.NoError(t, store.Close())

	type tasks struct {
		SyncTasks []syncTaskView `json:"sync_tasks"`
	}
	var parked tasks
	ok(t, runCmd(t, "sync", "--sqlite", path, "--json"), &parked)
	require.Len(t, parked.SyncTasks, 1)
	assert.Equal(t, entry, parked.SyncTasks[0].Entry.ID)
	assert.Contains(t, parked.SyncTasks[0].LastError, "no such user")

	r := runCmd(t, "sync", "requeue", entry, "--sqlite", path)
	ok(t, r, nil)
	assert.Contains(t, r.stdout, "pending")
	ok(t, runCmd(t, "sync", "--sqlite", path, "--json"), &parked)
	assert.Empty(t, parked.SyncTasks)
	var pending tasks
	ok(t, runCmd(t, "sync", "--state", "pending", "--sqlite", path, "--json"), &pending)
	assert.Len(t, pending.SyncTasks, 1)

	r = runCmd(t, "sync", "requeue", entry, "--sqlite", path)
	assert.Equal(t, exitRefused, r.code, "a task that is not parked: %s", r.stderr)
}

func TestMigrateAndPrune(t *testing.T) {
	fresh := filepath.Join(t.TempDir(), "new.db")
	var m struct {
		Store   string `json:"store"`
		Version int    `json:"schema_version"`
	}
	ok(t, runCmd(t, "migrate", "--sqlite", fresh, "--json"), &m)
	all, err := sqlite.Migrations("")
	require.NoError(t, err)
	assert.Equal(t, "sqlite", m.Store)
	assert.Equal(t, all[len(all)-1].Version, m.Version)
	var page journalPage
	ok(t, runCmd(t, "journal", "--sqlite", fresh, "--json"), &page)
	assert.Empty(t, page.Notifications)

	l := newLedger(t)
	var pruned struct {
		DryRun bool `json:"dry_run"`
		Rows   int  `json:"rows"`
	}
	ok(t, runCmd(t, "prune", "--dry-run", "--sqlite", l.path, "--json"), &pruned)
	assert.Equal(t, 2, pruned.Rows, "the rejected and the ignored row are past the default retention")
	ok(t, runCmd(t, "journal", "--sqlite", l.path, "--json"), &page)
	assert.Len(t, page.Notifications, len(seeded), "a dry run deletes nothing")

	ok(t, runCmd(t, "prune", "--sqlite", l.path, "--json"), &pruned)
	assert.Equal(t, 2, pruned.Rows)
	ok(t, runCmd(t, "journal", "--sqlite", l.path, "--json"), &page)
	assert.Equal(t, []string{"ev_p", "ev_r", "ev_b", "ev_a"}, l.events(page.Notifications), "money and parked money stay")
}
