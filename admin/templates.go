package admin

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/payrail/payments"
)

// The templates and the stylesheet are embedded, so that a host mounts the
// pages with no files to ship and no JavaScript build step.
var (
	//go:embed templates/*.html
	templateFS embed.FS
	//go:embed static/admin.css
	stylesheet []byte
	// favicon spares the browser a request for /favicon.ico, which lies
	// outside the prefix and would 404 in the host's mux.
	//go:embed static/favicon.svg
	favicon []byte
)

// pageNames are the templates, each a "content" block rendered into
// templates/layout.html.
var pageNames = []string{
	"overview", "journal", "notification", "parked", "entries", "balances",
	"sync", "postbacks", "attempts", "error",
}

// parsePages parses every page with the layout. The templates are part of
// the binary, so a parse error is a bug caught by any test: it panics.
func parsePages(prefix string) map[string]*template.Template {
	funcs := template.FuncMap{
		"when":  formatTime,
		"money": formatMoney,
		"dur":   formatDuration,
		"path":  func(p string) string { return prefix + p },
		// seg escapes an id for use as one path segment.
		"seg": url.PathEscape,
	}
	pages := make(map[string]*template.Template, len(pageNames))
	for _, name := range pageNames {
		pages[name] = template.Must(template.New(name).Funcs(funcs).
			ParseFS(templateFS, "templates/layout.html", "templates/"+name+".html"))
	}
	return pages
}

func serveCSS(w http.ResponseWriter, _ *http.Request) {
	serveStatic(w, "text/css; charset=utf-8", stylesheet)
}

func serveFavicon(w http.ResponseWriter, _ *http.Request) { serveStatic(w, "image/svg+xml", favicon) }

func serveStatic(w http.ResponseWriter, contentType string, body []byte) {
	w.Header().Set("Content-Type", contentType)
	// The files change only with the binary; an hour saves a request per
	// page without keeping an old one long after an upgrade.
	w.Header().Set("Cache-Control", "private, max-age=3600")
	_, _ = w.Write(body)
}

// formatTime shows times in UTC, the zone the ledger keeps them in, so that
// two operators in different zones read the same figures.
func formatTime(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	return t.UTC().Format("2006-01-02 15:04:05Z")
}

func formatMoney(m payments.Money) string {
	if m.Currency == "" {
		return "—"
	}
	return m.String()
}

func formatDuration(d time.Duration) string {
	if d <= 0 {
		return "—"
	}
	if d >= time.Second {
		d = d.Round(time.Second)
	} else {
		d = d.Round(time.Millisecond)
	}
	return d.String()
}

// printable shows a body as text: html/template escapes it, and invalid
// UTF-8 (anyone can send an unverified body) is replaced rather than passed
// through.
func printable(b []byte) string {
	return strings.ToValidUTF8(string(b), "\uFFFD")
}
