// Package browsertest starts headless Chromium for tests that drive pages
// with chromedp. It is imported only from _test.go files.
//
// Without a Chromium binary on PATH a browser test is skipped on a
// developer's machine but fails under CI=true, where a skipped test would
// pass unnoticed (.ci/run installs Debian's chromium).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// New starts headless Chromium in a profile of the test's own and returns
// the context of its first tab. The browser is stopped when timeout passes
// or the test ends, whichever is first. opts add to the allocator's flags,
// such as chromedp.WindowSize.
func New(t testing.TB, timeout time.Duration, opts ...chromedp.ExecAllocatorOption) context.Context {
	t.Helper()
	exe := chromium(t)
	flags := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe),
		// The profile directory is removed after the browser has exited:
		// TempDir's cleanup is registered before the cancels below.
		chromedp.UserDataDir(t.TempDir()),
		// The tests run as root, and containers and CI runners often lack
		// the namespaces the sandbox needs: Chromium's sandbox refuses to start.
		chromedp.NoSandbox,
		chromedp.Headless,
		chromedp.DisableGPU,
	)
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	t.Cleanup(cancel)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, append(flags, opts...)...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx, chromedp.WithLogf(t.Logf))
	t.Cleanup(cancelBrowser)
	return browser
}

// chromium finds a Chromium or Chrome binary, or skips or fails t.
func chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "headless-shell"} {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("CI=true but no chromium binary is on PATH: CI must run the browser test (apt-get install -y chromium)")
	}
	t.Skip("browser test skipped: no chromium on PATH; install it with apt-get install -y chromium")
	return ""
}
