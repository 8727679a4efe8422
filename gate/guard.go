package gate

import (
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments/internal/ssrf"
)

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
	if !ssrf.HostPermitted(u.Hostname(), allow) {
		// Refused now rather than as failed deliveries later.
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

// guardedClient posts postbacks through the shared SSRF guard (internal/ssrf):
// only to addresses it checked after DNS, with no proxy and no redirect.
func guardedClient(allow []netip.Prefix, timeout time.Duration) *http.Client {
	c := ssrf.Client(allow, timeout, 4)
	c.Timeout = timeout
	return c
}
