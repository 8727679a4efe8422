package gate

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// The SSRF guard below has the rules of the root package's postback guard
// (postback_delivery.go: checkURL, guardedClient, permitted), which are
// unexported; it is copied, not shared, until the root exports a checker.
// Keep the two in step.

// maxURLBytes bounds every URL a merchant sends.
const maxURLBytes = 2048

// checkReturnURL checks a URL the customer's browser is sent to: https (or
// http when the gate allows it for tests), a host, no credentials. Every
// other scheme — javascript:, data:, file: — is refused, so a redirect can
// never run script in the gate's origin. It is not an SSRF risk (the gate
// never fetches it), so private hosts are allowed.
func checkReturnURL(field, raw string, allowHTTP bool) (string, *apiError) {
	u, ae := parseURL(field, raw)
	if ae != nil {
		return "", ae
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && allowHTTP) {
		return "", fieldError(field, "must be an https URL")
	}
	return u.String(), nil
}

// checkPostbackURL checks the URL the gate will POST to: https, and a host
// that is not a literal address the guard refuses nor a localhost name;
// hostnames are checked again at every connection, after DNS, by
// guardedClient. allow opens the guard (and plain http) for tests.
func checkPostbackURL(field, raw string, allow []netip.Prefix) (string, *apiError) {
	u, ae := parseURL(field, raw)
	if ae != nil {
		return "", ae
	}
	if u.Scheme != "https" && !(u.Scheme == "http" && len(allow) > 0) {
		return "", fieldError(field, "must be an https URL")
	}
	host := strings.ToLower(strings.TrimSuffix(u.Hostname(), "."))
	if a, err := netip.ParseAddr(host); err == nil {
		if !permitted(a.Unmap(), allow) {
			return "", fieldError(field, "must not name a private, loopback or reserved address")
		}
	} else if (host == "localhost" || strings.HasSuffix(host, ".localhost")) && !permitted(netip.IPv6Loopback(), allow) {
		// Resolvers answer localhost without asking DNS; refusing it here
		// gives the merchant the error now rather than failed deliveries.
		return "", fieldError(field, "must not name a private, loopback or reserved address")
	}
	return u.String(), nil
}

func parseURL(field, raw string) (*url.URL, *apiError) {
	if raw == "" {
		return nil, fieldError(field, "is required")
	}
	if len(raw) > maxURLBytes || strings.ContainsFunc(raw, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		return nil, fieldError(field, "must be a URL of at most 2048 characters without spaces")
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Opaque != "" {
		return nil, fieldError(field, "must be an absolute https URL")
	}
	u.Scheme = strings.ToLower(u.Scheme)
	if u.Host == "" || u.Hostname() == "" {
		return nil, fieldError(field, "must name a host")
	}
	if u.User != nil {
		return nil, fieldError(field, "must not carry credentials")
	}
	return u, nil
}

// errForbiddenAddress is the guard's refusal at connection time.
var errForbiddenAddress = errors.New("gate: postbacks may not reach this address")

// guardedClient posts postbacks: it connects only to an address it checked —
// the dialer's Control sees the resolved address it is about to connect to,
// so DNS rebinding cannot slip a private address in — uses no proxy, and
// follows no redirect.
func guardedClient(allow []netip.Prefix, timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, Control: func(network, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil || !permitted(ap.Addr().Unmap(), allow) {
			return fmt.Errorf("%w: %s", errForbiddenAddress, address)
		}
		return nil
	}}
	transport := &http.Transport{
		DialContext:         dialer.DialContext,
		Proxy:               nil,
		TLSHandshakeTimeout: timeout,
		MaxIdleConnsPerHost: 4,
	}
	return &http.Client{Transport: transport, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}
}

// permitted reports whether postbacks may reach a: a public unicast
// address, or one the host allows.
func permitted(a netip.Addr, allow []netip.Prefix) bool {
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
