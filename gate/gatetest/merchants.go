package gatetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

func merchantTests() []namedTest {
	return []namedTest{
		{"SaveAndRead", testSaveAndRead},
		{"SaveReplaces", testSaveReplaces},
		{"TokenOfAnotherMerchant", testTokenOfAnotherMerchant},
		{"AddAndRevokeToken", testAddAndRevokeToken},
		{"ConcurrentAddToken", testConcurrentAddToken},
	}
}

func merchant(id string, tokens ...string) *gate.Merchant {
	m := &gate.Merchant{ID: id, Name: "Shop " + id, Gateways: []string{"fake", "fake2"},
		PostbackSecrets: []string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, CreatedAt: epoch}
	for i, tok := range tokens {
		m.Tokens = append(m.Tokens, gate.Token{ID: fmt.Sprintf("tok_%s_%d", id, i), Hash: hashOf(tok), CreatedAt: epoch})
	}
	return m
}

func assertMerchant(t *testing.T, want, got *gate.Merchant) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Name, got.Name)
	assert.Equal(t, want.Gateways, got.Gateways, "gateways in order")
	assert.Equal(t, want.PostbackSecrets, got.PostbackSecrets)
	assert.True(t, sameInstant(want.CreatedAt, got.CreatedAt), "created at")
	assert.Equal(t, want.DisabledAt.IsZero(), got.DisabledAt.IsZero(), "disabled")
	if !want.DisabledAt.IsZero() {
		assert.True(t, sameInstant(want.DisabledAt, got.DisabledAt), "disabled at")
	}
	require.Len(t, got.Tokens, len(want.Tokens))
	for i := range want.Tokens {
		assert.Equal(t, want.Tokens[i].ID, got.Tokens[i].ID, "tokens in order")
		assert.Equal(t, want.Tokens[i].Hash, got.Tokens[i].Hash)
		assert.True(t, sameInstant(want.Tokens[i].CreatedAt, got.Tokens[i].CreatedAt))
		assert.Equal(t, want.Tokens[i].RevokedAt.IsZero(), got.Tokens[i].RevokedAt.IsZero())
	}
}

func testSaveAndRead(t *testing.T, s Stores) {
	ctx := t.Context()
	m := merchant("m1", "gtk_one", "gtk_two")
	m.DisabledAt = epoch.Add(time.Hour)
	require.NoError(t, s.Merchants.SaveMerchant(ctx, m))
	got, err := s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	assertMerchant(t, m, got)
	byHash, err := s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_two"))
	require.NoError(t, err)
	assertMerchant(t, m, byHash)

	_, err = s.Merchants.Merchant(ctx, "nobody")
	assert.ErrorIs(t, err, payments.ErrNotFound)
	_, err = s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_three"))
	assert.ErrorIs(t, err, payments.ErrNotFound)
	assert.Error(t, s.Merchants.SaveMerchant(ctx, &gate.Merchant{}), "a merchant needs an id")
}

// Saving again replaces the merchant, its tokens included: a dropped
// token no longer finds it.
func testSaveReplaces(t *testing.T, s Stores) {
	ctx := t.Context()
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m1", "gtk_old")))
	m := merchant("m1")
	m.Name, m.Gateways = "Renamed", []string{"fake2"}
	m.Tokens = []gate.Token{{ID: "tok_new", Hash: hashOf("gtk_new"), CreatedAt: epoch}}
	require.NoError(t, s.Merchants.SaveMerchant(ctx, m))
	got, err := s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	assertMerchant(t, m, got)
	_, err = s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_old"))
	assert.ErrorIs(t, err, payments.ErrNotFound)
	_, err = s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_new"))
	assert.NoError(t, err)
}

func testTokenOfAnotherMerchant(t *testing.T, s Stores) {
	ctx := t.Context()
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m1", "gtk_shared")))
	assert.ErrorIs(t, s.Merchants.SaveMerchant(ctx, merchant("m2", "gtk_shared")), payments.ErrConflict)
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m2")))
	assert.ErrorIs(t, s.Merchants.AddToken(ctx, "m2", gate.Token{ID: "tok_x", Hash: hashOf("gtk_shared"), CreatedAt: epoch}),
		payments.ErrConflict)
	got, err := s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_shared"))
	require.NoError(t, err)
	assert.Equal(t, "m1", got.ID, "a refused save changes nothing")
}

func testAddAndRevokeToken(t *testing.T, s Stores) {
	ctx := t.Context()
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m1", "gtk_a")))
	tok := gate.Token{ID: "tok_b", Hash: hashOf("gtk_b"), CreatedAt: epoch.Add(time.Minute)}
	require.NoError(t, s.Merchants.AddToken(ctx, "m1", tok))
	assert.ErrorIs(t, s.Merchants.AddToken(ctx, "nobody", gate.Token{ID: "tok_c", Hash: hashOf("gtk_c")}), payments.ErrNotFound)

	got, err := s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_b"))
	require.NoError(t, err)
	require.Len(t, got.Tokens, 2)
	assert.Equal(t, "tok_b", got.Tokens[1].ID, "tokens in the order they were added")

	at := epoch.Add(time.Hour)
	require.NoError(t, s.Merchants.RevokeToken(ctx, "m1", "tok_m1_0", at))
	require.NoError(t, s.Merchants.RevokeToken(ctx, "m1", "tok_m1_0", at.Add(time.Hour)), "revoking again is no error")
	assert.ErrorIs(t, s.Merchants.RevokeToken(ctx, "m1", "tok_none", at), payments.ErrNotFound)
	assert.ErrorIs(t, s.Merchants.RevokeToken(ctx, "nobody", "tok_m1_0", at), payments.ErrNotFound)
	require.NoError(t, s.Merchants.RevokeToken(ctx, "m1", "tok_b", at))

	got, err = s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_a"))
	require.NoError(t, err, "a revoked token still finds its merchant; authentication refuses it")
	assert.True(t, sameInstant(at, got.Tokens[0].RevokedAt), "the first revocation's time stays")
	assert.False(t, got.Tokens[1].RevokedAt.IsZero())
}

// Rotations racing each other lose no token: AddToken is one statement.
func testConcurrentAddToken(t *testing.T, s Stores) {
	ctx := t.Context()
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m1")))
	const n = 16
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tok := gate.Token{ID: fmt.Sprintf("tok_%02d", i), Hash: hashOf(fmt.Sprintf("gtk_%d", i)), CreatedAt: epoch}
			assert.NoError(t, s.Merchants.AddToken(ctx, "m1", tok))
		})
	}
	wg.Wait()
	got, err := s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	assert.Len(t, got.Tokens, n)
}
