package gatepg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
)

const recordColumns = `id, merchant_id, merchant_payment_id, fingerprint, request, gateway, payment_id, posted, created_at`

// CreateRecord implements gate.RecordStore.
func (s *Store) CreateRecord(ctx context.Context, r *gate.Record) error {
	minor, err := r.AmountMinor()
	if err != nil {
		return err
	}
	req, _ := json.Marshal(r.Request) // a struct of strings always encodes
	var paymentID any
	if r.PaymentID != "" {
		paymentID = r.PaymentID
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO gate_records (id, merchant_id, merchant_payment_id, fingerprint, request,
		amount_minor, currency, gateway, payment_id, posted, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		r.ID, r.Merchant, r.MerchantPaymentID, r.Fingerprint, string(req), minor, r.Request.Currency, r.Gateway,
		paymentID, string(r.Posted), r.CreatedAt)
	if isUnique(err) {
		return fmt.Errorf("gatepg: record %s (payment %q of merchant %q): %w", r.ID, r.MerchantPaymentID, r.Merchant, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatepg: create record: %w", err)
	}
	return nil
}

// Record implements gate.RecordStore.
func (s *Store) Record(ctx context.Context, id string) (*gate.Record, error) {
	return s.recordWhere(ctx, `id = $1`, id)
}

// RecordByMerchant implements gate.RecordStore.
func (s *Store) RecordByMerchant(ctx context.Context, merchant, merchantPaymentID string) (*gate.Record, error) {
	return s.recordWhere(ctx, `merchant_id = $1 AND merchant_payment_id = $2`, merchant, merchantPaymentID)
}

// RecordByPayment implements gate.RecordStore.
func (s *Store) RecordByPayment(ctx context.Context, paymentID string) (*gate.Record, error) {
	return s.recordWhere(ctx, `payment_id = $1`, paymentID)
}

func (s *Store) recordWhere(ctx context.Context, where string, args ...any) (*gate.Record, error) {
	r, err := scanRecord(s.pool.QueryRow(ctx, `SELECT `+recordColumns+` FROM gate_records WHERE `+where, args...))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("gatepg: record: %w", payments.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("gatepg: read record: %w", err)
	}
	return r, nil
}

func scanRecord(row pgx.Row) (*gate.Record, error) {
	var (
		r         gate.Record
		req       []byte
		paymentID *string
		posted    string
		created   time.Time
	)
	if err := row.Scan(&r.ID, &r.Merchant, &r.MerchantPaymentID, &r.Fingerprint, &req, &r.Gateway, &paymentID, &posted, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal(req, &r.Request); err != nil {
		return nil, fmt.Errorf("record %s request: %w", r.ID, err)
	}
	if paymentID != nil {
		r.PaymentID = *paymentID
	}
	r.Posted, r.CreatedAt = gate.Status(posted), created.UTC()
	return &r, nil
}

// AttachPayment implements gate.RecordStore: the first payment attached
// stays.
func (s *Store) AttachPayment(ctx context.Context, id, gateway, paymentID string) (*gate.Record, error) {
	if _, err := s.pool.Exec(ctx, `UPDATE gate_records SET gateway = $1, payment_id = $2 WHERE id = $3 AND payment_id IS NULL`,
		gateway, paymentID, id); err != nil {
		return nil, fmt.Errorf("gatepg: attach payment: %w", err)
	}
	return s.Record(ctx, id)
}

// Following implements gate.RecordStore.
func (s *Store) Following(ctx context.Context, since time.Time) ([]gate.Record, error) {
	return s.records(ctx, `SELECT `+recordColumns+` FROM gate_records
		WHERE payment_id IS NOT NULL AND posted <> 'disputed' AND created_at >= $1 ORDER BY created_at, id COLLATE "C"`, since)
}

func (s *Store) records(ctx context.Context, query string, args ...any) ([]gate.Record, error) {
	rows, err := s.pool.Query(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("gatepg: list records: %w", err)
	}
	defer rows.Close()
	var out []gate.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("gatepg: list records: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gatepg: list records: %w", err)
	}
	return out, nil
}

// DailyTotals implements gate.ReportStore. Text is ordered by bytes
// (COLLATE "C"), as every store orders it, whatever the database's locale.
func (s *Store) DailyTotals(ctx context.Context, q gate.ReportQuery) ([]gate.DailyTotal, error) {
	rows, err := s.pool.Query(ctx, `SELECT day, gateway, status, currency, count(*), sum(amount_minor)::bigint
		FROM (SELECT to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD') AS day, gateway,
				CASE posted WHEN '' THEN 'pending' ELSE posted END AS status, currency, amount_minor
			FROM gate_records WHERE merchant_id = $1 AND created_at >= $2 AND created_at < $3) r
		GROUP BY day, gateway, status, currency
		ORDER BY day, gateway COLLATE "C", status COLLATE "C", currency COLLATE "C"`,
		q.Merchant, q.From, q.To)
	if err != nil {
		return nil, dailyTotalsError(err)
	}
	defer rows.Close()
	var out []gate.DailyTotal
	for rows.Next() {
		var t gate.DailyTotal
		var status string
		if err := rows.Scan(&t.Day, &t.Gateway, &status, &t.Currency, &t.Count, &t.AmountMinor); err != nil {
			return nil, dailyTotalsError(err)
		}
		t.Status = gate.Status(status)
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, dailyTotalsError(err)
	}
	return out, nil
}

// dailyTotalsError wraps a failed report. The numeric sum's cast back to
// bigint fails when a total leaves int64, which every store reports as
// payments.ErrInvalidInput.
func dailyTotalsError(err error) error {
	if isOutOfRange(err) {
		return fmt.Errorf("gatepg: daily totals: a total overflows int64: %w: %w", payments.ErrInvalidInput, err)
	}
	return fmt.Errorf("gatepg: daily totals: %w", err)
}

// Transactions implements gate.ReportStore.
func (s *Store) Transactions(ctx context.Context, q gate.TransactionQuery) ([]gate.Record, error) {
	var after *time.Time
	afterID := ""
	if q.After != nil {
		after, afterID = &q.After.CreatedAt, q.After.ID
	}
	var limit *int
	if q.Limit > 0 {
		limit = &q.Limit
	}
	return s.records(ctx, `SELECT `+recordColumns+` FROM gate_records
		WHERE merchant_id = $1 AND created_at >= $2 AND created_at < $3
		AND ($4::timestamptz IS NULL OR created_at > $4 OR (created_at = $4 AND id COLLATE "C" > $5::text))
		ORDER BY created_at, id COLLATE "C" LIMIT $6`, q.Merchant, q.From, q.To, after, afterID, limit)
}
