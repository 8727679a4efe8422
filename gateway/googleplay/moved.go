package googleplay

import (
	"context"
	"fmt"
	"time"

	"github.com/payrail/payments"
)

var _ payments.Reconciler = (*Gateway)(nil)

// ListMoved implements payments.Reconciler over the voided purchases list
// (VoidedSince), so that the Service's reconciler (payments.WithReconcile)
// records the refunds whose voidedPurchaseNotification never arrived, with
// its cursor in the payments Store: the cursor is the previous listing's
// endTime (RFC 3339), and a listing starts q.Lookback before it, or at
// q.Since without one. Google lists no further back than MaxVoidedWindow;
// an older start is moved forward, and the voids in between can no longer
// be listed. Charges are not listed — Google has no list of purchases — so
// only refunds and chargebacks are reconciled. The listing filters on
// when Google saw a void, not on when it happened, so the page is never
// Complete. Use this or a VoidedPoller, not both: each spends the list's
// daily quota.
func (g *Gateway) ListMoved(ctx context.Context, q payments.MovedQuery) (*payments.MovedPage, error) {
	since := q.Since
	if q.Cursor != "" {
		t, err := time.Parse(time.RFC3339Nano, q.Cursor)
		if err != nil {
			return nil, fmt.Errorf("googleplay: reconciliation cursor %q is not a time: %w", q.Cursor, payments.ErrInvalidInput)
		}
		since = t.Add(-q.Lookback)
	}
	page, err := g.VoidedSince(ctx, since)
	if err != nil {
		return nil, err
	}
	return &payments.MovedPage{Records: page.Records, Next: page.Until.UTC().Format(time.RFC3339Nano), From: since, Until: page.Until}, nil
}
