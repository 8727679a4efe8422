package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
)

const paymentColumns = `id, gateway, gateway_id, account, amount, currency, reference, status,
	redirect_url, capture_before, metadata, version, created_at, updated_at`

// byGatewayID finds a payment by (gateway, gateway id). It repeats the
// predicate of the partial unique index (a non-empty gateway_id), so that
// the planner may use the index in a prepared statement's generic plan too.
const byGatewayID = "gateway = $1 AND gateway_id = $2 AND gateway_id <> ''"

// CreatePayment implements payments.Store. A taken ID or (Gateway,
// GatewayID) is payments.ErrConflict; ClientSecret is not stored, Version
// is stored as given.
func (s *Store) CreatePayment(ctx context.Context, p *payments.Payment) error {
	if err := s.usable(); err != nil {
		return err
	}
	if p.ID == "" || p.Gateway == "" {
		return fmt.Errorf("postgres: payment without id or gateway: %w", payments.ErrInvalidInput)
	}
	inserted, err := s.insertPayment(ctx, s.pool, p)
	if err != nil {
		return err
	}
	if !inserted {
		return fmt.Errorf("postgres: payment %s (%s %q) exists: %w", p.ID, p.Gateway, p.GatewayID, payments.ErrConflict)
	}
	return nil
}

// insertPayment inserts p unless its id or gateway id is taken, and reports
// whether it did. Both constraints are checked by the one INSERT, so a
// concurrent insert of the same payment is seen, never overwritten.
func (s *Store) insertPayment(ctx context.Context, q querier, p *payments.Payment) (bool, error) {
	metadata, err := marshalMetadata(p.Metadata)
	if err != nil {
		return false, err
	}
	var id string
	err = q.QueryRow(ctx, s.sql(`INSERT INTO {payments} (`+paymentColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)
		ON CONFLICT DO NOTHING RETURNING id`),
		p.ID, p.Gateway, p.GatewayID, p.Account, p.Amount.Amount, string(p.Amount.Currency), p.Reference,
		string(p.Status), p.RedirectURL, nullTime(p.CaptureBefore), metadata, p.Version, p.CreatedAt, p.UpdatedAt,
	).Scan(&id)
	if errors.Is(err, pgx.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fail("insert payment "+p.ID, err)
	}
	return true, nil
}

// updatePaymentQuery writes every mutable field of a payment back, its
// version included: the version the plan decided, which is the stored one
// plus one because the row has been locked (FOR UPDATE) since the planner
// read it, on the transaction-per-batch path and the group's alike.
const updatePaymentQuery = `UPDATE {payments} SET gateway_id = $2, account = $3, amount = $4,
	currency = $5, reference = $6, status = $7, redirect_url = $8, capture_before = $9, version = $10,
	updated_at = $11
	WHERE id = $1`

func updatePaymentArgs(p *payments.Payment) []any {
	return []any{p.ID, p.GatewayID, p.Account, p.Amount.Amount, string(p.Amount.Currency), p.Reference,
		string(p.Status), p.RedirectURL, nullTime(p.CaptureBefore), p.Version, p.UpdatedAt}
}

// Payment implements payments.Store.
func (s *Store) Payment(ctx context.Context, id string) (*payments.Payment, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	p, err := s.findPayment(ctx, s.pool, "id = $1", false, id)
	if err == nil && p == nil {
		err = fmt.Errorf("postgres: payment %s: %w", id, payments.ErrNotFound)
	}
	return p, err
}

// PaymentByGatewayID implements payments.Store.
func (s *Store) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	if err := s.usable(); err != nil {
		return nil, err
	}
	var p *payments.Payment
	var err error
	if gatewayID != "" { // an empty gateway id identifies no payment
		p, err = s.findPayment(ctx, s.pool, byGatewayID, false, gateway, gatewayID)
	}
	if err == nil && p == nil {
		err = fmt.Errorf("postgres: payment %s/%s: %w", gateway, gatewayID, payments.ErrNotFound)
	}
	return p, err
}

// findPayment returns the payment matching where, or nil when there is
// none. forUpdate locks the row until the transaction q belongs to ends.
func (s *Store) findPayment(ctx context.Context, q querier, where string, forUpdate bool, args ...any) (*payments.Payment, error) {
	query := "SELECT " + paymentColumns + " FROM {payments} WHERE " + where
	if forUpdate {
		query += " FOR UPDATE"
	}
	p, err := scanPayment(q.QueryRow(ctx, s.sql(query), args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fail("read payment", err)
	}
	return p, nil
}

func scanPayment(row pgx.Row) (*payments.Payment, error) {
	var (
		p                    payments.Payment
		currency, status     string
		captureBefore        *time.Time
		metadata             []byte
		createdAt, updatedAt time.Time
	)
	err := row.Scan(&p.ID, &p.Gateway, &p.GatewayID, &p.Account, &p.Amount.Amount, &currency, &p.Reference,
		&status, &p.RedirectURL, &captureBefore, &metadata, &p.Version, &createdAt, &updatedAt)
	if err != nil {
		return nil, err
	}
	p.Amount.Currency, p.Status = payments.Currency(currency), payments.Status(status)
	p.CaptureBefore, p.CreatedAt, p.UpdatedAt = fromNull(captureBefore), createdAt.UTC(), updatedAt.UTC()
	if metadata != nil {
		if err := json.Unmarshal(metadata, &p.Metadata); err != nil {
			return nil, fmt.Errorf("decode metadata of payment %s: %w", p.ID, err)
		}
	}
	return &p, nil
}

// marshalMetadata keeps a nil map as NULL, so that it reads back as nil.
func marshalMetadata(m map[string]string) ([]byte, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("postgres: encode metadata: %w", err)
	}
	return b, nil
}

// nullTime stores the zero time, which the domain uses for "not set", as
// NULL.
func nullTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func fromNull(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
