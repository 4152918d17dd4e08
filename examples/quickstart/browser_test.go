package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
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

func (rec *recorder) lines() []string {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	return append([]string(nil), rec.seen...)
}

func (rec *recorder) has(line string) bool { return slices.Contains(rec.lines(), line) }

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

// TestBrowserDocsTryItOut runs Try it out on the docs page in headless
// Chromium, the app behind a path-stripping proxy at /api, as a newcomer
// does: open /api/docs, expand an operation, Try it out, fill in what the
// page does not, Execute. The request must reach /api/... and the page must
// show the app's answer. The page may write no error to the console and ask
// no other host for anything.
func TestBrowserDocsTryItOut(t *testing.T) {
	tab := browsertest.Start(t)
	app := NewApp(flow.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	srv, rec := underPrefix(t, app)
	csv := filepath.Join(t.TempDir(), "rows.csv")
	if err := os.WriteFile(csv, []byte("a,b\n1,2\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name string
		op   string // the operation's element
		fill func(t *testing.T, op string)
		path string // what the request URL ends with
		seen string // the request the proxy must see
		body string // what the page shows as the answer
	}{{
		// The first thing a new user tries: the pre-filled {"val": 0}.
		name: "POST / with the pre-filled body",
		op:   "#operations-root-post-root",
		fill: func(t *testing.T, op string) {
			browsertest.Until(t, tab, 10*time.Second, "the body is pre-filled",
				`document.querySelector('`+op+` textarea.body-param__text')?.value.replace(/\s/g, '') === '{"val":0}'`)
		},
		path: "/api/",
		seen: "POST /api/ application/json",
		body: `{"val":0}`,
	}, {
		// The document says */* (any type): the request names the file's
		// type, not */*.
		name: "POST /raw with a file",
		op:   "#operations-root-post-raw",
		fill: func(t *testing.T, op string) {
			browsertest.Run(t, tab, 10*time.Second, "pick a file",
				chromedp.SetUploadFiles(chromedp.CSS(op+" input[type=file]"), []string{csv}))
		},
		path: "/api/raw",
		seen: "POST /api/raw text/csv",
		body: "POST /raw text/csv",
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			op := tt.op
			browsertest.Run(t, tab, 30*time.Second, "open /api/docs", chromedp.Navigate(srv.URL+"/api/docs"))
			browsertest.Until(t, tab, 30*time.Second, "expand the operation", browsertest.Click(op+" .opblock-summary-control"))
			browsertest.Until(t, tab, 10*time.Second, "Try it out", browsertest.Click(op+" .try-out__btn"))
			tt.fill(t, op)
			status, body := browsertest.Execute(t, tab, op)
			if status != "200" {
				t.Errorf("the page shows status %q, want 200: %s", status, body)
			}
			if got := strings.Join(strings.Fields(body), ""); got != strings.ReplaceAll(tt.body, " ", "") {
				t.Errorf("the page shows the answer %q, want %q", body, tt.body)
			}
			url := browsertest.Run(t, tab, 10*time.Second, "read the request URL", chromedp.Text(chromedp.CSS(op+" .request-url pre")))
			if want := srv.URL + tt.path; strings.TrimSpace(url) != want {
				t.Errorf("the page shows the request URL %q, want %q", url, want)
			}
			if !rec.has(tt.seen) {
				t.Errorf("the proxy saw %q, not %q", rec.lines(), tt.seen)
			}
			tab.Check(t, srv.Listener.Addr().String())
		})
	}
}
