package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/browsertest"
)

// recorder is the path-stripping proxy's log: every request it was sent,
// as "METHOD path Content-Type".
type recorder struct {
	mu   sync.Mutex
	seen []string
	next http.Handler
}

func (rec *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec.mu.Lock()
	rec.seen = append(rec.seen, strings.TrimSpace(r.Method+" "+r.URL.Path+" "+r.Header.Get("Content-Type")))
	rec.mu.Unlock()
	rec.next.ServeHTTP(w, r)
}

func (rec *recorder) has(line string) bool {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	for _, s := range rec.seen {
		if s == line {
			return true
		}
	}
	return false
}

// underPrefix serves the app at /api on 127.0.0.1, as a reverse proxy that
// strips the prefix does: the app sees "/", the browser asks for "/api/".
// Nothing tells the app its prefix: the document's default server is
// relative to the document's own URL.
func underPrefix(t *testing.T, app *flow.Flow) (*httptest.Server, *recorder) {
	t.Helper()
	rec := &recorder{next: http.StripPrefix("/api", app.Handler())}
	srv := httptest.NewServer(rec)
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv, rec
}

// clickJS clicks the first element that matches sel, once it is there and
// enabled. Swagger UI re-renders as it goes, so the element is found and
// clicked in one step.
func clickJS(sel string) string {
	return `(() => { const b = document.querySelector(` + jsQuote(sel) + `); if (!b || b.disabled) return false; b.click(); return true; })()`
}

func jsQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `\'`) + "'" }

// TestBrowserDocsTryItOut is a newcomer's first run of the docs page, in
// headless Chromium, with the app behind a path-stripping proxy: open
// /api/docs, expand POST /, Try it out, keep the pre-filled body, Execute.
// The request must reach /api/ and the page must show 200. The page may
// write no error to the console and ask no other host for anything.
func TestBrowserDocsTryItOut(t *testing.T) {
	tab := browsertest.Start(t)
	app := NewApp(flow.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv, rec := underPrefix(t, app)
	const op = "#operations-root-post-root"

	browsertest.Run(t, tab, 30*time.Second, "open /api/docs", chromedp.Navigate(srv.URL+"/api/docs"))
	browsertest.Until(t, tab, 30*time.Second, "expand POST /", clickJS(op+" .opblock-summary-control"))
	browsertest.Until(t, tab, 10*time.Second, "Try it out", clickJS(op+" .try-out__btn"))
	browsertest.Until(t, tab, 10*time.Second, "the body is pre-filled",
		`document.querySelector('`+op+` textarea.body-param__text')?.value.replace(/\s/g, '') === '{"val":0}'`)
	browsertest.Until(t, tab, 10*time.Second, "Execute", clickJS(op+" .execute"))
	browsertest.Until(t, tab, 30*time.Second, "the answer shows",
		`!!document.querySelector('`+op+` .live-responses-table .response-col_status')`)

	status := browsertest.Run(t, tab, 10*time.Second, "read the status",
		chromedp.Text(chromedp.CSS(op+" .live-responses-table .response .response-col_status")))
	if status = strings.TrimSpace(status); status != "200" {
		body, _ := chromedp.Run(tab.Ctx, chromedp.Text(chromedp.CSS(op+" .live-responses-table .response-col_description")))
		t.Errorf("the page shows status %q, want 200: %s", status, body)
	}
	url := browsertest.Run(t, tab, 10*time.Second, "read the request URL", chromedp.Text(chromedp.CSS(op+" .request-url pre")))
	if want := srv.URL + "/api/"; strings.TrimSpace(url) != want {
		t.Errorf("the page shows the request URL %q, want %q", url, want)
	}
	if !rec.has("POST /api/ application/json") {
		t.Errorf("the proxy saw %q, no POST /api/ with a JSON body", rec.seen)
	}
	tab.Check(t, strings.TrimPrefix(srv.URL, "http://"))
}
