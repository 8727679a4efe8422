package googleplay

import (
	"context"

	"google.golang.org/api/androidpublisher/v3"

	"github.com/payrail/payments"
)

// followup is what AfterCommit must tell Google about purchases the ledger
// has recorded (payments.Changes.Followup).
type followup struct {
	items []followupItem
}

// followupItem is one purchase to acknowledge and, for a consumable, to
// consume. Both flags come from the lookup that preceded the commit, so a
// redelivery, which looks the purchase up again, asks only for what is
// still to do.
type followupItem struct {
	subscription bool
	productID    string
	token        string
	acknowledge  bool
	consume      bool
}

// AfterCommit implements payments.AfterCommitter: once the ledger has
// recorded a purchase, it acknowledges it
// (purchases.products.acknowledge, purchases.subscriptions.acknowledge)
// and consumes a one-time product listed in Config.Consumables
// (purchases.products.consume), so that it can be bought again. Google
// refunds a purchase that is not acknowledged within three days
// (https://developer.android.com/google/play/billing/integrate),
// and nothing is acknowledged before it is durable. The Service calls it
// after every commit, duplicates included; its error answers a webhook 500
// so that Pub/Sub delivers it again, and fails VerifyPurchase so that the
// app reports the purchase again, and either way the purchase is looked up
// anew and what is left is done.
func (g *Gateway) AfterCommit(ctx context.Context, c *payments.Changes, res *payments.BatchResult) error {
	f, ok := c.Followup.(*followup)
	if !ok || f == nil {
		return nil
	}
	for _, it := range f.items {
		if err := g.follow(ctx, it); err != nil {
			return err
		}
	}
	return nil
}

func (g *Gateway) follow(ctx context.Context, it followupItem) error {
	subject := it.productID + " " + tokenRef(it.token)
	if it.subscription {
		if !it.acknowledge {
			return nil
		}
		err := g.api.Purchases.Subscriptions.Acknowledge(g.pkg, it.productID, it.token,
			&androidpublisher.SubscriptionPurchasesAcknowledgeRequest{}).Context(ctx).Do()
		if err != nil {
			return apiError("subscriptions.acknowledge", subject, err)
		}
		return nil
	}
	if it.acknowledge {
		err := g.api.Purchases.Products.Acknowledge(g.pkg, it.productID, it.token,
			&androidpublisher.ProductPurchasesAcknowledgeRequest{}).Context(ctx).Do()
		if err != nil {
			return apiError("products.acknowledge", subject, err)
		}
	}
	if it.consume {
		if err := g.api.Purchases.Products.Consume(g.pkg, it.productID, it.token).Context(ctx).Do(); err != nil {
			return apiError("products.consume", subject, err)
		}
	}
	return nil
}
