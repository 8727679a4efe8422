// Package remoteip decides who sent an inbound request: the peer address,
// or, behind the host's own reverse proxies, the nearest X-Forwarded-For
// hop they vouch for. Drivers whose gateways publish the addresses their
// notifications come from (Payeer, Anypay, Cryptomus) use it to keep an
// allowlist of senders as defence in depth behind the signature.
package remoteip

import (
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"strings"
)

// ForwardedFor is the header a reverse proxy appends the client's address
// to. A driver that checks senders behind trusted proxies must name it in
// payments.HeaderNamer, so that the journal keeps it and a replay checks
// the same address.
const ForwardedFor = "X-Forwarded-For"

// maxHops bounds how many X-Forwarded-For entries are examined: a real
// chain of proxies is a handful long, and a client can send thousands.
const maxHops = 32

// Allowlist accepts requests from Allowed senders. The zero Allowlist
// accepts nobody.
type Allowlist struct {
	// Allowed are the senders accepted.
	Allowed []netip.Prefix
	// TrustedProxies are the host's own reverse proxies. X-Forwarded-For
	// is believed only when the peer is one of them, and only up to the
	// first hop, read from the right, that is not one of them: a trusted
	// proxy appends what it saw, and anything to the left of that is the
	// client's to invent. Empty means the header is ignored.
	TrustedProxies []netip.Prefix
}

// Sender returns the address the request came from: the peer in
// remoteAddr ("host:port", as net/http gives it, or a bare address), or,
// when the peer is a trusted proxy, the nearest X-Forwarded-For hop that is
// not one. A malformed peer or hop is an error: a proxy that writes
// garbage is no proxy to believe.
func (a Allowlist) Sender(remoteAddr string, h http.Header) (netip.Addr, error) {
	peer, err := ParseAddr(remoteAddr)
	if err != nil {
		return netip.Addr{}, err
	}
	if !Contains(a.TrustedProxies, peer) {
		return peer, nil
	}
	var hops []string
	for _, v := range h.Values(ForwardedFor) {
		hops = append(hops, strings.Split(v, ",")...)
		if len(hops) > maxHops {
			return netip.Addr{}, fmt.Errorf("more than %d %s hops", maxHops, ForwardedFor)
		}
	}
	sender := peer
	for i := len(hops) - 1; i >= 0; i-- {
		hop, err := ParseAddr(strings.TrimSpace(hops[i]))
		if err != nil {
			return netip.Addr{}, fmt.Errorf("malformed %s hop %q", ForwardedFor, truncate(hops[i]))
		}
		sender = hop
		if !Contains(a.TrustedProxies, sender) {
			break
		}
	}
	return sender, nil
}

// ErrNotAllowed is returned by Check for a sender outside Allowed.
var ErrNotAllowed = errors.New("sender not allowed")

// Check returns the sender (see Sender) and an error wrapping ErrNotAllowed
// when it is not in Allowed.
func (a Allowlist) Check(remoteAddr string, h http.Header) (netip.Addr, error) {
	sender, err := a.Sender(remoteAddr, h)
	if err != nil {
		return netip.Addr{}, err
	}
	if !Contains(a.Allowed, sender) {
		return sender, fmt.Errorf("%s: %w", sender, ErrNotAllowed)
	}
	return sender, nil
}

// ParseAddr accepts "host:port" (net/http's RemoteAddr, and what some
// proxies write into X-Forwarded-For) or a bare address, and returns the
// address with any IPv4-in-IPv6 mapping removed, so that "::ffff:1.2.3.4"
// matches a 1.2.3.4/32 prefix.
func ParseAddr(s string) (netip.Addr, error) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.Unmap(), nil
	}
	return netip.Addr{}, fmt.Errorf("%q is not an IP address", truncate(s))
}

// ParsePrefixes parses CIDR prefixes ("10.0.0.0/8") and bare addresses
// ("185.71.65.92", taken as a single-address prefix), as operators write
// them in configuration.
func ParsePrefixes(list []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
			continue
		}
		a, err := netip.ParseAddr(s)
		if err != nil {
			return nil, fmt.Errorf("%q is neither an IP address nor a CIDR prefix", truncate(s))
		}
		a = a.Unmap()
		out = append(out, netip.PrefixFrom(a, a.BitLen()))
	}
	return out, nil
}

// MustPrefixes is ParsePrefixes for addresses written in the code; it
// panics on a malformed one.
func MustPrefixes(list ...string) []netip.Prefix {
	p, err := ParsePrefixes(list)
	if err != nil {
		panic("remoteip: " + err.Error())
	}
	return p
}

// Contains reports whether any prefix contains a.
func Contains(prefixes []netip.Prefix, a netip.Addr) bool {
	for _, p := range prefixes {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// truncate keeps error messages about attacker-supplied text short.
func truncate(s string) string {
	if len(s) > 64 {
		return s[:64] + "…"
	}
	return s
}
