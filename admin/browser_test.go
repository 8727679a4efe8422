package admin_test

import (
	"bytes"
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments"
	"github.com/payrail/payments/admin"
	"github.com/payrail/payments/internal/browsertest"
)

// artifacts is where the screenshots go: $PAYMENTS_ARTIFACTS, else a
// directory of the test's own (removed when the test ends).
func artifacts(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("PAYMENTS_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	require.NoError(t, os.MkdirAll(dir, 0o755))
	return dir
}

// TestBrowserAttributesParkedMoney drives the pages in headless Chromium as
// an operator would: money arrives through the real webhook without an
// account and is parked; the operator finds it in the journal, attributes
// it with the form on the parked page, lands on the account's balances and
// sees the money there, and the overview charts it. The browser enforces
// the CSP, SameSite=Strict and Sec-Fetch-Site for real, so the form working
// at all proves the CSRF defence lets a legitimate operator through, and the
// console must report no CSP violation.
func TestBrowserAttributesParkedMoney(t *testing.T) {
	ctx := browsertest.New(t, 90*time.Second, chromedp.WindowSize(1366, 900))
	out := artifacts(t)
	e := newEnv(t, admin.Options{Actions: true})

	// Through the webhook handler, as the gateway would deliver it.
	signed := e.fake.Request(charge("evt_browser", "", "12.00"), time.Now())
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.srv.URL+"/fake-handleWebhookEvents", bytes.NewReader(signed.Body))
	require.NoError(t, err)
	req.Header = signed.Header
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode, "parked money is acknowledged")
	require.Len(t, e.unresolvedParked(t), 1)

	// Collect what the console says from the first page on.
	var (
		mu       sync.Mutex
		messages []chromedp.ConsoleMessage
		done     = make(chan struct{})
	)
	consoleCtx, stopConsole := context.WithCancel(ctx)
	require.NoError(t, chromedp.Do(ctx, chromedp.Navigate("about:blank")), "the browser starts")
	console := chromedp.Console(consoleCtx)
	go func() {
		defer close(done)
		for m, err := range console {
			if err != nil {
				return
			}
			mu.Lock()
			messages = append(messages, m)
			mu.Unlock()
		}
	}()

	base := e.srv.URL + prefix
	var balancesShot, overviewShot []byte
	var balance, flash, location, navColour string
	var bars int
	err = chromedp.Do(ctx,
		chromedp.Navigate(base+"/journal?outcome=parked&unresolved=1"),
		chromedp.WaitVisible(chromedp.CSS(`span.badge.parked`)),
		chromedp.Navigate(base+"/parked"),
		chromedp.WaitVisible(chromedp.CSS(`form.inline input[name=account]`)),
		chromedp.SendKeys(chromedp.CSS(`form.inline input[name=account]`), "user-42"),
		chromedp.SendKeys(chromedp.CSS(`form.inline input[name=reference]`), "order:42:web"),
		chromedp.Click(chromedp.CSS(`form.inline button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`td.balance`)),
		into(&balance, chromedp.Text(chromedp.CSS(`td.balance`))),
		into(&flash, chromedp.Text(chromedp.CSS(`p.flash`))),
		into(&location, chromedp.Location()),
		into(&balancesShot, chromedp.FullScreenshot(100)),
		chromedp.Navigate(base+"/"),
		chromedp.WaitVisible(chromedp.CSS(`svg.chart rect.bar`)),
		into(&bars, chromedp.Evaluate[int](`document.querySelectorAll("svg.chart rect.bar").length`)),
		// The stylesheet applied under the CSP: the current tab is coloured.
		into(&navColour, chromedp.Evaluate[string](`getComputedStyle(document.querySelector('nav a[aria-current="page"]')).backgroundColor`)),
		into(&overviewShot, chromedp.FullScreenshot(100)),
	)
	require.NoError(t, err)

	for name, shot := range map[string][]byte{"admin-balances.png": balancesShot, "admin-overview.png": overviewShot} {
		path := filepath.Join(out, name)
		require.NoError(t, os.WriteFile(path, shot, 0o644))
		t.Logf("screenshot: %s", path)
	}

	assert.Equal(t, "12.00 USD", strings.TrimSpace(balance))
	assert.Contains(t, flash, "recorded")
	assert.Contains(t, location, prefix+"/balances?")
	assert.Contains(t, location, "account=user-42")
	assert.Equal(t, 1, bars, "one day, one gateway")
	assert.Equal(t, "rgb(36, 86, 199)", navColour)

	// The ledger, not only the page, has the money, once, and the parked row
	// is resolved.
	bal, err := e.svc.Balance(t.Context(), "user-42", "USD")
	require.NoError(t, err)
	assert.Equal(t, payments.Money{Amount: 1200, Currency: "USD"}, bal.Money)
	assert.Equal(t, int64(1), bal.Entries)
	assert.Empty(t, e.unresolvedParked(t))
	entries, _, err := e.svc.Entries(t.Context(), payments.EntryFilter{Account: "user-42"})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	assert.Equal(t, "order:42:web", entries[0].Reference)

	stopConsole()
	<-done
	mu.Lock()
	defer mu.Unlock()
	for _, m := range messages {
		t.Logf("console: %s", m)
		assert.NotContains(t, m.Text, "Content Security Policy", "the pages need nothing the CSP refuses")
		assert.NotEqual(t, chromedp.ConsoleType("error"), m.Type, "no failed request or error: %s", m)
		assert.False(t, m.IsException(), "no script runs, so nothing throws: %s", m)
	}
}

// into runs a query and stores its result, so that one Do runs the whole
// script in order.
func into[T any](dst *T, a chromedp.Action[T]) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tgt *chromedp.Target) error {
		v, err := a(ctx, tgt)
		if err != nil {
			return err
		}
		*dst = v
		return nil
	})
}
