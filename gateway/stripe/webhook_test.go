package stripe_test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/stripe"
)

func TestNewValidatesConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  stripe.Config
	}{
		{"no webhook secret", stripe.Config{SecretKey: "sk_test_123"}},
		{"blank webhook secret", stripe.Config{WebhookSecrets: []string{testSecret, " "}}},
		{"API key as webhook secret", stripe.Config{WebhookSecrets: []string{"sk_test_123"}}},
		{"publishable key", stripe.Config{SecretKey: "pk_test_123", WebhookSecrets: []string{testSecret}}},
		{"negative tolerance", stripe.Config{WebhookSecrets: []string{testSecret}, Tolerance: -time.Second}},
		{"CaptureAfterReview without a key", stripe.Config{WebhookSecrets: []string{testSecret}, CaptureAfterReview: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stripe.New(tt.cfg)
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.Regexp(t, "^stripe: ", err.Error())
			assert.NotContains(t, err.Error(), "_test_123", "errors never echo a key")
		})
	}
	g, err := stripe.New(stripe.Config{WebhookSecrets: []string{testSecret}})
	require.NoError(t, err)
	assert.Equal(t, "stripe", g.Name())
	assert.Equal(t, []string{"Stripe-Signature"}, g.WebhookHeaders())
}

func TestSignatureVerification(t *testing.T) {
	body := fixture(t, "payment_intent.succeeded")
	now := time.Now()
	g := newGateway(t)
	tests := []struct {
		name string
		req  *payments.WebhookRequest
	}{
		{"no header", &payments.WebhookRequest{Header: http.Header{}, Body: body}},
		{"nil header", &payments.WebhookRequest{Body: body}},
		{"wrong secret", signed(body, otherSecret, now)},
		{"stale", signed(body, testSecret, now.Add(-stripe.DefaultTolerance-time.Minute))},
		{"signed in the future", signed(body, testSecret, now.Add(stripe.DefaultTolerance+time.Minute))},
		{"tampered", func() *payments.WebhookRequest {
			r := signed(body, testSecret, now)
			r.Body = bytes.Replace(body, []byte(`"amount_received": 2500`), []byte(`"amount_received": 250000`), 1)
			require.NotEqual(t, body, r.Body)
			return r
		}()},
		{"no timestamp", header(fmt.Sprintf("v1=%x", webhook.ComputeSignature(now, body, testSecret)), body)},
		{"malformed header", header("t=now,v1=zz", body)},
		{"v0 signature only", header(fmt.Sprintf("t=%d,v0=%x", now.Unix(), webhook.ComputeSignature(now, body, testSecret)), body)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), tt.req)
			require.ErrorIs(t, err, payments.ErrUnauthenticated)
			assert.Regexp(t, "^stripe: ", err.Error())
			assert.NotContains(t, err.Error(), testSecret)
		})
	}
	t.Run("valid", func(t *testing.T) {
		_, err := g.ParseWebhook(t.Context(), signed(body, testSecret, now))
		require.NoError(t, err)
	})
	t.Run("custom tolerance", func(t *testing.T) {
		strict := newGateway(t, func(c *stripe.Config) { c.Tolerance = 10 * time.Second })
		_, err := strict.ParseWebhook(t.Context(), signed(body, testSecret, now.Add(-time.Minute)))
		require.ErrorIs(t, err, payments.ErrUnauthenticated)
	})
}

func header(value string, body []byte) *payments.WebhookRequest {
	return &payments.WebhookRequest{Header: http.Header{stripe.SignatureHeader: {value}}, Body: body}
}

// TestSecretRotation covers the two ways a rotation shows: the host lists
// both secrets while endpoints move over, and Stripe signs with the old and
// the new secret in one header while an endpoint's secret is being rolled.
func TestSecretRotation(t *testing.T) {
	body := fixture(t, "payment_intent.succeeded")
	now := time.Now()
	g := newGateway(t, func(c *stripe.Config) { c.WebhookSecrets = []string{otherSecret, testSecret} })
	for _, secret := range []string{testSecret, otherSecret} {
		_, err := g.ParseWebhook(t.Context(), signed(body, secret, now))
		require.NoError(t, err, "signed with %s", secret[:12])
	}
	_, err := g.ParseWebhook(t.Context(), signed(body, "whsec_retired", now))
	require.ErrorIs(t, err, payments.ErrUnauthenticated)

	both := fmt.Sprintf("t=%d,v1=%x,v1=%x", now.Unix(),
		webhook.ComputeSignature(now, body, "whsec_retired"), webhook.ComputeSignature(now, body, testSecret))
	_, err = newGateway(t).ParseWebhook(t.Context(), header(both, body))
	require.NoError(t, err, "one matching v1 signature among several verifies")
}

func TestReplaySkipsToleranceButNotSignature(t *testing.T) {
	body := fixture(t, "payment_intent.succeeded")
	g := newGateway(t)
	old := signed(body, testSecret, time.Now().Add(-30*24*time.Hour))
	_, err := g.ParseWebhook(t.Context(), old)
	require.ErrorIs(t, err, payments.ErrUnauthenticated)

	old.Replay = true
	c, err := g.ParseWebhook(t.Context(), old)
	require.NoError(t, err)
	assert.Len(t, c.Entries, 1)

	forged := signed(body, otherSecret, time.Now().Add(-30*24*time.Hour))
	forged.Replay = true
	_, err = g.ParseWebhook(t.Context(), forged)
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
}

func TestAPIVersionMismatch(t *testing.T) {
	body := edit(t, fixture(t, "payment_intent.succeeded"), func(ev map[string]any) { ev["api_version"] = "2024-06-20" })
	now := time.Now()

	_, err := newGateway(t).ParseWebhook(t.Context(), signed(body, testSecret, now))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	require.NotErrorIs(t, err, payments.ErrUnauthenticated)
	for _, want := range []string{"2024-06-20", "API version 2023-10-16", "webhook endpoint", "api_version=2023-10-16", "IgnoreAPIVersionMismatch"} {
		assert.Contains(t, err.Error(), want)
	}

	// An unauthenticated body never learns about versions.
	_, err = newGateway(t).ParseWebhook(t.Context(), signed(body, otherSecret, now))
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.NotContains(t, err.Error(), "version")

	lenient := newGateway(t, func(c *stripe.Config) { c.IgnoreAPIVersionMismatch = true })
	c, err := lenient.ParseWebhook(t.Context(), signed(body, testSecret, now))
	require.NoError(t, err)
	assert.Len(t, c.Entries, 1)

	noVersion := edit(t, body, func(ev map[string]any) { ev["api_version"] = nil })
	_, err = newGateway(t).ParseWebhook(t.Context(), signed(noVersion, testSecret, now))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Contains(t, err.Error(), "no API version")
}

func TestMalformedAuthenticBodies(t *testing.T) {
	succeeded := fixture(t, "payment_intent.succeeded")
	tests := map[string][]byte{
		"not json":          []byte(`{"id": "evt_1", `),
		"no type":           edit(t, succeeded, func(ev map[string]any) { delete(ev, "type") }),
		"no data.object":    edit(t, succeeded, func(ev map[string]any) { ev["data"] = map[string]any{} }),
		"object of a kind":  edit(t, succeeded, func(ev map[string]any) { object(ev)["object"] = "charge" }),
		"intent without id": edit(t, succeeded, func(ev map[string]any) { delete(object(ev), "id") }),
		"unknown currency":  edit(t, succeeded, func(ev map[string]any) { object(ev)["currency"] = "xyz" }),
		"negative amount":   edit(t, succeeded, func(ev map[string]any) { object(ev)["amount_received"] = -5 }),
		"amount as string":  edit(t, succeeded, func(ev map[string]any) { object(ev)["amount"] = "25.00" }),
		"ISK fraction":      edit(t, succeeded, func(ev map[string]any) { object(ev)["currency"] = "isk"; object(ev)["amount_received"] = 2550 }),
		"dispute without charge": edit(t, fixture(t, "charge.dispute.created"), func(ev map[string]any) {
			delete(object(ev), "charge")
			delete(object(ev), "payment_intent")
		}),
	}
	g := newGateway(t)
	for name, body := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
			require.ErrorIs(t, err, payments.ErrInvalidInput)
			assert.Regexp(t, "^stripe: ", err.Error())
		})
	}
}

func TestModeMismatch(t *testing.T) {
	body := fixture(t, "payment_intent.succeeded") // livemode false
	live := newGateway(t, func(c *stripe.Config) { c.SecretKey = "sk_live_123" })
	_, err := live.ParseWebhook(t.Context(), signed(body, testSecret, time.Now()))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	assert.Contains(t, err.Error(), "is from test mode but the gateway's key is for live mode")

	liveBody := edit(t, body, func(ev map[string]any) { ev["livemode"] = true })
	_, err = live.ParseWebhook(t.Context(), signed(liveBody, testSecret, time.Now()))
	require.NoError(t, err)
	test := newGateway(t, func(c *stripe.Config) { c.SecretKey = "rk_test_123" })
	_, err = test.ParseWebhook(t.Context(), signed(liveBody, testSecret, time.Now()))
	require.ErrorIs(t, err, payments.ErrInvalidInput)
	_, err = newGateway(t).ParseWebhook(t.Context(), signed(liveBody, testSecret, time.Now()))
	require.NoError(t, err, "a webhook-only Gateway does not know its mode")
}
