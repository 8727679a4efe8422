// Package ssrf keeps requests to URLs that someone else chose — a
// merchant's postback URL, a host's endpoint — on the public internet:
// loopback, private, shared (CGNAT), link-local (the cloud metadata
// address), multicast and unspecified addresses are refused unless the
// caller allows their prefix. The check is made on the address the dialer
// is about to connect to, after DNS, so a name that resolves (or
// re-resolves) to an internal address is caught too.
package ssrf

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"syscall"
	"time"
)

// ErrForbidden is the refusal of a connection to an address the guard does
// not permit.
var ErrForbidden = errors.New("outbound requests may not reach this address")

// Permitted reports whether a request may reach a: a public unicast
// address, or one inside a prefix of allow.
func Permitted(a netip.Addr, allow []netip.Prefix) bool {
	a = a.Unmap()
	for _, p := range allow {
		if p.Contains(a) {
			return true
		}
	}
	return a.IsGlobalUnicast() && !a.IsPrivate() && !a.IsLoopback() && !a.IsLinkLocalUnicast() &&
		!a.IsMulticast() && !a.IsUnspecified() && !cgnat.Contains(a)
}

// cgnat is the shared address space (RFC 6598), private in practice.
var cgnat = netip.MustParsePrefix("100.64.0.0/10")

// HostPermitted checks a URL's host as written, before any lookup: a
// literal address must be Permitted, and a localhost name, which resolvers
// answer without DNS, is refused unless loopback is allowed. Other names
// are checked at connection time by Client.
func HostPermitted(host string, allow []netip.Prefix) bool {
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if a, err := netip.ParseAddr(host); err == nil {
		return Permitted(a, allow)
	}
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return Permitted(netip.IPv6Loopback(), allow) || Permitted(netip.AddrFrom4([4]byte{127, 0, 0, 1}), allow)
	}
	return true
}

// Client returns an HTTP client that connects only to Permitted addresses
// — the dialer's Control sees the resolved address it is about to connect
// to — uses no proxy (a proxy would connect where the guard did not look)
// and follows no redirect (a redirect would send the request where the
// caller's checks did not look). timeout bounds dialing and the TLS
// handshake; idlePerHost keeps that many connections to a host for reuse.
// The client sets no overall Timeout: callers bound each request with its
// context, or set Timeout on the returned client.
func Client(allow []netip.Prefix, timeout time.Duration, idlePerHost int) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !Permitted(ap.Addr(), allow) {
			return fmt.Errorf("%w: %s", ErrForbidden, address)
		}
		return nil
	}}
	transport := &http.Transport{
		DialContext:         dialer.DialContext,
		Proxy:               nil,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: idlePerHost,
		IdleConnTimeout:     90 * time.Second,
	}
	return &http.Client{Transport: transport, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}
