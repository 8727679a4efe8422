package cryptomus

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/payrail/payments"
)

// checkSender enforces Config.CheckWebhookIP.
func (g *Gateway) checkSender(ctx context.Context, req *payments.WebhookRequest) error {
	if !g.cfg.CheckWebhookIP {
		return nil
	}
	sender, err := g.senderIP(req)
	if err != nil {
		return fmt.Errorf("cryptomus: webhook sender: %v: %w", err, payments.ErrUnauthenticated)
	}
	if containsAddr(g.allowed, sender) {
		return nil
	}
	g.log.WarnContext(ctx, "cryptomus: webhook from a sender not in WebhookIPs", "sender", sender.String())
	return fmt.Errorf("cryptomus: webhook sender %s is not allowed: %w", sender, payments.ErrUnauthenticated)
}

// senderIP is the request's peer address, or, when the peer is a trusted
// proxy, the nearest X-Forwarded-For hop that is not one: hops are read
// from the right, because only the part a trusted proxy appended can be
// believed and a client can put anything on the left.
func (g *Gateway) senderIP(req *payments.WebhookRequest) (netip.Addr, error) {
	peer, err := parseRemoteAddr(req.RemoteAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	if !containsAddr(g.cfg.TrustedProxies, peer) {
		return peer, nil
	}
	var hops []string
	for _, v := range req.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	sender := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := netip.ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("malformed X-Forwarded-For hop %q", hops[i])
		}
		sender = hop.Unmap()
		if !containsAddr(g.cfg.TrustedProxies, sender) {
			break
		}
	}
	return sender, nil
}

// parseRemoteAddr accepts "host:port" (net/http's RemoteAddr) or a bare
// address.
func parseRemoteAddr(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	return netip.Addr{}, fmt.Errorf("remote address %q is not an IP address", s)
}

func containsAddr(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}
