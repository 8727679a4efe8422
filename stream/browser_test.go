package stream_test

import (
	"html/template"
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/payrail/payments/internal/browsertest"
	"github.com/payrail/payments/stream"
)

// page follows one payment with EventSource, as a checkout page would, and
// shows the status it is told in #status.
var page = template.Must(template.New("page").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>payment</title></head>
<body>
<p id="status">connecting</p>
<p id="events">0</p>
<script>
const es = new EventSource({{.}});
es.onmessage = (e) => {
  const update = JSON.parse(e.data);
  document.getElementById("status").textContent = update.status;
  const n = document.getElementById("events");
  n.textContent = String(Number(n.textContent) + 1);
  if (update.final) es.close();
};
es.addEventListener("expired", () => { es.close(); document.getElementById("status").textContent = "expired"; });
</script>
</body></html>`))

// TestBrowserEventSource opens a page in headless Chromium whose
// EventSource follows a payment through the Handler, posts the payment's
// webhook, and waits for the page to show the outcome.
func TestBrowserEventSource(t *testing.T) {
	browser := browsertest.New(t, 60*time.Second)
	in := newMemoryInstance(t, stream.Options{})
	p := in.checkout(t)
	streamPath := "/payments/" + p.ID + "/events?token=" + token(p.ID)
	// The page and its stream share one origin, as on a host's own site.
	in.mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_ = page.Execute(w, streamPath)
	})

	require.NoError(t, chromedp.Do(browser, chromedp.Navigate(in.srv.URL+"/")))
	status := func(want string) {
		t.Helper()
		_, err := chromedp.Run(browser, chromedp.Poll[bool](
			`document.getElementById("status").textContent === `+jsString(want),
			chromedp.WithPollingTimeout(20*time.Second)))
		require.NoError(t, err, "the page never showed %q", want)
	}
	status("pending")

	in.postWebhook(t, p, "payment.succeeded")
	status("succeeded")

	events, err := chromedp.Run(browser, chromedp.Text("#events"))
	require.NoError(t, err)
	assert.Equal(t, "2", events, "pending, then succeeded: nothing twice")
	require.NoError(t, chromedp.Cancel(browser))
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	return "'" + template.JSEscapeString(s) + "'"
}
