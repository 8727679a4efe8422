package gatesqlite

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/json"
	"fmt"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

// SaveMerchant implements gate.MerchantStore: the merchant row and its
// tokens are replaced in one transaction.
func (s *Store) SaveMerchant(ctx context.Context, m *gate.Merchant) error {
	if m.ID == "" {
		return fmt.Errorf("gatesqlite: merchant without id: %w", payments.ErrInvalidInput)
	}
	gateways, _ := json.Marshal(nonNil(m.Gateways))
	secrets, _ := json.Marshal(nonNil(m.PostbackSecrets))
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO gate_merchants (id, name, gateways, postback_secrets, disabled_at, created_at)
			VALUES (?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, gateways = excluded.gateways,
				postback_secrets = excluded.postback_secrets, disabled_at = excluded.disabled_at, created_at = excluded.created_at`,
			m.ID, m.Name, string(gateways), string(secrets), optionalMicros(m.DisabledAt), micros(m.CreatedAt)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM gate_tokens WHERE merchant_id = ?`, m.ID); err != nil {
			return err
		}
		for _, t := range m.Tokens {
			if err := insertToken(ctx, tx, m.ID, t); err != nil {
				return err
			}
		}
		return nil
	})
	if isUnique(err) {
		return fmt.Errorf("gatesqlite: a token of merchant %q belongs to another merchant: %w", m.ID, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatesqlite: save merchant %q: %w", m.ID, err)
	}
	return nil
}

// UpdateMerchant implements gate.MerchantAdminStore in one statement on
// the merchant's row, so that its tokens, which live in their own rows, are
// never written back stale.
func (s *Store) UpdateMerchant(ctx context.Context, m *gate.Merchant) error {
	gateways, _ := json.Marshal(nonNil(m.Gateways))
	secrets, _ := json.Marshal(nonNil(m.PostbackSecrets))
	res, err := s.db.ExecContext(ctx, `UPDATE gate_merchants SET name = ?, gateways = ?, postback_secrets = ?, disabled_at = ?
		WHERE id = ?`, m.Name, string(gateways), string(secrets), optionalMicros(m.DisabledAt), m.ID)
	if err != nil {
		return fmt.Errorf("gatesqlite: update merchant %q: %w", m.ID, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("gatesqlite: merchant %q: %w", m.ID, payments.ErrNotFound)
	}
	return nil
}

func insertToken(ctx context.Context, tx *sql.Tx, merchantID string, t gate.Token) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO gate_tokens (merchant_id, id, hash, created_at, revoked_at) VALUES (?, ?, ?, ?, ?)`,
		merchantID, t.ID, t.Hash[:], micros(t.CreatedAt), optionalMicros(t.RevokedAt))
	return err
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// merchantQuery reads a merchant and its tokens in one statement, so that a
// concurrent save is seen whole or not at all.
const merchantQuery = `SELECT m.id, m.name, m.gateways, m.postback_secrets, m.disabled_at, m.created_at,
	t.id, t.hash, t.created_at, t.revoked_at
	FROM gate_merchants m LEFT JOIN gate_tokens t ON t.merchant_id = m.id
	WHERE m.id = %s ORDER BY t.seq`

// Merchant implements gate.MerchantStore.
func (s *Store) Merchant(ctx context.Context, id string) (*gate.Merchant, error) {
	return s.merchant(ctx, fmt.Sprintf(merchantQuery, "?"), id)
}

// MerchantByTokenHash implements gate.MerchantStore.
func (s *Store) MerchantByTokenHash(ctx context.Context, hash [sha256.Size]byte) (*gate.Merchant, error) {
	return s.merchant(ctx, fmt.Sprintf(merchantQuery, "(SELECT merchant_id FROM gate_tokens WHERE hash = ?)"), hash[:])
}

func (s *Store) merchant(ctx context.Context, query string, arg any) (*gate.Merchant, error) {
	list, err := s.merchants(ctx, query, arg)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, fmt.Errorf("gatesqlite: merchant: %w", payments.ErrNotFound)
	}
	return &list[0], nil
}

// ListMerchants implements gate.MerchantAdminStore, in one statement like
// Merchant.
func (s *Store) ListMerchants(ctx context.Context, after string, limit int) ([]gate.Merchant, error) {
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return s.merchants(ctx, `SELECT m.id, m.name, m.gateways, m.postback_secrets, m.disabled_at, m.created_at,
		t.id, t.hash, t.created_at, t.revoked_at
		FROM gate_merchants m LEFT JOIN gate_tokens t ON t.merchant_id = m.id
		WHERE m.id IN (SELECT id FROM gate_merchants WHERE id > ? ORDER BY id LIMIT ?)
		ORDER BY m.id, t.seq`, after, limit)
}

// merchants reads the merchants of query's rows, each merchant's rows
// together and its tokens in order.
func (s *Store) merchants(ctx context.Context, query string, args ...any) ([]gate.Merchant, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: read merchant: %w", err)
	}
	defer rows.Close()
	var out []gate.Merchant
	for rows.Next() {
		var (
			id, name, gateways, secrets string
			disabled, created           sql.NullInt64
			tokID                       sql.NullString
			tokHash                     []byte
			tokCreated, tokRevoked      sql.NullInt64
		)
		if err := rows.Scan(&id, &name, &gateways, &secrets, &disabled, &created, &tokID, &tokHash, &tokCreated, &tokRevoked); err != nil {
			return nil, fmt.Errorf("gatesqlite: read merchant: %w", err)
		}
		if len(out) == 0 || out[len(out)-1].ID != id {
			out = append(out, gate.Merchant{ID: id, Name: name, DisabledAt: fromMicros(disabled), CreatedAt: fromMicros(created)})
			m := &out[len(out)-1]
			if err := json.Unmarshal([]byte(gateways), &m.Gateways); err != nil {
				return nil, fmt.Errorf("gatesqlite: merchant %q gateways: %w", id, err)
			}
			if err := json.Unmarshal([]byte(secrets), &m.PostbackSecrets); err != nil {
				return nil, fmt.Errorf("gatesqlite: merchant %q secrets: %w", id, err)
			}
		}
		if tokID.Valid {
			t := gate.Token{ID: tokID.String, CreatedAt: fromMicros(tokCreated), RevokedAt: fromMicros(tokRevoked)}
			copy(t.Hash[:], tokHash)
			out[len(out)-1].Tokens = append(out[len(out)-1].Tokens, t)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gatesqlite: read merchant: %w", err)
	}
	return out, nil
}

// AddToken implements gate.MerchantStore in one statement, so that
// concurrent rotations never lose a token.
func (s *Store) AddToken(ctx context.Context, merchantID string, t gate.Token) error {
	res, err := s.db.ExecContext(ctx, `INSERT INTO gate_tokens (merchant_id, id, hash, created_at, revoked_at)
		SELECT ?, ?, ?, ?, ? WHERE EXISTS (SELECT 1 FROM gate_merchants WHERE id = ?)`,
		merchantID, t.ID, t.Hash[:], micros(t.CreatedAt), optionalMicros(t.RevokedAt), merchantID)
	if isUnique(err) {
		return fmt.Errorf("gatesqlite: token %s: %w", t.ID, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatesqlite: add token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("gatesqlite: merchant %q: %w", merchantID, payments.ErrNotFound)
	}
	return nil
}

// RevokeToken implements gate.MerchantStore; the first revocation's time
// stays.
func (s *Store) RevokeToken(ctx context.Context, merchantID, tokenID string, at time.Time) error {
	res, err := s.db.ExecContext(ctx, `UPDATE gate_tokens SET revoked_at = COALESCE(revoked_at, ?) WHERE merchant_id = ? AND id = ?`,
		micros(at), merchantID, tokenID)
	if err != nil {
		return fmt.Errorf("gatesqlite: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("gatesqlite: token %q of merchant %q: %w", tokenID, merchantID, payments.ErrNotFound)
	}
	return nil
}
