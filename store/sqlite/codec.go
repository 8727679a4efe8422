package sqlite

import (
	"database/sql"
	"encoding/json"
	"fmt"
	"net/http"
	"time"
)

// Times are stored as unix microseconds, UTC: an INTEGER sorts and compares
// in SQL, and microseconds are what PostgreSQL keeps too, so both stores
// round a time alike. A zero time.Time is stored as its own (negative) value
// where the column is NOT NULL and read back as the zero time.

func micros(t time.Time) int64 { return t.UnixMicro() }

// optionalMicros stores a zero time as NULL.
func optionalMicros(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UnixMicro()
}

func fromMicros(v int64) time.Time { return time.UnixMicro(v).UTC() }

// storedTime is t as a read will return it once stored.
func storedTime(t time.Time) time.Time { return fromMicros(micros(t)) }

func fromOptionalMicros(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromMicros(v.Int64)
}

// encodeMetadata stores a nil map as NULL, so that it reads back as nil.
func encodeMetadata(m map[string]string) (any, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode metadata: %w", err)
	}
	return string(b), nil
}

func decodeMetadata(v sql.NullString) (map[string]string, error) {
	if !v.Valid {
		return nil, nil
	}
	var m map[string]string
	if err := json.Unmarshal([]byte(v.String), &m); err != nil {
		return nil, fmt.Errorf("sqlite: decode metadata: %w", err)
	}
	return m, nil
}

// encodeHeader stores a nil header as NULL, so that it reads back as nil.
func encodeHeader(h http.Header) (any, error) {
	if h == nil {
		return nil, nil
	}
	b, err := json.Marshal(h)
	if err != nil {
		return nil, fmt.Errorf("sqlite: encode header: %w", err)
	}
	return string(b), nil
}

func decodeHeader(v sql.NullString) (http.Header, error) {
	if !v.Valid {
		return nil, nil
	}
	var h http.Header
	if err := json.Unmarshal([]byte(v.String), &h); err != nil {
		return nil, fmt.Errorf("sqlite: decode header: %w", err)
	}
	return h, nil
}

// scanner is what *sql.Row and *sql.Rows have in common.
type scanner interface {
	Scan(dest ...any) error
}
