package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/payrail/payments"
)

const paymentColumns = `id, gateway, gateway_id, account, amount, currency, reference, status,
	redirect_url, capture_before, metadata, version, created_at, updated_at`

// CreatePayment implements payments.Store. A taken ID, or a taken
// (Gateway, GatewayID), is payments.ErrConflict; ClientSecret is not stored.
func (s *Store) CreatePayment(ctx context.Context, p *payments.Payment) error {
	if p.ID == "" || p.Gateway == "" {
		return fmt.Errorf("sqlite: payment without id or gateway: %w", payments.ErrInvalidInput)
	}
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		// DO NOTHING covers both unique constraints, the primary key and
		// (gateway, gateway_id), without parsing driver error codes.
		inserted, err := s.insertPayment(ctx, tx, p, "ON CONFLICT DO NOTHING")
		if err != nil {
			return err
		}
		if !inserted {
			return fmt.Errorf("sqlite: payment %s (%s %q) exists: %w", p.ID, p.Gateway, p.GatewayID, payments.ErrConflict)
		}
		return nil
	})
}

// insertPayment inserts p, reporting whether a row was written; conflict is
// the statement's ON CONFLICT clause, or empty.
func (s *Store) insertPayment(ctx context.Context, q querier, p *payments.Payment, conflict string) (bool, error) {
	meta, err := encodeMetadata(p.Metadata)
	if err != nil {
		return false, err
	}
	res, err := q.exec(ctx, `INSERT INTO {{p}}payments (`+paymentColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) `+conflict,
		p.ID, p.Gateway, p.GatewayID, p.Account, p.Amount.Amount, string(p.Amount.Currency), p.Reference,
		string(p.Status), p.RedirectURL, optionalMicros(p.CaptureBefore), meta, p.Version,
		micros(p.CreatedAt), micros(p.UpdatedAt))
	if err != nil {
		return false, fmt.Errorf("sqlite: insert payment %s: %w", p.ID, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("sqlite: insert payment %s: %w", p.ID, err)
	}
	return n == 1, nil
}

// updatePayment writes back, whole, the fields a payments.Plan may change,
// its version included: the planner counts it, the store only keeps it.
func (s *Store) updatePayment(ctx context.Context, q querier, p *payments.Payment) error {
	_, err := q.exec(ctx, `UPDATE {{p}}payments SET gateway_id = ?, account = ?, amount = ?,
		currency = ?, reference = ?, status = ?, redirect_url = ?, capture_before = ?, version = ?, updated_at = ?
		WHERE id = ?`,
		p.GatewayID, p.Account, p.Amount.Amount, string(p.Amount.Currency), p.Reference, string(p.Status),
		p.RedirectURL, optionalMicros(p.CaptureBefore), p.Version, micros(p.UpdatedAt), p.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update payment %s: %w", p.ID, err)
	}
	return nil
}

// Payment implements payments.Store; an unknown id is payments.ErrNotFound.
func (s *Store) Payment(ctx context.Context, id string) (*payments.Payment, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	p, err := s.paymentByID(ctx, q, id)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("sqlite: payment %s: %w", id, payments.ErrNotFound)
	}
	return p, nil
}

// PaymentByGatewayID implements payments.Store; an unknown gateway id is
// payments.ErrNotFound.
func (s *Store) PaymentByGatewayID(ctx context.Context, gateway, gatewayID string) (*payments.Payment, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	p, err := s.paymentByGatewayID(ctx, q, gateway, gatewayID)
	if err != nil {
		return nil, err
	}
	if p == nil {
		return nil, fmt.Errorf("sqlite: payment %s/%s: %w", gateway, gatewayID, payments.ErrNotFound)
	}
	return p, nil
}

// paymentByID returns nil, nil when there is no such payment.
func (s *Store) paymentByID(ctx context.Context, q querier, id string) (*payments.Payment, error) {
	row := q.queryRow(ctx, `SELECT `+paymentColumns+` FROM {{p}}payments WHERE id = ?`, id)
	return scanPayment(row)
}

// paymentByGatewayID returns nil, nil when there is no such payment; an
// empty gatewayID names none.
func (s *Store) paymentByGatewayID(ctx context.Context, q querier, gateway, gatewayID string) (*payments.Payment, error) {
	if gatewayID == "" {
		return nil, nil
	}
	// The repeated gateway_id <> '' lets SQLite use the partial unique
	// index, which a bound parameter alone cannot prove applicable.
	row := q.queryRow(ctx, `SELECT `+paymentColumns+` FROM {{p}}payments
		WHERE gateway = ? AND gateway_id = ? AND gateway_id <> ''`, gateway, gatewayID)
	return scanPayment(row)
}

func scanPayment(row scanner) (*payments.Payment, error) {
	var (
		p                    payments.Payment
		currency, status     string
		captureBefore        sql.NullInt64
		metadata             sql.NullString
		createdAt, updatedAt int64
	)
	err := row.Scan(&p.ID, &p.Gateway, &p.GatewayID, &p.Account, &p.Amount.Amount, &currency, &p.Reference,
		&status, &p.RedirectURL, &captureBefore, &metadata, &p.Version, &createdAt, &updatedAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read payment: %w", err)
	}
	p.Amount.Currency = payments.Currency(currency)
	p.Status = payments.Status(status)
	p.CaptureBefore = fromOptionalMicros(captureBefore)
	p.CreatedAt, p.UpdatedAt = fromMicros(createdAt), fromMicros(updatedAt)
	if p.Metadata, err = decodeMetadata(metadata); err != nil {
		return nil, err
	}
	return &p, nil
}
