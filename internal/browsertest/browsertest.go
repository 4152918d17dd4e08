// Package browsertest drives headless Chromium for the tests of the pages
// the framework serves. It skips a test where no Chromium is installed, and
// it watches the tab for what a page must not do: write an error to the
// console, throw, or send a request to another host.
package browsertest

import (
	"context"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/replicaflow/replicaflow/internal/testutil"
)

// Chromium returns the path of a Chromium or Chrome binary, or "".
func Chromium() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// Tab is one tab of a headless Chromium with a fresh profile.
type Tab struct {
	// Ctx is the tab's chromedp context.
	Ctx context.Context

	mu       sync.Mutex
	console  []chromedp.ConsoleMessage // errors, exceptions, assertions
	requests []string                  // every URL the tab asked for
	marks    int                       // the barriers the console has passed
}

// barrier is what Check writes to the console to know that every message
// written before has been read.
const barrier = "browsertest: barrier"

// Start opens a tab in a new headless Chromium, which ends with the test.
// It skips the test in -short mode and where no Chromium is installed.
func Start(t *testing.T) *Tab {
	t.Helper()
	if testing.Short() {
		t.Skip("browser test skipped in -short mode")
	}
	path := Chromium()
	if path == "" {
		t.Skip("chromium is not installed (Debian: apt-get install -y chromium); skipping the browser test")
	}
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(path),
		chromedp.Flag("headless", true),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-quic", true),
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 900),
	)
	ctx, cancel := chromedp.NewContext(actx)
	t.Cleanup(func() { cancel(); cancelAlloc() })

	tab := &Tab{Ctx: ctx}
	t.Cleanup(func() {
		// A test that stopped early still shows what the page complained of.
		if t.Failed() {
			tab.mu.Lock()
			defer tab.mu.Unlock()
			for _, m := range tab.console {
				t.Logf("browser console: %s", m)
			}
		}
	})
	// Listen starts the browser on ctx itself (one started by a Run on a
	// derived context would close with that context) and sees each request
	// before the command that caused it returns.
	if err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			tab.mu.Lock()
			tab.requests = append(tab.requests, e.Request.URL)
			tab.mu.Unlock()
		}
	}); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	messages := chromedp.Console(ctx)
	go func() {
		for m, err := range messages {
			if err != nil {
				return
			}
			tab.mu.Lock()
			switch {
			case m.Type == chromedp.ConsoleDebug && m.Text == barrier:
				tab.marks++
			case m.IsException() || m.Type == chromedp.ConsoleError || m.Type == "assert":
				tab.console = append(tab.console, m)
			}
			tab.mu.Unlock()
		}
	}()
	return tab
}

// Requests returns the URLs the tab asked for so far, in order.
func (tab *Tab) Requests() []string {
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]string(nil), tab.requests...)
}

// Console returns the console errors, uncaught exceptions and failed
// assertions of the tab so far, including every message written before the
// call: the console keeps its order, so once a message written now is read,
// so is every message written before it.
func (tab *Tab) Console(t *testing.T) []chromedp.ConsoleMessage {
	t.Helper()
	tab.mu.Lock()
	want := tab.marks + 1
	tab.mu.Unlock()
	Run(t, tab, 10*time.Second, "write to the console", chromedp.Evaluate[any](`console.debug(`+strconv.Quote(barrier)+`)`))
	testutil.WaitFor(t, "the console is read", 10*time.Second, func() bool {
		tab.mu.Lock()
		defer tab.mu.Unlock()
		return tab.marks >= want
	})
	tab.mu.Lock()
	defer tab.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), tab.console...)
}

// Check fails the test for every console error, uncaught exception and
// failed assertion of the tab so far, and for every request to a host other
// than host ("127.0.0.1:port"). data: and blob: URLs stay in the page.
func (tab *Tab) Check(t *testing.T, host string) {
	t.Helper()
	for _, m := range tab.Console(t) {
		t.Errorf("browser console: %s", m)
	}
	for _, r := range tab.Requests() {
		u, err := url.Parse(r)
		if err != nil {
			t.Errorf("the page asked for %q, not a URL", r)
			continue
		}
		switch u.Scheme {
		case "data", "blob":
			continue
		}
		if u.Host != host {
			t.Errorf("the page asked another host for %s", r)
		}
	}
}

// Run runs one action of the tab within d, or fails the test.
func Run[T any](t *testing.T, tab *Tab, d time.Duration, what string, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(tab.Ctx, d)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	return v
}

// Until polls a JavaScript expression of the tab until it is true, within d.
func Until(t *testing.T, tab *Tab, d time.Duration, what, expr string) {
	t.Helper()
	Run(t, tab, d, what, chromedp.Poll[bool](expr, chromedp.WithPollingInterval(50*time.Millisecond)))
}

// Click is a JavaScript expression, for Until, that clicks the first
// element matching the CSS selector sel once it is there and enabled, and
// says whether it did. Pages that re-render as they go (Swagger UI) need
// the element found and clicked in one step.
func Click(sel string) string {
	quoted := "'" + strings.ReplaceAll(sel, "'", `\'`) + "'"
	return `(() => { const b = document.querySelector(` + quoted + `); if (!b || b.disabled) return false; b.click(); return true; })()`
}

// Execute presses Swagger UI's Execute in the operation block matching the
// CSS selector op, once Try it out is on and its inputs are filled, waits
// for the answer and returns the status and body the page shows (the
// status trimmed).
func Execute(t *testing.T, tab *Tab, op string) (status, body string) {
	t.Helper()
	Until(t, tab, 10*time.Second, "Execute", Click(op+" .execute"))
	Until(t, tab, 30*time.Second, "the answer shows",
		`!!document.querySelector('`+op+` .live-responses-table .response-col_status')`)
	status = Run(t, tab, 10*time.Second, "read the status",
		chromedp.Text(chromedp.CSS(op+" .live-responses-table .response .response-col_status")))
	body = Run(t, tab, 10*time.Second, "read the body",
		chromedp.Text(chromedp.CSS(op+" .live-responses-table .response-col_description pre")))
	return strings.TrimSpace(status), body
}
