package googleplay_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
)

// TestReconcileVoidedPurchases: the Service's reconciler records the
// refund whose notification never arrived, once; the notification arriving
// late is a duplicate, and the next pass starts at the cursor.
func TestReconcileVoidedPurchases(t *testing.T) {
	w := newWorld(t)
	seen := time.Now().Add(-time.Hour)
	token, order := w.api.purchase("coins_100", "acct_rec")
	_, err := verify(t, w, "acct_rec", "coins_100", token)
	require.NoError(t, err)
	require.Positive(t, w.balance(t, "acct_rec"), "charged")
	w.api.voidOneTime(token, 1, seen)

	rep, err := w.svc.Reconcile(t.Context(), "googleplay")
	require.NoError(t, err)
	assert.Equal(t, 1, rep.Recorded, "the refund whose notification never arrived")
	assert.Empty(t, rep.Differences)
	assert.Zero(t, w.balance(t, "acct_rec"))
	next, err := time.Parse(time.RFC3339Nano, rep.Next)
	require.NoError(t, err, "the cursor is the listing's endTime")
	assert.WithinDuration(t, time.Now().Add(-2*time.Minute), next, 5*time.Second)

	res, err := w.deliver(t, voidedNotice(token, order, 2, 1))
	require.NoError(t, err)
	assert.Equal(t, payments.OutcomeDuplicate, res.Notification.Outcome, "the late notification")
	assert.Zero(t, w.balance(t, "acct_rec"), "nothing doubles")

	page, err := w.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: rep.Next})
	require.NoError(t, err)
	assert.Empty(t, page.Records, "nothing voided since the cursor")
	_, err = w.g.ListMoved(t.Context(), payments.MovedQuery{Cursor: "yesterday"})
	assert.ErrorIs(t, err, payments.ErrInvalidInput)
}
