package remoteip_test

import (
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/internal/remoteip"
)

func TestSender(t *testing.T) {
	list := remoteip.Allowlist{
		Allowed:        remoteip.MustPrefixes("185.71.65.92", "2001:db8::/32"),
		TrustedProxies: remoteip.MustPrefixes("10.0.0.0/8", "fd00::/8"),
	}
	xff := func(v ...string) http.Header { return http.Header{"X-Forwarded-For": v} }
	for _, tc := range []struct {
		name   string
		remote string
		header http.Header
		want   string
		err    string
	}{
		{"peer with port", "185.71.65.92:4431", nil, "185.71.65.92", ""},
		{"bare peer", "185.71.65.92", nil, "185.71.65.92", ""},
		{"IPv4-mapped peer", "[::ffff:185.71.65.92]:80", nil, "185.71.65.92", ""},
		{"IPv6 peer", "[2001:db8::1]:443", nil, "2001:db8::1", ""},
		{"untrusted peer's header is ignored", "203.0.113.9:1", xff("185.71.65.92"), "203.0.113.9", ""},
		{"trusted proxy without header", "10.1.2.3:8080", nil, "10.1.2.3", ""},
		{"trusted proxy", "10.1.2.3:8080", xff("185.71.65.92"), "185.71.65.92", ""},
		{"client-invented left hops are skipped", "10.1.2.3:8080", xff("1.1.1.1, 185.71.65.92"), "185.71.65.92", ""},
		{"chain of trusted proxies", "10.1.2.3:8080", xff("185.71.65.92, 10.9.9.9"), "185.71.65.92", ""},
		{"several header lines", "10.1.2.3:8080", xff("185.71.65.92", "10.9.9.9"), "185.71.65.92", ""},
		{"hop with a port", "10.1.2.3:8080", xff("185.71.65.92:5555"), "185.71.65.92", ""},
		{"IPv6 proxy", "[fd00::1]:8080", xff("185.71.65.92"), "185.71.65.92", ""},
		{"all hops trusted", "10.1.2.3:8080", xff("10.4.4.4"), "10.4.4.4", ""},
		{"malformed hop", "10.1.2.3:8080", xff("not-an-ip"), "", "malformed"},
		{"malformed peer", "pipe", nil, "", "not an IP address"},
		{"empty peer", "", nil, "", "not an IP address"},
		{"too many hops", "10.1.2.3:8080", xff(strings.Repeat("10.0.0.1,", 40) + "185.71.65.92"), "", "more than"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := list.Sender(tc.remote, tc.header)
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, netip.MustParseAddr(tc.want), got)
		})
	}
}

func TestCheck(t *testing.T) {
	list := remoteip.Allowlist{Allowed: remoteip.MustPrefixes("185.71.65.92"), TrustedProxies: remoteip.MustPrefixes("10.0.0.0/8")}
	sender, err := list.Check("185.71.65.92:1", nil)
	require.NoError(t, err)
	assert.Equal(t, "185.71.65.92", sender.String())

	sender, err = list.Check("185.71.65.93:1", nil)
	require.ErrorIs(t, err, remoteip.ErrNotAllowed)
	assert.Equal(t, "185.71.65.93", sender.String(), "the refused sender is returned for the log")

	_, err = list.Check("10.0.0.5:1", http.Header{"X-Forwarded-For": {"185.71.65.92"}})
	require.NoError(t, err, "allowed through the trusted proxy")
	_, err = list.Check("10.0.0.5:1", nil)
	require.ErrorIs(t, err, remoteip.ErrNotAllowed, "the proxy itself is not an allowed sender")

	_, err = remoteip.Allowlist{}.Check("185.71.65.92:1", nil)
	require.ErrorIs(t, err, remoteip.ErrNotAllowed, "the zero Allowlist accepts nobody")
}

func TestParsePrefixes(t *testing.T) {
	got, err := remoteip.ParsePrefixes([]string{"185.71.65.92", " 10.1.2.3/8 ", "::ffff:1.2.3.4", "2001:db8::/32"})
	require.NoError(t, err)
	assert.Equal(t, []netip.Prefix{
		netip.MustParsePrefix("185.71.65.92/32"), netip.MustParsePrefix("10.0.0.0/8"),
		netip.MustParsePrefix("1.2.3.4/32"), netip.MustParsePrefix("2001:db8::/32"),
	}, got)
	_, err = remoteip.ParsePrefixes([]string{"10.0.0.0/33"})
	assert.Error(t, err)
	_, err = remoteip.ParsePrefixes([]string{"proxy.internal"})
	assert.Error(t, err)
	assert.Panics(t, func() { remoteip.MustPrefixes("nope") })
}

func FuzzSender(f *testing.F) {
	list := remoteip.Allowlist{Allowed: remoteip.MustPrefixes("185.71.65.92"), TrustedProxies: remoteip.MustPrefixes("10.0.0.0/8")}
	f.Add("10.1.2.3:8080", "1.1.1.1, 185.71.65.92")
	f.Add("185.71.65.92:1", "")
	f.Fuzz(func(t *testing.T, remote, header string) {
		sender, err := list.Check(remote, http.Header{"X-Forwarded-For": {header}})
		if err == nil && !remoteip.Contains(list.Allowed, sender) {
			t.Fatalf("accepted %s, which is not allowed", sender)
		}
	})
}
