package gatepg

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

// SaveMerchant implements gate.MerchantStore: the merchant row and its
// tokens are replaced in one transaction.
func (s *Store) SaveMerchant(ctx context.Context, m *gate.Merchant) error {
	if m.ID == "" {
		return fmt.Errorf("gatepg: merchant without id: %w", payments.ErrInvalidInput)
	}
	gateways, _ := json.Marshal(nonNil(m.Gateways))
	secrets, _ := json.Marshal(nonNil(m.PostbackSecrets))
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO gate_merchants (id, name, gateways, postback_secrets, disabled_at, created_at)
			VALUES ($1, $2, $3, $4, $5, $6)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, gateways = excluded.gateways,
				postback_secrets = excluded.postback_secrets, disabled_at = excluded.disabled_at, created_at = excluded.created_at`,
			m.ID, m.Name, string(gateways), string(secrets), optional(m.DisabledAt), m.CreatedAt); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM gate_tokens WHERE merchant_id = $1`, m.ID); err != nil {
			return err
		}
		for _, t := range m.Tokens {
			if _, err := tx.Exec(ctx, `INSERT INTO gate_tokens (merchant_id, id, hash, created_at, revoked_at) VALUES ($1, $2, $3, $4, $5)`,
				m.ID, t.ID, t.Hash[:], t.CreatedAt, optional(t.RevokedAt)); err != nil {
				return err
			}
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("gatepg: a token of merchant %q belongs to another merchant: %w", m.ID, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatepg: save merchant %q: %w", m.ID, err)
	}
	return nil
}

// UpdateMerchant implements gate.MerchantAdminStore in one statement on
// the merchant's row, so that its tokens, which live in their own rows, are
// never written back stale.
func (s *Store) UpdateMerchant(ctx context.Context, m *gate.Merchant) error {
	gateways, _ := json.Marshal(nonNil(m.Gateways))
	secrets, _ := json.Marshal(nonNil(m.PostbackSecrets))
	tag, err := s.pool.Exec(ctx, `UPDATE gate_merchants SET name = $1, gateways = $2, postback_secrets = $3, disabled_at = $4
		WHERE id = $5`, m.Name, string(gateways), string(secrets), optional(m.DisabledAt), m.ID)
	if err != nil {
		return fmt.Errorf("gatepg: update merchant %q: %w", m.ID, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("gatepg: merchant %q: %w", m.ID, payments.ErrNotFound)
	}
	return nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// optional is NULL for the zero time.
func optional(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromOptional(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}

// merchantQuery reads a merchant and its tokens in one statement, so that a
// concurrent save is seen whole or not at all.
const merchantQuery = `SELECT m.id, m.name, m.gateways, m.postback_secrets, m.disabled_at, m.created_at,
	t.id, t.hash, t.created_at, t.revoked_at
	FROM gate_merchants m LEFT JOIN gate_tokens t ON t.merchant_id = m.id
	WHERE m.id = %s ORDER BY t.seq`

// Merchant implements gate.MerchantStore.
func (s *Store) Merchant(ctx context.Context, id string) (*gate.Merchant, error) {
	return s.merchant(ctx, fmt.Sprintf(merchantQuery, "$1"), id)
}

// MerchantByTokenHash implements gate.MerchantStore.
func (s *Store) MerchantByTokenHash(ctx context.Context, hash [sha256.Size]byte) (*gate.Merchant, error) {
	return s.merchant(ctx, fmt.Sprintf(merchantQuery, "(SELECT merchant_id FROM gate_tokens WHERE hash = $1)"), hash[:])
}

func (s *Store) merchant(ctx context.Context, query string, arg any) (*gate.Merchant, error) {
	list, err := s.merchants(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("gatepg: merchant: %w", payments.ErrNotFound)
	}
	return &list[0], nil
}

// ListMerchants implements gate.MerchantAdminStore, in one statement like
// Merchant. Ids are ordered by bytes (COLLATE "C"), as every store orders
// them, whatever the database's locale.
func (s *Store) ListMerchants(ctx context.Context, after string, limit int) ([]gate.Merchant, error) {
	var max *int
	if limit > 0 {
		max = &limit
	}
	return s.merchants(ctx, `SELECT m.id, m.name, m.gateways, m.postback_secrets, m.disabled_at, m.created_at,
		t.id, t.hash, t.created_at, t.revoked_at
		FROM gate_merchants m LEFT JOIN gate_tokens t ON t.merchant_id = m.id
		WHERE m.id IN (SELECT id FROM gate_merchants WHERE id COLLATE "C" > $1 ORDER BY id COLLATE "C" LIMIT $2)
		ORDER BY m.id COLLATE "C", t.seq`, after, max)
}

// merchants reads the merchants of query's rows, each merchant's rows
// together and its tokens in order.
func (s *Store) merchants(ctx context.Context, query string, args ...any) ([]gate.Merchant, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("gatepg: read merchant: %w", err)
	}
	defer rows.Close()
	var out []gate.Merchant
	for rows.Next() {
		var (
			id, name               string
			gateways, secrets      []byte
			disabled               *time.Time
			created                time.Time
			tokID                  *string
			tokHash                []byte
			tokCreated, tokRevoked *time.Time
		)
		if err := rows.Scan(&id, &name, &gateways, &secrets, &disabled, &created, &tokID, &tokHash, &tokCreated, &tokRevoked); err != nil {
			return nil, fmt.Errorf("gatepg: read merchant: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, gate.Merchant{ID: id, Name: name, DisabledAt: fromOptional(disabled), CreatedAt: created.UTC()})
			m := &out[len(out)-1]
			if err := json.Unmarshal(gateways, &m.Gateways); err != nil {
				return nil, fmt.Errorf("gatepg: merchant %q gateways: %w", id, err)
			}
			if err := json.Unmarshal(secrets, &m.PostbackSecrets); err != nil {
				return nil, fmt.Errorf("gatepg: merchant %q secrets: %w", id, err)
			}
		}
		if tokID != nil {
			t := gate.Token{ID: *tokID, CreatedAt: fromOptional(tokCreated), RevokedAt: fromOptional(tokRevoked)}
			copy(t.Hash[:], tokHash)
			out[len(out)-1].Tokens = append(out[len(out)-1].Tokens, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gatepg: read merchant: %w", err)
	}
	return out, nil
}

// AddToken implements gate.MerchantStore in one statement, so that
// concurrent rotations never lose a token.
func (s *Store) AddToken(ctx context.Context, merchantID string, t gate.Token) error {
	tag, err := s.pool.Exec(ctx, `INSERT INTO gate_tokens (merchant_id, id, hash, created_at, revoked_at)
		SELECT $1, $2, $3, $4, $5 WHERE EXISTS (SELECT 1 FROM gate_merchants WHERE id = $1)`,
		merchantID, t.ID, t.Hash[:], t.CreatedAt, optional(t.RevokedAt))
	if isUnique(err) {
		return fmt.Errorf("gatepg: token %s: %w", t.ID, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatepg: add token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("gatepg: merchant %q: %w", merchantID, payments.ErrNotFound)
	}
	return nil
}

// RevokeToken implements gate.MerchantStore; the first revocation's time
// stays.
func (s *Store) RevokeToken(ctx context.Context, merchantID, tokenID string, at time.Time) error {
	tag, err := s.pool.Exec(ctx, `UPDATE gate_tokens SET revoked_at = COALESCE(revoked_at, $1) WHERE merchant_id = $2 AND id = $3`,
		at, merchantID, tokenID)
	if err != nil {
		return fmt.Errorf("gatepg: revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("gatepg: token %q of merchant %q: %w", tokenID, merchantID, payments.ErrNotFound)
	}
	return nil
}
