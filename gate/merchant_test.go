package gate_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

func TestTokensRotateAndRevoke(t *testing.T) {
	e := newEnv(t, nil)
	ctx := t.Context()
	m, err := e.merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	oldID := m.Tokens[0].ID
	assert.NotContains(t, oldID, e.token, "the token itself is not kept")

	fresh, freshID, err := gate.IssueToken(ctx, e.merchants, "m1", time.Now())
	require.NoError(t, err)
	assert.NotEqual(t, oldID, freshID)
	ok := func(token, id string) int {
		return e.init(token, body(func(b map[string]any) { b["id"] = id })).code
	}
	assert.Equal(t, http.StatusOK, ok(e.token, "a"), "the old token works during the rotation")
	assert.Equal(t, http.StatusOK, ok(fresh, "b"))

	require.NoError(t, e.merchants.RevokeToken(ctx, "m1", oldID, time.Now()))
	assert.Equal(t, http.StatusUnauthorized, ok(e.token, "c"), "a revoked token fails")
	assert.Equal(t, http.StatusOK, ok(fresh, "d"))
	assert.ErrorIs(t, e.merchants.RevokeToken(ctx, "m1", "tok_nope", time.Now()), payments.ErrNotFound)

	m, err = e.merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	m.DisabledAt = time.Now()
	require.NoError(t, e.merchants.SaveMerchant(ctx, m))
	assert.Equal(t, http.StatusUnauthorized, ok(fresh, "e"), "a disabled merchant is refused")
}

func TestMerchantStoreRefusesAnotherMerchantsToken(t *testing.T) {
	s := gate.NewMemoryMerchants()
	_, tok, err := gate.NewToken(time.Now())
	require.NoError(t, err)
	require.NoError(t, s.SaveMerchant(t.Context(), &gate.Merchant{ID: "a", Tokens: []gate.Token{tok}}))
	assert.ErrorIs(t, s.SaveMerchant(t.Context(), &gate.Merchant{ID: "b", Tokens: []gate.Token{tok}}), payments.ErrConflict)
	assert.ErrorIs(t, s.AddToken(t.Context(), "a", tok), payments.ErrConflict)
}
