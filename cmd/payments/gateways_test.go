package main

import (
	"fmt"
	"maps"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/gatewayenv"
	"github.com/payrail/payments/store/sqlite"
)

// stripeHost is the Stripe part of a host's environment: the signing
// secret the notifications below are signed with, after the one it
// rotated from.
var stripeHost = map[string]string{"STRIPE_ENABLED": "true", "STRIPE_SECRET_KEY": "sk_test_cmd_env",
	"STRIPE_WEBHOOK_SECRET": "whsec_rotated_out,whsec_cmd_env"}

// stripeRequest is a payment_intent.succeeded as Stripe delivers it, signed
// with whsec_cmd_env; metadata names the account, or not.
func stripeRequest(eventID, intentID string, amount int, metadata string) *payments.WebhookRequest {
	body := []byte(fmt.Sprintf(`{"id": %q, "object": "event", "api_version": "2023-10-16", "created": 1703175362,
	  "type": "payment_intent.succeeded", "data": {"object": {"id": %q, "object": "payment_intent",
	  "amount": %d, "amount_received": %d, "currency": "usd", "status": "succeeded",
	  "metadata": %s}}}`, eventID, intentID, amount, amount, metadata))
	signed := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: body, Secret: "whsec_cmd_env", Timestamp: time.Now()})
	return &payments.WebhookRequest{Header: http.Header{"Stripe-Signature": {signed.Header}}, Body: body,
		RemoteAddr: "203.0.113.7:443", ReceivedAt: time.Now()}
}

// TestAttributeWithTheHostsEnvironment journals Stripe notifications as a
// host configured from its environment does, then attributes and replays
// them with the command configured by that environment alone: the store
// from SQLITE_PATH, the driver, which checks the journaled signature again,
// from the STRIPE_* variables.
func TestAttributeWithTheHostsEnvironment(t *testing.T) {
	path := filepath.Join(t.TempDir(), "payments.db")
	store, err := sqlite.Open(t.Context(), path, sqlite.Options{})
	require.NoError(t, err)
	hostDrivers, err := gatewayenv.FromEnv(func(k string) string { return stripeHost[k] }, nil)
	require.NoError(t, err)
	host, err := payments.New(store, payments.WithGateway(hostDrivers...))
	require.NoError(t, err)
	res, err := host.HandleWebhook(t.Context(), "stripe", stripeRequest("evt_cmd_1", "pi_cmd_1", 2000, `{}`))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeParked, res.Notification.Outcome, "money naming no account")
	parked := res.Notification.ID
	res, err = host.HandleWebhook(t.Context(), "stripe", stripeRequest("evt_cmd_2", "pi_cmd_2", 500, `{"payments_account": "acct-r"}`))
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	recorded := res.Notification.ID
	require.NoError(t, store.Close())

	env := func(vars map[string]string) map[string]string {
		out := map[string]string{"SQLITE_PATH": path}
		maps.Copy(out, vars)
		return out
	}

	t.Run("not configured", func(t *testing.T) {
		for _, vars := range []map[string]string{{}, {"STRIPE_ENABLED": "false", "STRIPE_WEBHOOK_SECRET": "whsec_cmd_env"}} {
			for _, args := range [][]string{{"attribute", parked, "--account", "acct-s"}, {"replay", recorded}} {
				r := runWith(t, env(vars), nil, args...)
				assert.Equal(t, exitRefused, r.code, "%v: %s", args, r.stderr)
				assert.Contains(t, r.stderr, `gateway "stripe"`)
				assert.Contains(t, r.stderr, "STRIPE_ENABLED", "the error names the variable to set")
			}
		}
	})

	t.Run("misconfigured", func(t *testing.T) {
		broken := maps.Clone(stripeHost)
		delete(broken, "STRIPE_SECRET_KEY")
		broken["STRIPE_WEBHOOK_SECRET"] = "whsec_cmd_env"
		r := runWith(t, env(broken), nil, "attribute", parked, "--account", "acct-s")
		assert.Equal(t, exitUsage, r.code, r.stderr)
		assert.Contains(t, r.stderr, "STRIPE_SECRET_KEY is empty")
		assert.NotContains(t, r.stderr, "whsec_cmd_env", "no secret is echoed")
	})

	t.Run("another secret", func(t *testing.T) {
		other := maps.Clone(stripeHost)
		other["STRIPE_WEBHOOK_SECRET"] = "whsec_someone_else"
		r := runWith(t, env(other), nil, "attribute", parked, "--account", "acct-s")
		assert.Equal(t, exitRefused, r.code, "the driver checks the journaled signature again: %s", r.stderr)
	})

	var b balancesDoc
	ok(t, runWith(t, env(nil), nil, "balances", "--account", "acct-s", "--json"), &b)
	require.Empty(t, b.Balances, "nothing refused above moved money")

	// The host's whole environment, with gateways the command has no use for
	// configured in ways only the host's machine makes work.
	vars := env(stripeHost)
	vars["APPSTORE_ENABLED"] = "true"
	vars["APPSTORE_BUNDLE_ID"] = "com.example.app"
	vars["APPSTORE_APP_APPLE_ID"] = "1234567890"
	vars["APPSTORE_ISSUER_ID"], vars["APPSTORE_KEY_ID"] = "57246542-96fe-1a63-e053-0824d011072a", "2X9R4HXF34"
	vars["APPSTORE_PRIVATE_KEY_PATH"] = "/run/secrets/only-on-the-host.p8"

	var attributed struct {
		Outcome  payments.Outcome `json:"outcome"`
		Entries  []entryView      `json:"entries"`
		Balances []balanceView    `json:"balances"`
	}
	ok(t, runWith(t, vars, nil, "attribute", parked, "--account", "acct-s", "--json"), &attributed)
	assert.Equal(t, payments.OutcomeRecorded, attributed.Outcome)
	require.Len(t, attributed.Entries, 1)
	assert.Equal(t, "acct-s", attributed.Entries[0].Account)
	require.Len(t, attributed.Balances, 1)
	assert.Equal(t, "20.00", attributed.Balances[0].Amount)
	assert.Equal(t, "USD", attributed.Balances[0].Currency)

	var parkedPage journalPage
	ok(t, runWith(t, vars, nil, "parked", "--json"), &parkedPage)
	assert.Empty(t, parkedPage.Notifications, "attributed money is no longer waiting")

	var replayed struct {
		Outcome    payments.Outcome `json:"outcome"`
		Duplicates []entryView      `json:"duplicates"`
	}
	ok(t, runWith(t, vars, nil, "replay", recorded, "--json"), &replayed)
	assert.Equal(t, payments.OutcomeDuplicate, replayed.Outcome, "recorded once, however often it is replayed")
	assert.Len(t, replayed.Duplicates, 1)
}
