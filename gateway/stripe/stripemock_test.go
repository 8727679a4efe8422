package stripe_test

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// stripeMockVersion is the stripe-mock release whose bundled OpenAPI spec is
// API version 2023-10-16, stripe-go v76's. .ci/run installs it.
const stripeMockVersion = "v0.183.0"

// startStripeMock runs stripe-mock (https://github.com/stripe/stripe-mock),
// Stripe's API simulator, on free loopback ports for the duration of the
// test and returns its base URL. It uses $STRIPE_MOCK_BIN, else stripe-mock
// on PATH; without one the test is skipped, or fails when CI=true.
func startStripeMock(t *testing.T) string {
	t.Helper()
	bin := os.Getenv("STRIPE_MOCK_BIN")
	if bin == "" {
		bin, _ = exec.LookPath("stripe-mock")
	}
	if bin == "" {
		const how = "stripe-mock not found: go install github.com/stripe/stripe-mock@" + stripeMockVersion +
			" (puts it in $(go env GOPATH)/bin), or set STRIPE_MOCK_BIN"
		if os.Getenv("CI") == "true" {
			t.Fatal(how)
		}
		t.Skip(how)
	}
	// Both listeners are named: stripe-mock otherwise also opens HTTPS on
	// every interface at the fixed port 12112.
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:0", "-https-addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", bin, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	addr := make(chan string, 1)
	go func() {
		defer close(addr) // unsent: stripe-mock exited without listening
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "Listening for HTTP at address: "); ok {
				addr <- a
				break
			}
		}
		_, _ = io.Copy(io.Discard, stdout) // keep stripe-mock from blocking on a full pipe
	}()
	select {
	case a, ok := <-addr:
		if !ok {
			t.Fatalf("%s exited before listening", bin)
		}
		return "http://" + a
	case <-time.After(30 * time.Second):
		t.Fatalf("%s did not report its HTTP address within 30s", bin)
		return ""
	}
}
