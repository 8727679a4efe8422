package sqlite

import (
	"context"
	"errors"
	"fmt"
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
	results, err := w.commitGroup(group)
	require.NoError(t, err)
	assert.NoError(t, results[0])
	assert.ErrorIs(t, results[1], errBoom)
	assert.ErrorIs(t, results[2], context.Canceled)
	assert.NoError(t, results[3])
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

// TestSavepointsOnlyAfterFailures checks when groups pay for savepoints: a
// group runs without them until one of its jobs fails, groups keep them
// while failures go on, and drop them after a group without one. A job
// alone never needs one.
func TestSavepointsOnlyAfterFailures(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "careful.db")
	s, err := Open(ctx, path, Options{})
	require.NoError(t, err)
	require.NoError(t, s.Close())
	db, err := openWriteDB(ctx, path, defaultBusyTimeout)
	require.NoError(t, err)
	w, err := newWriter(ctx, db, DefaultTablePrefix)
	require.NoError(t, err)
	defer func() {
		close(w.exited)
		require.NoError(t, w.close())
	}()

	errBoom := errors.New("boom")
	var runs, jobs int
	job := func(fail error) *writeJob {
		jobs++
		account := fmt.Sprint("acct_", jobs)
		return &writeJob{ctx: ctx, done: make(chan error, 1), run: func(ctx context.Context, q querier) error {
			runs++
			if _, err := q.exec(ctx, `INSERT INTO {{p}}balances (account, currency, amount, entries, updated_at)
				VALUES (?, 'USD', 1, 1, 0)`, account); err != nil {
				return err
			}
			return fail
		}}
	}
	commit := func(fails ...error) (errs []error) {
		var group []*writeJob
		for _, f := range fails {
			group = append(group, job(f))
		}
		runs = 0
		errs, err := w.commitGroup(group)
		require.NoError(t, err)
		return errs
	}

	assert.Equal(t, []error{errBoom}, commit(errBoom))
	assert.Equal(t, 1, runs, "a job alone rolls back with its transaction")
	assert.False(t, w.careful)

	assert.Equal(t, []error{nil, errBoom, nil}, commit(nil, errBoom, nil))
	assert.Equal(t, 2+3, runs, "the group ran up to the failure, then again with savepoints")
	assert.True(t, w.careful)

	assert.Equal(t, []error{errBoom, nil}, commit(errBoom, nil))
	assert.Equal(t, 2, runs, "with savepoints, a group runs once")
	assert.True(t, w.careful, "failures go on")

	assert.Equal(t, []error{nil, nil}, commit(nil, nil))
	assert.Equal(t, 2, runs)
	assert.False(t, w.careful, "a group without failure drops the savepoints")
}
