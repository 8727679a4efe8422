package ssrf_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"testing"
	"time"

	"github.com/payrail/payments/internal/ssrf"
)

func TestPermitted(t *testing.T) {
	for _, c := range []struct {
		addr string
		want bool
	}{
		{"93.184.215.14", true}, {"2606:2800:21f:cb07:6820:80da:af6b:8b2c", true},
		{"127.0.0.1", false}, {"::1", false}, {"::ffff:127.0.0.1", false},
		{"10.1.2.3", false}, {"172.16.0.1", false}, {"192.168.1.1", false}, {"fc00::1", false},
		{"100.64.0.1", false}, {"169.254.169.254", false}, {"fe80::1", false},
		{"224.0.0.1", false}, {"0.0.0.0", false}, {"::", false}, {"255.255.255.255", false},
	} {
		if got := ssrf.Permitted(netip.MustParseAddr(c.addr), nil); got != c.want {
			t.Errorf("Permitted(%s) = %v, want %v", c.addr, got, c.want)
		}
	}
	allow := []netip.Prefix{netip.MustParsePrefix("10.20.0.0/16")}
	if !ssrf.Permitted(netip.MustParseAddr("10.20.3.4"), allow) || ssrf.Permitted(netip.MustParseAddr("10.21.3.4"), allow) {
		t.Error("allow opens exactly its prefix")
	}
}

func TestHostPermitted(t *testing.T) {
	loop := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
	for _, c := range []struct {
		host  string
		allow []netip.Prefix
		want  bool
	}{
		{"merchant.example", nil, true}, {"localhost", nil, false}, {"API.LOCALHOST.", nil, false},
		{"127.0.0.1", nil, false}, {"::1", nil, false}, {"169.254.169.254", nil, false},
		{"localhost", loop, true}, {"127.0.0.1", loop, true},
	} {
		if got := ssrf.HostPermitted(c.host, c.allow); got != c.want {
			t.Errorf("HostPermitted(%q, %v) = %v, want %v", c.host, c.allow, got, c.want)
		}
	}
}

// TestClientRefusesWhatItResolves: a name that resolves to loopback is
// refused at connection time, and allowed once its prefix is.
func TestClientRefusesWhatItResolves(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "https://elsewhere.example/", http.StatusFound)
	}))
	defer srv.Close()
	url := "http://localhost:" + srv.URL[len("http://127.0.0.1:"):]
	get := func(c *http.Client) (*http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		return c.Do(req)
	}
	if _, err := get(ssrf.Client(nil, time.Second, 1)); !errors.Is(err, ssrf.ErrForbidden) {
		t.Fatalf("loopback reached: %v", err)
	}
	resp, err := get(ssrf.Client([]netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}, time.Second, 1))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Errorf("status %d: the redirect must be returned, not followed", resp.StatusCode)
	}
}
