package gatesqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/payrail/payments"
	"github.com/payrail/payments/gate"
	"github.com/payrail/payments/gate/internal/minorsum"
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
	_, err = s.db.ExecContext(ctx, `INSERT INTO gate_records (id, merchant_id, merchant_payment_id, fingerprint, request,
		amount_minor, currency, gateway, payment_id, posted, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		r.ID, r.Merchant, r.MerchantPaymentID, r.Fingerprint, string(req), minor, r.Request.Currency, r.Gateway,
		paymentID, string(r.Posted), micros(r.CreatedAt))
	if isUnique(err) {
		return fmt.Errorf("gatesqlite: record %s (payment %q of merchant %q): %w", r.ID, r.MerchantPaymentID, r.Merchant, payments.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("gatesqlite: create record: %w", err)
	}
	return nil
}

// Record implements gate.RecordStore.
func (s *Store) Record(ctx context.Context, id string) (*gate.Record, error) {
	return s.recordWhere(ctx, `id = ?`, id)
}

// RecordByMerchant implements gate.RecordStore.
func (s *Store) RecordByMerchant(ctx context.Context, merchant, merchantPaymentID string) (*gate.Record, error) {
	return s.recordWhere(ctx, `merchant_id = ? AND merchant_payment_id = ?`, merchant, merchantPaymentID)
}

// RecordByPayment implements gate.RecordStore.
func (s *Store) RecordByPayment(ctx context.Context, paymentID string) (*gate.Record, error) {
	return s.recordWhere(ctx, `payment_id = ?`, paymentID)
}

func (s *Store) recordWhere(ctx context.Context, where string, args ...any) (*gate.Record, error) {
	r, err := scanRecord(s.db.QueryRowContext(ctx, `SELECT `+recordColumns+` FROM gate_records WHERE `+where, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("gatesqlite: record: %w", payments.ErrNotFound)
	}
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: read record: %w", err)
	}
	return r, nil
}

type scanner interface{ Scan(dest ...any) error }

func scanRecord(row scanner) (*gate.Record, error) {
	var (
		r         gate.Record
		req       string
		paymentID sql.NullString
		posted    string
		created   sql.NullInt64
	)
	if err := row.Scan(&r.ID, &r.Merchant, &r.MerchantPaymentID, &r.Fingerprint, &req, &r.Gateway, &paymentID, &posted, &created); err != nil {
		return nil, err
	}
	if err := json.Unmarshal([]byte(req), &r.Request); err != nil {
		return nil, fmt.Errorf("record %s request: %w", r.ID, err)
	}
	r.PaymentID, r.Posted, r.CreatedAt = paymentID.String, gate.Status(posted), fromMicros(created)
	return &r, nil
}

// AttachPayment implements gate.RecordStore: the first payment attached
// stays.
func (s *Store) AttachPayment(ctx context.Context, id, gateway, paymentID string) (*gate.Record, error) {
	if _, err := s.db.ExecContext(ctx, `UPDATE gate_records SET gateway = ?, payment_id = ? WHERE id = ? AND payment_id IS NULL`,
		gateway, paymentID, id); err != nil {
		return nil, fmt.Errorf("gatesqlite: attach payment: %w", err)
	}
	return s.Record(ctx, id)
}

// Following implements gate.RecordStore.
func (s *Store) Following(ctx context.Context, since time.Time) ([]gate.Record, error) {
	return s.records(ctx, `SELECT `+recordColumns+` FROM gate_records
		WHERE payment_id IS NOT NULL AND posted <> 'disputed' AND created_at >= ? ORDER BY created_at, id`, micros(since))
}

func (s *Store) records(ctx context.Context, query string, args ...any) ([]gate.Record, error) {
	rows, err := s.db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: list records: %w", err)
	}
	defer rows.Close()
	var out []gate.Record
	for rows.Next() {
		r, err := scanRecord(rows)
		if err != nil {
			return nil, fmt.Errorf("gatesqlite: list records: %w", err)
		}
		out = append(out, *r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gatesqlite: list records: %w", err)
	}
	return out, nil
}

// DailyTotals implements gate.ReportStore. SQLite's SUM fails on an
// integer overflow with a bare SQLITE_ERROR that only its text tells apart,
// so each total is summed as two halves that cannot overflow below 2³¹
// records a group (every amount's high 32 bits, signed, and its low 32
// bits, as minorsum.Sum keeps them) and joined here, where a total beyond
// int64 is payments.ErrInvalidInput.
func (s *Store) DailyTotals(ctx context.Context, q gate.ReportQuery) ([]gate.DailyTotal, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT date(created_at / 1000000, 'unixepoch') AS day, gateway,
			CASE posted WHEN '' THEN 'pending' ELSE posted END AS status, currency, COUNT(*),
			SUM(amount_minor >> 32), SUM(amount_minor & 4294967295)
		FROM gate_records WHERE merchant_id = ? AND created_at >= ? AND created_at < ?
		GROUP BY day, gateway, status, currency ORDER BY day, gateway, status, currency`,
		q.Merchant, micros(q.From), micros(q.To))
	if err != nil {
		return nil, fmt.Errorf("gatesqlite: daily totals: %w", err)
	}
	defer rows.Close()
	var out []gate.DailyTotal
	for rows.Next() {
		var t gate.DailyTotal
		var high, low int64
		if err := rows.Scan(&t.Day, &t.Gateway, &t.Status, &t.Currency, &t.Count, &high, &low); err != nil {
			return nil, fmt.Errorf("gatesqlite: daily totals: %w", err)
		}
		var ok bool
		if t.AmountMinor, ok = minorsum.Join(high, low); !ok {
			return nil, fmt.Errorf("gatesqlite: daily total of merchant %q in %s on %s overflows int64: %w",
				q.Merchant, t.Currency, t.Day, payments.ErrInvalidInput)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("gatesqlite: daily totals: %w", err)
	}
	return out, nil
}

// Transactions implements gate.ReportStore.
func (s *Store) Transactions(ctx context.Context, q gate.TransactionQuery) ([]gate.Record, error) {
	after, afterID := int64(-1<<63), ""
	if q.After != nil {
		after, afterID = micros(q.After.CreatedAt), q.After.ID
	}
	limit := q.Limit
	if limit <= 0 {
		limit = -1 // SQLite: no limit
	}
	return s.records(ctx, `SELECT `+recordColumns+` FROM gate_records
		WHERE merchant_id = ? AND created_at >= ? AND created_at < ? AND (created_at > ? OR (created_at = ? AND id > ?))
		ORDER BY created_at, id LIMIT ?`, q.Merchant, micros(q.From), micros(q.To), after, after, afterID, limit)
}
