package gatewaytest

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/store/memory"
)

// The checks of what happens to a notification after it arrived: replayed
// from the journal, and parked until the host says whose money it is.

// checkReplay has the Service journal a notification signed long before
// the driver's tolerance while its Store is down, as the row of a webhook
// that failed, and replays it: the driver verifies it again, without the
// freshness window, from nothing but what the journal kept (the headers
// the driver names with payments.HeaderNamer, the raw body).
func checkReplay(t *testing.T, h *Harness) {
	store := &downOnce{Store: memory.New()}
	w := newWorldOn(t, h, store)
	svc := w.svc
	ctx := context.Background()
	at := time.Now()
	if h.Tolerance > 0 {
		at = at.Add(-2*h.Tolerance - time.Minute)
	}
	// Replay marks it as a host's own replay, so that its age is no
	// reason to refuse it; the Store being down is what journals it failed.
	req := w.valid(at)
	req.Replay = true
	store.down.Store(true)
	failed, err := svc.HandleWebhook(ctx, h.Gateway.Name(), req)
	require.Error(t, err)
	require.Equal(t, payments.OutcomeFailed, failed.Notification.Outcome, failed.Notification.Detail)
	require.True(t, failed.Notification.Verified)

	res, err := svc.Replay(ctx, failed.Notification.ID)
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	assert.NotEmpty(t, res.Recorded.Entries)
	assert.Equal(t, failed.Notification.ID, res.Notification.ReplayOf)
	again, err := svc.Replay(ctx, failed.Notification.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, again.Notification.Outcome, again.Notification.Detail)
	entries, _, err := svc.Entries(ctx, payments.EntryFilter{Gateway: h.Gateway.Name()})
	require.NoError(t, err)
	assert.Len(t, entries, len(res.Recorded.Entries))
}

// downOnce is a Store whose next Commit fails, as a database that is down
// would, while its journal still works.
type downOnce struct {
	payments.Store
	down atomic.Bool
}

func (s *downOnce) Commit(ctx context.Context, b *payments.Batch) (*payments.BatchResult, error) {
	if s.down.CompareAndSwap(true, false) {
		return nil, errors.New("gatewaytest: the store is down")
	}
	return s.Store.Commit(ctx, b)
}

// checkAttribute: money no account can be found for is parked and
// acknowledged; attributing it records it once for that account, and
// attributing it to another account afterwards is a conflict.
func checkAttribute(t *testing.T, h *Harness) {
	require.NotNil(t, h.Unattributed, "Harness.Unattributed")
	w := newWorld(t, h)
	ctx := context.Background()
	req := h.Unattributed(t, time.Now())
	parked := w.deliver(req, payments.OutcomeParked)
	assertAcknowledged(t, h, req, parked)
	assert.Empty(t, w.entries(payments.EntryFilter{Gateway: w.name}), "parked money is not in the ledger")

	const account = "acct_attributed"
	res, err := w.svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: account})
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	require.NotEmpty(t, res.Recorded.Entries)
	recorded := w.entries(payments.EntryFilter{Account: account})
	require.Len(t, recorded, len(res.Recorded.Entries))
	var sum int64
	for _, e := range recorded {
		assert.Equal(t, account, e.Account)
		sum += e.Amount.Amount
	}

	again, err := w.svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: account})
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, again.Notification.Outcome, again.Notification.Detail)
	_, err = w.svc.Attribute(ctx, parked.Notification.ID, payments.Attribution{Account: "acct_other"})
	assert.ErrorIs(t, err, payments.ErrConflict)
	assert.Empty(t, w.entries(payments.EntryFilter{Account: "acct_other"}))
	assert.Len(t, w.entries(payments.EntryFilter{Gateway: w.name}), len(recorded))
	b, err := w.svc.Balance(ctx, account, recorded[0].Amount.Currency)
	require.NoError(t, err)
	assert.Equal(t, sum, b.Money.Amount)
}
