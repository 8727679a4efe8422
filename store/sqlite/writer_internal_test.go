package sqlite

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestGroupRollsBackOnlyTheFailingJob runs three writes in one group, the
// middle one failing after it has written, and checks that the group
// commits the other two and nothing of the middle one.
func TestGroupRollsBackOnlyTheFailingJob(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "group.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())

	db, err := openWriteDB(ctx, path, defaultBusyTimeout)
	require.NoError(t, err)
	w, err := newWriter(ctx, db, DefaultTablePrefix) // no loop: the test drives the group
	require.NoError(t, err)

	errBoom := errors.New("boom")
	canceled, cancel := context.WithCancel(ctx)
	cancel()
	insert := func(account string, fail error) writeFunc {
		return func(ctx context.Context, q querier) error {
			_, err := q.exec(ctx, `INSERT INTO {{p}}balances (account, currency, amount, entries, updated_at)
				VALUES (?, 'USD', 1, 1, 0)`, account)
			if err != nil {
				return err
			}
			return fail
		}
	}
	group := []*writeJob{
		{ctx: ctx, run: insert("first", nil), done: make(chan error, 1)},
		{ctx: ctx, run: insert("failing", errBoom), done: make(chan error, 1)},
		{ctx: canceled, run: insert("canceled", nil), done: make(chan error, 1)},
		{ctx: ctx, run: insert("last", nil), done: make(chan error, 1)},
	}
	w.commitGroup(group)
	assert.NoError(t, <-group[0].done)
	assert.ErrorIs(t, <-group[1].done, errBoom)
	assert.ErrorIs(t, <-group[2].done, context.Canceled)
	assert.NoError(t, <-group[3].done)
	close(w.exited) // as if a loop had run and ended
	require.NoError(t, w.close())

	s, err = Open(ctx, path, Options{})
	require.NoError(t, err)
	defer s.Close()
	for account, want := range map[string]int64{"first": 1, "failing": 0, "canceled": 0, "last": 1} {
		b, err := s.Balance(ctx, account, "USD")
		require.NoError(t, err)
		assert.Equal(t, want, b.Money.Amount, account)
	}
}
