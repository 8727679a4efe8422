package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/payrail/payments"
)

// Endpoints of postbacks (payments.Endpoint), in the postback_endpoints
// table of migration 0006: secrets and events as JSON arrays, events empty
// for every type.

const endpointColumns = `id, url, secrets, events, owner, disabled_at, disabled_reason, created_at`

// fanOut is an enabled endpoint as the fan-out needs it.
type fanOut struct {
	seq    int64
	id     string
	events []payments.EventType // empty for every type
}

// enabledEndpoints reads, in the batch's transaction, the endpoints that
// get new messages, in the order they were first saved.
func enabledEndpoints(ctx context.Context, tx querier) ([]fanOut, error) {
	rows, err := tx.query(ctx, `SELECT seq, id, events FROM {{p}}postback_endpoints WHERE disabled_at IS NULL ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: postback endpoints: %w", err)
	}
	defer rows.Close()
	var out []fanOut
	for rows.Next() {
		var ep fanOut
		var events string
		if err := rows.Scan(&ep.seq, &ep.id, &events); err != nil {
			return nil, fmt.Errorf("sqlite: postback endpoints: %w", err)
		}
		if err := json.Unmarshal([]byte(events), &ep.events); err != nil {
			return nil, fmt.Errorf("sqlite: endpoint %s: decode events: %w", ep.id, err)
		}
		out = append(out, ep)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: postback endpoints: %w", err)
	}
	return out, nil
}

// SaveEndpoint implements payments.PostbackStore: it inserts the endpoint,
// or replaces every field of the one with e.ID, which keeps its place in
// Endpoints. Its secrets are stored as given: signing needs them.
func (s *Store) SaveEndpoint(ctx context.Context, e *payments.Endpoint) error {
	if e.ID == "" {
		return fmt.Errorf("sqlite: endpoint without id: %w", payments.ErrInvalidInput)
	}
	secrets, err := json.Marshal(nonNil(e.Secrets))
	if err != nil {
		return fmt.Errorf("sqlite: endpoint %s: encode secrets: %w", e.ID, err)
	}
	events, err := json.Marshal(nonNil(e.Events))
	if err != nil {
		return fmt.Errorf("sqlite: endpoint %s: encode events: %w", e.ID, err)
	}
	return s.writer.do(ctx, func(ctx context.Context, tx querier) error {
		_, err := tx.exec(ctx, `INSERT INTO {{p}}postback_endpoints (`+endpointColumns+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET url = excluded.url, secrets = excluded.secrets, events = excluded.events,
				owner = excluded.owner, disabled_at = excluded.disabled_at, disabled_reason = excluded.disabled_reason,
				created_at = excluded.created_at`,
			e.ID, e.URL, string(secrets), string(events), e.Owner, optionalMicros(e.DisabledAt), e.DisabledReason,
			micros(e.CreatedAt))
		if err != nil {
			return fmt.Errorf("sqlite: save endpoint %s: %w", e.ID, err)
		}
		return nil
	})
}

func nonNil[T any](list []T) []T {
	if list == nil {
		return []T{}
	}
	return list
}

// Endpoint implements payments.PostbackStore; an unknown id is
// payments.ErrNotFound.
func (s *Store) Endpoint(ctx context.Context, id string) (*payments.Endpoint, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	e, err := scanEndpoint(q.queryRow(ctx, `SELECT `+endpointColumns+` FROM {{p}}postback_endpoints WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, fmt.Errorf("sqlite: endpoint %s: %w", id, payments.ErrNotFound)
	}
	return e, err
}

// Endpoints implements payments.PostbackStore: every endpoint, in the
// order each was first saved.
func (s *Store) Endpoints(ctx context.Context) ([]payments.Endpoint, error) {
	q, err := s.read()
	if err != nil {
		return nil, err
	}
	rows, err := q.query(ctx, `SELECT `+endpointColumns+` FROM {{p}}postback_endpoints ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: list endpoints: %w", err)
	}
	defer rows.Close()
	var out []payments.Endpoint
	for rows.Next() {
		e, err := scanEndpoint(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, *e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("sqlite: list endpoints: %w", err)
	}
	return out, nil
}

// scanEndpoint returns sql.ErrNoRows unwrapped, for Endpoint to tell.
func scanEndpoint(row scanner) (*payments.Endpoint, error) {
	var (
		e               payments.Endpoint
		secrets, events string
		disabledAt      sql.NullInt64
		createdAt       int64
	)
	err := row.Scan(&e.ID, &e.URL, &secrets, &events, &e.Owner, &disabledAt, &e.DisabledReason, &createdAt)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("sqlite: read endpoint: %w", err)
	}
	if err := json.Unmarshal([]byte(secrets), &e.Secrets); err != nil {
		return nil, fmt.Errorf("sqlite: endpoint %s: decode secrets: %w", e.ID, err)
	}
	if err := json.Unmarshal([]byte(events), &e.Events); err != nil {
		return nil, fmt.Errorf("sqlite: endpoint %s: decode events: %w", e.ID, err)
	}
	// Empty lists are stored as [] (the columns are NOT NULL) and read
	// back as nil, as an endpoint saved without events or secrets had them.
	if len(e.Secrets) == 0 {
		e.Secrets = nil
	}
	if len(e.Events) == 0 {
		e.Events = nil
	}
	e.DisabledAt, e.CreatedAt = fromOptionalMicros(disabledAt), fromMicros(createdAt)
	return &e, nil
}
