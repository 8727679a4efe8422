package gate

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/payrail/payments"
)

// TokenPrefix starts every merchant API token, so that a leaked token is
// recognizable by secret scanners.
const TokenPrefix = "gtk_"

// Merchant is one merchant of the gate.
type Merchant struct {
	// ID is the host's id of the merchant. It is the payments.Account of
	// the merchant's payments, so that the ledger's balances are what the
	// gate owes each merchant.
	ID   string
	Name string
	// Gateways are the names of the gateways the merchant may use, in the
	// order the choice page lists them. A request that names none uses the
	// only one, or lets the customer choose among several.
	Gateways []string
	// PostbackSecrets sign postbacks ("whsec_" and base64, as Standard
	// Webhooks has them). Each gives one signature, so that a merchant
	// rotating its secret verifies with either until it drops the old one.
	PostbackSecrets []string
	// Tokens authenticate the merchant's API calls; several are live during
	// a rotation.
	Tokens []Token
	// DisabledAt, when set, refuses the merchant's API calls.
	DisabledAt time.Time
	CreatedAt  time.Time
}

// Token is one API token of a merchant, kept only as its hash: the token
// itself is shown once, when issued.
type Token struct {
	// ID names the token for listing and revocation; it is not secret.
	ID string
	// Hash is the SHA-256 of the token. A token has 256 random bits, so an
	// unsalted fast hash is enough: there is nothing to brute-force.
	Hash      [sha256.Size]byte
	CreatedAt time.Time
	// RevokedAt, when set, makes the token fail.
	RevokedAt time.Time
}

// MerchantStore keeps merchants. Every method is safe for concurrent use;
// a SQL implementation makes AddToken and RevokeToken single statements so
// that a rotation never loses a concurrent one.
type MerchantStore interface {
	// SaveMerchant inserts or replaces the merchant with m.ID, tokens
	// included.
	SaveMerchant(ctx context.Context, m *Merchant) error
	// Merchant returns one merchant, or payments.ErrNotFound.
	Merchant(ctx context.Context, id string) (*Merchant, error)
	// MerchantByTokenHash returns the merchant one of whose tokens, revoked
	// or not, has the hash, or payments.ErrNotFound.
	MerchantByTokenHash(ctx context.Context, hash [sha256.Size]byte) (*Merchant, error)
	// AddToken adds a token to a merchant; payments.ErrNotFound for an
	// unknown merchant.
	AddToken(ctx context.Context, merchantID string, t Token) error
	// RevokeToken marks a token revoked at at; payments.ErrNotFound for an
	// unknown merchant or token.
	RevokeToken(ctx context.Context, merchantID, tokenID string, at time.Time) error
}

// MerchantAdminStore is the optional power of a MerchantStore to serve an
// operator's tools: list the merchants, and change a merchant without
// touching its tokens. SaveMerchant replaces the tokens too, so a read,
// change and SaveMerchant would undo a revocation or lose a rotation made
// in between; UpdateMerchant cannot. The memory, SQLite and PostgreSQL
// stores have it.
type MerchantAdminStore interface {
	// ListMerchants returns up to limit merchants (every one when limit is
	// not positive), tokens included, whose ids come after after (from the
	// first when after is ""), ordered by id as bytes.
	ListMerchants(ctx context.Context, after string, limit int) ([]Merchant, error)
	// UpdateMerchant replaces the name, gateways, postback secrets and
	// DisabledAt of the merchant with m.ID, leaving its tokens and
	// CreatedAt as stored; payments.ErrNotFound for an unknown merchant.
	UpdateMerchant(ctx context.Context, m *Merchant) error
}

// NewToken returns a fresh API token and its record. Give the token to the
// merchant once; store only the record (MerchantStore.AddToken).
func NewToken(now time.Time) (token string, t Token, err error) {
	var secret [32]byte
	if _, err := rand.Read(secret[:]); err != nil {
		return "", Token{}, fmt.Errorf("gate: token: %w", err)
	}
	var id [8]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", Token{}, fmt.Errorf("gate: token id: %w", err)
	}
	token = TokenPrefix + base64.RawURLEncoding.EncodeToString(secret[:])
	return token, Token{ID: "tok_" + hex.EncodeToString(id[:]), Hash: sha256.Sum256([]byte(token)), CreatedAt: now.UTC()}, nil
}

// IssueToken adds a fresh token to a merchant and returns it, for a
// rotation: the old tokens keep working until RevokeToken.
func IssueToken(ctx context.Context, store MerchantStore, merchantID string, now time.Time) (token, tokenID string, err error) {
	token, t, err := NewToken(now)
	if err != nil {
		return "", "", err
	}
	if err := store.AddToken(ctx, merchantID, t); err != nil {
		return "", "", err
	}
	return token, t.ID, nil
}

// NewPostbackSecret returns a fresh postback signing secret in the form
// Standard Webhooks libraries take ("whsec_" and base64 of 32 bytes).
func NewPostbackSecret() (string, error) {
	var key [32]byte
	if _, err := rand.Read(key[:]); err != nil {
		return "", fmt.Errorf("gate: postback secret: %w", err)
	}
	return "whsec_" + base64.StdEncoding.EncodeToString(key[:]), nil
}

// authenticate finds the merchant whose live token is token. Every failure
// is the same error, so an answer never tells a prober which part was wrong.
func authenticate(ctx context.Context, store MerchantStore, token string) (*Merchant, error) {
	fail := fmt.Errorf("gate: unknown or revoked token: %w", payments.ErrUnauthenticated)
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 256 {
		return nil, fail
	}
	hash := sha256.Sum256([]byte(token))
	m, err := store.MerchantByTokenHash(ctx, hash)
	if err != nil {
		if isNotFound(err) {
			return nil, fail
		}
		return nil, err
	}
	// The lookup was by hash; compare again in constant time so that a
	// store that matched loosely (a prefix index) cannot let a token in.
	live := false
	for _, t := range m.Tokens {
		if subtle.ConstantTimeCompare(t.Hash[:], hash[:]) == 1 && t.RevokedAt.IsZero() {
			live = true
		}
	}
	if !live || !m.DisabledAt.IsZero() {
		return nil, fail
	}
	return m, nil
}

// MemoryMerchants is an in-memory MerchantStore for tests and demos.
type MemoryMerchants struct {
	mu        sync.Mutex
	merchants map[string]*Merchant
	byHash    map[[sha256.Size]byte]string
}

var _ MerchantAdminStore = (*MemoryMerchants)(nil)

// NewMemoryMerchants returns an empty MemoryMerchants.
func NewMemoryMerchants() *MemoryMerchants {
	return &MemoryMerchants{merchants: map[string]*Merchant{}, byHash: map[[sha256.Size]byte]string{}}
}

// SaveMerchant implements MerchantStore.
func (s *MemoryMerchants) SaveMerchant(_ context.Context, m *Merchant) error {
	if m.ID == "" {
		return fmt.Errorf("gate: merchant without id: %w", payments.ErrInvalidInput)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range m.Tokens {
		if owner, ok := s.byHash[t.Hash]; ok && owner != m.ID {
			return fmt.Errorf("gate: token %s belongs to another merchant: %w", t.ID, payments.ErrConflict)
		}
	}
	if old, ok := s.merchants[m.ID]; ok {
		for _, t := range old.Tokens {
			delete(s.byHash, t.Hash)
		}
	}
	c := cloneMerchant(m)
	s.merchants[m.ID] = c
	for _, t := range c.Tokens {
		s.byHash[t.Hash] = c.ID
	}
	return nil
}

// Merchant implements MerchantStore.
func (s *MemoryMerchants) Merchant(_ context.Context, id string) (*Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[id]
	if !ok {
		return nil, fmt.Errorf("gate: merchant %q: %w", id, payments.ErrNotFound)
	}
	return cloneMerchant(m), nil
}

// MerchantByTokenHash implements MerchantStore.
func (s *MemoryMerchants) MerchantByTokenHash(_ context.Context, hash [sha256.Size]byte) (*Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byHash[hash]
	if !ok {
		return nil, fmt.Errorf("gate: token: %w", payments.ErrNotFound)
	}
	return cloneMerchant(s.merchants[id]), nil
}

// AddToken implements MerchantStore.
func (s *MemoryMerchants) AddToken(_ context.Context, merchantID string, t Token) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[merchantID]
	if !ok {
		return fmt.Errorf("gate: merchant %q: %w", merchantID, payments.ErrNotFound)
	}
	if _, taken := s.byHash[t.Hash]; taken {
		return fmt.Errorf("gate: token %s: %w", t.ID, payments.ErrConflict)
	}
	m.Tokens = append(m.Tokens, t)
	s.byHash[t.Hash] = merchantID
	return nil
}

// RevokeToken implements MerchantStore.
func (s *MemoryMerchants) RevokeToken(_ context.Context, merchantID, tokenID string, at time.Time) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, ok := s.merchants[merchantID]
	if !ok {
		return fmt.Errorf("gate: merchant %q: %w", merchantID, payments.ErrNotFound)
	}
	for i := range m.Tokens {
		if m.Tokens[i].ID == tokenID {
			if m.Tokens[i].RevokedAt.IsZero() {
				m.Tokens[i].RevokedAt = at.UTC()
			}
			return nil
		}
	}
	return fmt.Errorf("gate: token %q of merchant %q: %w", tokenID, merchantID, payments.ErrNotFound)
}

// ListMerchants implements MerchantAdminStore.
func (s *MemoryMerchants) ListMerchants(_ context.Context, after string, limit int) ([]Merchant, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ids := make([]string, 0, len(s.merchants))
	for id := range s.merchants {
		if id > after {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	if limit > 0 && len(ids) > limit {
		ids = ids[:limit]
	}
	out := make([]Merchant, 0, len(ids))
	for _, id := range ids {
		out = append(out, *cloneMerchant(s.merchants[id]))
	}
	return out, nil
}

// UpdateMerchant implements MerchantAdminStore.
func (s *MemoryMerchants) UpdateMerchant(_ context.Context, m *Merchant) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	old, ok := s.merchants[m.ID]
	if !ok {
		return fmt.Errorf("gate: merchant %q: %w", m.ID, payments.ErrNotFound)
	}
	c := cloneMerchant(m)
	c.Tokens, c.CreatedAt = old.Tokens, old.CreatedAt
	s.merchants[m.ID] = c
	return nil
}

func cloneMerchant(m *Merchant) *Merchant {
	c := *m
	c.Gateways = slices.Clone(m.Gateways)
	c.PostbackSecrets = slices.Clone(m.PostbackSecrets)
	c.Tokens = slices.Clone(m.Tokens)
	return &c
}
