// Package cursor encodes the opaque cursors the stores hand out with each
// page of a listing: the sort key of the page's last row, so that the next
// page starts after it whatever was written meanwhile.
package cursor

import (
	"encoding/base64"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// Key is the sort key of a listed row: a time (zero for listings ordered
// by a sequence alone) and an id or sequence number.
type Key struct {
	At time.Time
	ID string
}

// Encode returns the cursor of the page that follows the row with key k.
// The zero time is written "-", apart from every instant (the Unix epoch
// included), so that it reads back as the zero time.
func Encode(k Key) string {
	at := "-"
	if !k.At.IsZero() {
		at = strconv.FormatInt(k.At.UnixMicro(), 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte("1." + at + "." + k.ID))
}

// Decode reads a cursor Encode made; anything else is ErrInvalidInput.
func Decode(s string) (Key, error) {
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return Key{}, invalid(s)
	}
	version, rest, ok1 := strings.Cut(string(raw), ".")
	at, id, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 || version != "1" || id == "" {
		return Key{}, invalid(s)
	}
	k := Key{ID: id}
	if at != "-" {
		micros, err := strconv.ParseInt(at, 10, 64)
		if err != nil {
			return Key{}, invalid(s)
		}
		k.At = time.UnixMicro(micros).UTC()
	}
	return k, nil
}

// EncodeSeq and DecodeSeq are Encode and Decode for listings ordered by a
// sequence number alone.
func EncodeSeq(seq int64) string { return Encode(Key{ID: strconv.FormatInt(seq, 10)}) }

// DecodeSeq reads a cursor EncodeSeq made.
func DecodeSeq(s string) (int64, error) {
	k, err := Decode(s)
	if err != nil {
		return 0, err
	}
	seq, err := strconv.ParseInt(k.ID, 10, 64)
	if err != nil || !k.At.IsZero() {
		return 0, invalid(s)
	}
	return seq, nil
}

// Limit is the page size a filter asks for: limit, or
// payments.DefaultListLimit when it is not positive.
func Limit(limit int) int {
	if limit <= 0 {
		return payments.DefaultListLimit
	}
	return limit
}

func invalid(s string) error {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return fmt.Errorf("cursor %q was not issued by this store: %w", s, payments.ErrInvalidInput)
}
