package gatewayenv

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/payrail/payments/internal/remoteip"
)

// envBool reads a boolean as strconv.ParseBool does; empty is false.
func envBool(env env, name string) (bool, error) {
	v := strings.TrimSpace(env(name))
	if v == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, fmt.Errorf("%s=%q is not a boolean (true, false, 1, 0)", name, v)
	}
	return b, nil
}

// envList reads a comma-separated list, dropping blanks.
func envList(env env, name string) []string {
	var out []string
	for v := range strings.SplitSeq(env(name), ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// envPrefixes reads a comma-separated list of CIDR prefixes or bare
// addresses.
func envPrefixes(env env, name string) ([]netip.Prefix, error) {
	list := envList(env, name)
	if len(list) == 0 {
		return nil, nil
	}
	p, err := remoteip.ParsePrefixes(list)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return p, nil
}
