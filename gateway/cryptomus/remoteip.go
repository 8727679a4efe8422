package cryptomus

import (
	"context"
	"errors"
	"fmt"

	"github.com/payrail/payments"
	"github.com/payrail/payments/internal/remoteip"
)

// checkSender enforces Config.CheckWebhookIP: the sender, read from the
// peer address or, behind a trusted proxy, from X-Forwarded-For (see
// remoteip.Allowlist.Sender), must be one of the allowed addresses.
func (g *Gateway) checkSender(ctx context.Context, req *payments.WebhookRequest) error {
	if !g.cfg.CheckWebhookIP {
		return nil
	}
	sender, err := g.senders.Check(req.RemoteAddr, req.Header)
	if errors.Is(err, remoteip.ErrNotAllowed) {
		g.log.WarnContext(ctx, "cryptomus: webhook from a sender not in WebhookIPs", "sender", sender.String())
		return fmt.Errorf("cryptomus: webhook sender %s is not allowed: %w", sender, payments.ErrUnauthenticated)
	}
	if err != nil {
		return fmt.Errorf("cryptomus: webhook sender: %v: %w", err, payments.ErrUnauthenticated)
	}
	return nil
}
