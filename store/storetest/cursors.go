package storetest

import (
	"fmt"
	"sync"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// cursorTests check a payments.CursorStore; a Store that does not implement
// it declares that it keeps no cursors (the reconciler then keeps them in
// memory), and the group is skipped.
func cursorTests() []namedTest {
	return []namedTest{
		{"UnsavedIsEmpty", testCursorUnsaved},
		{"SavedFromWhereItIs", testCursorSave},
		{"ConcurrentSavesMoveItOnce", testCursorConcurrent},
	}
}

func (f *fixture) cursorStore() payments.CursorStore {
	f.t.Helper()
	cs, ok := f.s.(payments.CursorStore)
	if !ok {
		f.t.Skip("the Store keeps no cursors (it is no payments.CursorStore)")
	}
	return cs
}

func testCursorUnsaved(f *fixture) {
	cs := f.cursorStore()
	got, err := cs.Cursor(f.ctx, "reconcile:"+gateway)
	require.NoError(f.t, err)
	assert.Empty(f.t, got, "a cursor never saved is empty, not an error")
}

func testCursorSave(f *fixture) {
	cs := f.cursorStore()
	name := "reconcile:" + gateway
	require.NoError(f.t, cs.SaveCursor(f.ctx, name, "", "c1"), "the first save starts from empty")
	require.NoError(f.t, cs.SaveCursor(f.ctx, name, "c1", "c2"))
	got, err := cs.Cursor(f.ctx, name)
	require.NoError(f.t, err)
	assert.Equal(f.t, "c2", got)

	assert.ErrorIs(f.t, cs.SaveCursor(f.ctx, name, "c1", "c3"), payments.ErrConflict, "not where it was read: never moved back")
	assert.ErrorIs(f.t, cs.SaveCursor(f.ctx, name, "", "c0"), payments.ErrConflict, "saved already")
	got, err = cs.Cursor(f.ctx, name)
	require.NoError(f.t, err)
	assert.Equal(f.t, "c2", got, "a refused save changes nothing")

	other, err := cs.Cursor(f.ctx, "reconcile:"+otherGateway)
	require.NoError(f.t, err)
	assert.Empty(f.t, other, "cursors are by name")
	long := fmt.Sprintf("%0512d", 7)
	require.NoError(f.t, cs.SaveCursor(f.ctx, "reconcile:"+otherGateway, "", long), "a gateway's cursor may be long")
	other, err = cs.Cursor(f.ctx, "reconcile:"+otherGateway)
	require.NoError(f.t, err)
	assert.Equal(f.t, long, other)
}

// testCursorConcurrent has reconcilers that read the same cursor race to
// move it: exactly one wins, the others are refused.
func testCursorConcurrent(f *fixture) {
	cs := f.cursorStore()
	name := "reconcile:" + gateway
	require.NoError(f.t, cs.SaveCursor(f.ctx, name, "", "start"))
	const racers = 8
	var wg sync.WaitGroup
	errs := make([]error, racers)
	for i := range racers {
		wg.Go(func() { errs[i] = cs.SaveCursor(f.ctx, name, "start", fmt.Sprintf("next%d", i)) })
	}
	wg.Wait()
	won := 0
	for _, err := range errs {
		if err == nil {
			won++
		} else {
			assert.ErrorIs(f.t, err, payments.ErrConflict)
		}
	}
	assert.Equal(f.t, 1, won, "one save moves the cursor")
	got, err := cs.Cursor(f.ctx, name)
	require.NoError(f.t, err)
	assert.Contains(f.t, got, "next")
}
