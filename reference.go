package payments

import (
	"crypto/rand"
	"fmt"
	"strings"
)

// Reference is the host's key for what is being paid, written
// "type:id:suffix" (order:672626:k3j2h1): the kind of purchase, the host's id
// of it, and a random suffix that makes each attempt unique so a gateway that
// refuses reused order ids accepts a retry. One webhook consumer can route
// several kinds of purchase by Type.
type Reference struct {
	Type   string // lower-case letters, digits, '_' or '-', starting with a letter
	ID     string // letters, digits, '_', '-' or '.'
	Suffix string // lower-case letters and digits
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// NewReference builds a Reference with a fresh random six-character suffix.
func NewReference(typ, id string) (Reference, error) {
	var b [6]byte
	if _, err := rand.Read(b[:]); err != nil {
		return Reference{}, fmt.Errorf("payments: reference suffix: %w", err)
	}
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	r := Reference{Type: typ, ID: id, Suffix: string(b[:])}
	return r, r.validate()
}

// ParseReference parses "type:id:suffix", rejecting anything malformed with
// ErrInvalidInput.
func ParseReference(s string) (Reference, error) {
	parts := strings.Split(s, ":")
	if len(parts) != 3 {
		return Reference{}, fmt.Errorf("payments: reference %q: want type:id:suffix: %w", s, ErrInvalidInput)
	}
	r := Reference{Type: parts[0], ID: parts[1], Suffix: parts[2]}
	return r, r.validate()
}

// String formats the reference as "type:id:suffix".
func (r Reference) String() string { return r.Type + ":" + r.ID + ":" + r.Suffix }

func (r Reference) validate() error {
	ok := len(r.Type) > 0 && r.Type[0] >= 'a' && r.Type[0] <= 'z' &&
		only(r.Type, isLowerAlnum, "_-") &&
		only(r.ID, isAlnum, "_-.") &&
		only(r.Suffix, isLowerAlnum, "")
	if !ok || len(r.String()) > 128 {
		return fmt.Errorf("payments: reference %q: malformed: %w", r.String(), ErrInvalidInput)
	}
	return nil
}

func only(s string, class func(byte) bool, extra string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !class(s[i]) && !strings.ContainsRune(extra, rune(s[i])) {
			return false
		}
	}
	return true
}

func isLowerAlnum(c byte) bool { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') }

func isAlnum(c byte) bool { return isLowerAlnum(c) || (c >= 'A' && c <= 'Z') }
