package googleplay_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/api/idtoken"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gateway/googleplay"
)

// TestPushAuthentication: a push is authenticated by its token alone, and
// every claim Pub/Sub signs is checked
// (https://cloud.google.com/pubsub/docs/authenticate-push-subscriptions).
func TestPushAuthentication(t *testing.T) {
	api, keys := newFakePlay(t), newKeysServer(t)
	g := newGateway(t, api, keys)
	body := envelope(readFixture(t, "rtdn_test.json"))
	now := time.Now()
	with := func(edit func(map[string]any)) string {
		c := claims(now)
		edit(c)
		return signToken(googleKey(), c)
	}
	valid := signToken(googleKey(), claims(now))
	tests := []struct {
		name   string
		header http.Header
	}{
		{"no header", http.Header{}},
		{"nil header", nil},
		{"basic scheme", http.Header{"Authorization": {"Basic " + valid}}},
		{"bearer without token", http.Header{"Authorization": {"Bearer "}}},
		{"not a JWT", http.Header{"Authorization": {"Bearer not.a.jwt"}}},
		{"signed with another key", http.Header{"Authorization": {"Bearer " + signToken(otherKey(), claims(now))}}},
		{"signature cut", http.Header{"Authorization": {"Bearer " + valid[:strings.LastIndex(valid, ".")+5]}}},
		{"expired", http.Header{"Authorization": {"Bearer " + signToken(googleKey(), claims(now.Add(-61*time.Minute)))}}},
		{"issued in the future", http.Header{"Authorization": {"Bearer " + signToken(googleKey(), claims(now.Add(googleplay.ClockSkew+time.Minute)))}}},
		{"no issue time", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { delete(c, "iat") })}}},
		{"another audience", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { c["aud"] = "https://elsewhere.example/push" })}}},
		{"another issuer", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { c["iss"] = "https://issuer.example" })}}},
		{"another service account", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { c["email"] = "attacker@evil.iam.gserviceaccount.com" })}}},
		{"no email", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { delete(c, "email") })}}},
		{"email not verified", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { c["email_verified"] = false })}}},
		{"email_verified as a string", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { c["email_verified"] = "true" })}}},
		{"no email_verified", http.Header{"Authorization": {"Bearer " + with(func(c map[string]any) { delete(c, "email_verified") })}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Header: tt.header, Body: body})
			require.ErrorIs(t, err, payments.ErrUnauthenticated)
			assert.Regexp(t, "^googleplay: ", err.Error())
			assert.NotContains(t, err.Error(), valid[:40], "errors never echo the token")
		})
	}
	for name, edit := range map[string]func(map[string]any){
		"valid":                  func(map[string]any) {},
		"issuer without scheme":  func(c map[string]any) { c["iss"] = "accounts.google.com" },
		"email in another case":  func(c map[string]any) { c["email"] = strings.ToUpper(pushEmail) },
		"issued within the skew": func(c map[string]any) { c["iat"] = now.Add(googleplay.ClockSkew - time.Minute).Unix() },
		"an hour old, not yet stale": func(c map[string]any) {
			c["iat"], c["exp"] = now.Add(-59*time.Minute).Unix(), now.Add(time.Minute).Unix()
		},
	} {
		t.Run(name, func(t *testing.T) {
			c, err := g.ParseWebhook(t.Context(), push(body, with(edit)))
			require.NoError(t, err)
			assert.Equal(t, "testNotification", c.EventType)
		})
	}
	t.Run("a replay is not asked for the token the journal never keeps", func(t *testing.T) {
		c, err := g.ParseWebhook(t.Context(), &payments.WebhookRequest{Body: body, Replay: true})
		require.NoError(t, err)
		assert.Equal(t, "testNotification", c.EventType)
	})
	assert.Equal(t, int64(1), keys.fetches.Load(), "Google's keys are fetched once and cached")
}

// TestKeysOutOfReach: a token that cannot be checked because Google's keys
// cannot be fetched is not a forged one: the webhook fails with 500, so that
// Pub/Sub delivers it again, and is journaled as failed, not as rejected.
func TestKeysOutOfReach(t *testing.T) {
	w := newWorld(t)
	w.keys.down.Store(true)
	token, _ := w.api.purchase("coins_100", "acct_keys")
	res, err := w.deliver(t, oneTimePurchased("coins_100", token))
	require.Error(t, err)
	assert.NotErrorIs(t, err, payments.ErrUnauthenticated)
	assert.Equal(t, http.StatusInternalServerError, res.Reply.Status)
	assert.Equal(t, payments.OutcomeFailed, res.Notification.Outcome)

	w.keys.down.Store(false)
	res, err = w.deliver(t, oneTimePurchased("coins_100", token))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome)
	assert.Equal(t, int64(99), w.balance(t, "acct_keys"))
}

// fixedValidator is an injected TokenValidator: a host's own, or a test's.
type fixedValidator struct {
	payload *idtoken.Payload
	err     error
	asked   []string
}

func (v *fixedValidator) Validate(ctx context.Context, token, audience string) (*idtoken.Payload, error) {
	v.asked = append(v.asked, audience)
	return v.payload, v.err
}

// TestInjectedValidator: Config.TokenValidator replaces idtoken's, and the
// driver still checks the claims it returns.
func TestInjectedValidator(t *testing.T) {
	api, keys := newFakePlay(t), newKeysServer(t)
	v := &fixedValidator{payload: &idtoken.Payload{Issuer: "https://accounts.google.com", Audience: pushAudience,
		IssuedAt: time.Now().Unix(), Expires: time.Now().Add(time.Hour).Unix(),
		Claims: map[string]any{"email": pushEmail, "email_verified": true}}}
	g := newGateway(t, api, keys, func(c *googleplay.Config) { c.TokenValidator = v })
	body := envelope(readFixture(t, "rtdn_test.json"))

	_, err := g.ParseWebhook(t.Context(), push(body, "opaque-token"))
	require.NoError(t, err)
	assert.Equal(t, []string{pushAudience}, v.asked, "the validator checks the audience")

	v.payload.Claims["email"] = "someone@else.iam.gserviceaccount.com"
	_, err = g.ParseWebhook(t.Context(), push(body, "opaque-token"))
	require.ErrorIs(t, err, payments.ErrUnauthenticated, "claims are checked whatever validated the signature")

	v.err = errors.New("idtoken: token expired")
	_, err = g.ParseWebhook(t.Context(), push(body, "opaque-token"))
	require.ErrorIs(t, err, payments.ErrUnauthenticated)
	assert.Zero(t, keys.fetches.Load(), "the default validator is not used")
}
