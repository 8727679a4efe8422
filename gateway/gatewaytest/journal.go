package gatewaytest

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// The checks of what happens to a notification after it arrived: replayed
// from the journal, and parked until the host says whose money it is.

// checkReplay journals a notification as the Service does when its Store
// failed (only the headers the driver names), signed long before the
// driver's tolerance, and replays it: the driver verifies it again, without
// the freshness window, from nothing but what the journal kept.
func checkReplay(t *testing.T, h *Harness) {
	w := newWorld(t, h)
	ctx := context.Background()
	at := time.Now()
	if h.Tolerance > 0 {
		at = at.Add(-2*h.Tolerance - time.Minute)
	}
	req := h.Valid(t, at)
	row := &payments.Notification{
		ID: "ntf_gatewaytest_replay", Gateway: w.name, ReceivedAt: at, RemoteAddr: req.RemoteAddr,
		Header: journaled(h.Gateway, req.Header), Body: req.Body,
		Verified: true, Outcome: payments.OutcomeFailed, Detail: "store: unavailable",
	}
	require.NoError(t, w.store.AppendNotification(ctx, row))

	res, err := w.svc.Replay(ctx, row.ID)
	require.NoError(t, err)
	require.Equal(t, payments.OutcomeRecorded, res.Notification.Outcome, res.Notification.Detail)
	assert.NotEmpty(t, res.Recorded.Entries)
	assert.Equal(t, row.ID, res.Notification.ReplayOf)
	again, err := w.svc.Replay(ctx, row.ID)
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, again.Notification.Outcome, again.Notification.Detail)
	assert.Len(t, w.entries(payments.EntryFilter{Gateway: w.name}), len(res.Recorded.Entries))
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
	assertAcknowledged(t, h, req, parked.Reply)
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
