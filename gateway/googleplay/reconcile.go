package googleplay

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// MaxVoidedWindow is how far back the voided purchases list reaches: its
// startTime "cannot be older than 30 days"
// (https://developers.google.com/android-publisher/api-ref/rest/v3/purchases.voidedpurchases/list).
const MaxVoidedWindow = 30 * 24 * time.Hour

// voidedEndLag keeps a listing's endTime behind the local clock: the API
// refuses an endTime "greater than the current time", and Google's clock
// may be behind ours.
const voidedEndLag = 2 * time.Minute

// VoidedPage is one listing of the voided purchases list, translated into
// records that Gateway.ParseRecord turns into refunds.
type VoidedPage struct {
	// Records are one JSON record per voided order: Google's VoidedPurchase
	// with its product type. They are what a reconciliation journals, so
	// that replaying one looks the order up again (ParseRecord).
	Records [][]byte
	// Until is the listing's endTime: pass it as since next time, once
	// every record is recorded. The list filters on when Google's systems
	// saw a purchase as voided, not on voidedTimeMillis, so it is the only
	// cursor that leaves no gap; a small overlap covers clock skew.
	Until time.Time
	// Clamped reports that since was older than MaxVoidedWindow and was
	// moved forward: voids seen by Google in between can no longer be
	// listed.
	Clamped bool
}

// voidedRecord is one record of a VoidedPage.
type voidedRecord struct {
	// ProductType is productTypeOneTime or productTypeSubscription; the
	// list does not say, so VoidedSince lists twice (type 0, then 1) over
	// the same window and tells them apart.
	ProductType int64 `json:"productType"`
	// Partial: every record the list gave for the order is a
	// quantity-based partial refund.
	Partial        bool                             `json:"partial"`
	VoidedPurchase *androidpublisher.VoidedPurchase `json:"voidedPurchase"`
}

// VoidedSince lists the purchases Google voided (refunds, chargebacks,
// revocations) since since, for the refunds whose notification never
// arrived: purchases.voidedpurchases.list, with type 1 for subscription
// renewals as well as one-time products, and with quantity-based partial
// refunds. A zero since lists as far back as Google allows. Each order is
// one record, whatever number of partial refunds the list gives for it.
//
// Recording the records is the host's: VoidedPoller hands each to
// Service.Record, which runs it through ParseRecord and the ledger under
// the keys its notification would have, so a refund the notification
// recorded is a duplicate, never a second refund.
func (g *Gateway) VoidedSince(ctx context.Context, since time.Time) (*VoidedPage, error) {
	now := g.now()
	page := &VoidedPage{Until: now.Add(-voidedEndLag)}
	if earliest := now.Add(-MaxVoidedWindow + time.Minute); since.Before(earliest) {
		page.Clamped = !since.IsZero()
		since = earliest
	}
	if !since.Before(page.Until) {
		return page, nil
	}
	oneTime := map[string]bool{}
	err := g.listVoided(ctx, since, page.Until, 0, func(v *androidpublisher.VoidedPurchase) {
		oneTime[v.OrderId+"\x00"+v.PurchaseToken] = true
	})
	if err != nil {
		return nil, err
	}
	var records []*voidedRecord
	byOrder := map[string]*voidedRecord{}
	err = g.listVoided(ctx, since, page.Until, 1, func(v *androidpublisher.VoidedPurchase) {
		id := v.OrderId + "\x00" + v.PurchaseToken
		partial := v.VoidedQuantity > 0
		if r, ok := byOrder[id]; ok {
			r.Partial = r.Partial && partial
			return
		}
		r := &voidedRecord{ProductType: productTypeSubscription, Partial: partial, VoidedPurchase: v}
		if oneTime[id] || partial {
			r.ProductType = productTypeOneTime
		}
		byOrder[id] = r
		records = append(records, r)
	})
	if err != nil {
		return nil, err
	}
	for _, r := range records {
		body, err := json.Marshal(r)
		if err != nil {
			return nil, fmt.Errorf("googleplay: encode voided record: %w", err)
		}
		page.Records = append(page.Records, body)
	}
	return page, nil
}

// listVoided reads every page of one listing. Once a page token is set the
// API ignores startTime and endTime, which the token carries.
func (g *Gateway) listVoided(ctx context.Context, since, until time.Time, typ int64, each func(*androidpublisher.VoidedPurchase)) error {
	call := g.api.Purchases.Voidedpurchases.List(g.pkg).StartTime(since.UnixMilli()).EndTime(until.UnixMilli()).
		Type(typ).IncludeQuantityBasedPartialRefund(true)
	seen := map[string]bool{}
	for {
		resp, err := call.Context(ctx).Do()
		if err != nil {
			return apiError("voidedpurchases.list", fmt.Sprintf("type %d", typ), err)
		}
		for _, v := range resp.VoidedPurchases {
			if v != nil {
				each(v)
			}
		}
		next := ""
		if resp.TokenPagination != nil {
			next = resp.TokenPagination.NextPageToken
		}
		if next == "" {
			return nil
		}
		if seen[next] {
			return fmt.Errorf("googleplay: voidedpurchases.list repeats a page token")
		}
		seen[next] = true
		call = call.Token(next)
	}
}

// ParseRecord translates one record of a VoidedPage into refunds, as the
// voidedPurchaseNotification of the same order would be: the purchase is
// looked up (purchases.productsv2 for a one-time product,
// purchases.subscriptionsv2 for a subscription) and each refund keyed like
// the charge. A one-time purchase of several units is refunded a unit at a
// time, keyed "order/1", "order/2", …, the voided units being the first
// quantity − refundableQuantity: however Google reports the voids (one
// partial refund at a time, several at once, the rest as a full refund),
// each unit is refunded once. It is the driver's half of a
// reconciliation (payments.RecordParser): Service.Record journals the
// record and records what it returns and, on a replay of the journaled
// record, calls it again. A record it cannot read fails with
// payments.ErrInvalidInput.
func (g *Gateway) ParseRecord(ctx context.Context, body []byte) (*payments.Changes, error) {
	var r voidedRecord
	if err := json.Unmarshal(body, &r); err != nil || r.VoidedPurchase == nil {
		return nil, fmt.Errorf("googleplay: not a voided purchase record: %w", payments.ErrInvalidInput)
	}
	v := r.VoidedPurchase
	c, err := g.voidedChanges(ctx, voidClaim{orderID: v.OrderId, token: v.PurchaseToken, productType: r.ProductType,
		partial: r.Partial, at: millis(v.VoidedTimeMillis)})
	if err != nil {
		return nil, err
	}
	c.EventID, c.EventType = "voided:"+v.OrderId, "voidedpurchases.list"
	return c, nil
}
