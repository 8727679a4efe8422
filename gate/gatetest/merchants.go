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
		{"ListMerchants", testListMerchants},
		{"UpdateKeepsTokens", testUpdateKeepsTokens},
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

func adminStore(t *testing.T, s Stores) gate.MerchantAdminStore {
	t.Helper()
	as, ok := s.Merchants.(gate.MerchantAdminStore)
	require.True(t, ok, "the MerchantStore lists and updates (gate.MerchantAdminStore)")
	return as
}

// Listing is by id as bytes, in pages after a cursor, tokens included.
func testListMerchants(t *testing.T, s Stores) {
	ctx := t.Context()
	as := adminStore(t, s)
	empty, err := as.ListMerchants(ctx, "", 10)
	require.NoError(t, err)
	assert.Empty(t, empty)
	want := map[string]*gate.Merchant{}
	for _, id := range []string{"m2", "M1", "m10", "m1"} {
		want[id] = merchant(id, "gtk_a_"+id, "gtk_b_"+id)
		require.NoError(t, s.Merchants.SaveMerchant(ctx, want[id]))
	}
	all, err := as.ListMerchants(ctx, "", 0)
	require.NoError(t, err)
	var ids []string
	for i := range all {
		ids = append(ids, all[i].ID)
		assertMerchant(t, want[all[i].ID], &all[i])
	}
	assert.Equal(t, []string{"M1", "m1", "m10", "m2"}, ids, "ordered by bytes, whatever the locale")

	page, err := as.ListMerchants(ctx, "", 2)
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, "m1", page[1].ID)
	assert.Len(t, page[1].Tokens, 2, "a page counts merchants, not their tokens")
	page, err = as.ListMerchants(ctx, "m1", 2)
	require.NoError(t, err)
	require.Len(t, page, 2)
	assert.Equal(t, []string{"m10", "m2"}, []string{page[0].ID, page[1].ID})
	page, err = as.ListMerchants(ctx, "m2", 2)
	require.NoError(t, err)
	assert.Empty(t, page)
}

// An update changes the merchant's own fields and nothing of its tokens:
// a revocation or a rotation made after the merchant was read stays.
func testUpdateKeepsTokens(t *testing.T, s Stores) {
	ctx := t.Context()
	as := adminStore(t, s)
	require.NoError(t, s.Merchants.SaveMerchant(ctx, merchant("m1", "gtk_a")))
	read, err := s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	require.NoError(t, s.Merchants.RevokeToken(ctx, "m1", "tok_m1_0", epoch.Add(time.Minute)))
	require.NoError(t, s.Merchants.AddToken(ctx, "m1", gate.Token{ID: "tok_b", Hash: hashOf("gtk_b"), CreatedAt: epoch}))

	read.Name, read.Gateways = "Renamed", []string{"fake2"}
	read.PostbackSecrets = append(read.PostbackSecrets, "whsec_c2Vjb25kLXNlY3JldC1mb3Itcm90YXRpb24=")
	read.DisabledAt = epoch.Add(time.Hour)
	read.CreatedAt = epoch.Add(24 * time.Hour)
	require.NoError(t, as.UpdateMerchant(ctx, read))

	got, err := s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	assert.Equal(t, "Renamed", got.Name)
	assert.Equal(t, []string{"fake2"}, got.Gateways)
	assert.Equal(t, read.PostbackSecrets, got.PostbackSecrets, "secrets in order")
	assert.True(t, sameInstant(read.DisabledAt, got.DisabledAt))
	assert.True(t, sameInstant(epoch, got.CreatedAt), "the creation time stays")
	require.Len(t, got.Tokens, 2, "the token added after the read stays")
	assert.False(t, got.Tokens[0].RevokedAt.IsZero(), "the revocation made after the read stays")
	assert.Equal(t, "tok_b", got.Tokens[1].ID)
	byHash, err := s.Merchants.MerchantByTokenHash(ctx, hashOf("gtk_b"))
	require.NoError(t, err)
	assert.Equal(t, "Renamed", byHash.Name)

	read.DisabledAt = time.Time{}
	require.NoError(t, as.UpdateMerchant(ctx, read))
	got, err = s.Merchants.Merchant(ctx, "m1")
	require.NoError(t, err)
	assert.True(t, got.DisabledAt.IsZero(), "enabled again")

	assert.ErrorIs(t, as.UpdateMerchant(ctx, merchant("nobody")), payments.ErrNotFound)
	_, err = s.Merchants.Merchant(ctx, "nobody")
	assert.ErrorIs(t, err, payments.ErrNotFound, "an update creates nothing")
}
