package memory

import (
	"context"
	"fmt"

	"github.com/payrail/payments"
)

var _ payments.CursorStore = (*Store)(nil)

// Cursor implements payments.CursorStore.
func (s *Store) Cursor(ctx context.Context, name string) (string, error) {
	if err := s.lock(); err != nil {
		return "", err
	}
	defer s.mu.Unlock()
	return s.cursors[name], nil
}

// SaveCursor implements payments.CursorStore: it moves the cursor from prev
// to next, or is payments.ErrConflict when it is no longer at prev.
func (s *Store) SaveCursor(ctx context.Context, name, prev, next string) error {
	if err := s.lock(); err != nil {
		return err
	}
	defer s.mu.Unlock()
	if name == "" {
		return fmt.Errorf("memory: cursor without a name: %w", payments.ErrInvalidInput)
	}
	if s.cursors[name] != prev {
		return fmt.Errorf("memory: cursor %s is no longer at %q: %w", name, prev, payments.ErrConflict)
	}
	if s.cursors == nil {
		s.cursors = map[string]string{}
	}
	s.cursors[name] = next
	return nil
}
