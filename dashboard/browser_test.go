package dashboard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/replicaflow/replicaflow/dashboard"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/browsertest"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// screenshotPath is where the test saves a screenshot: in
// REPLICAFLOW_SCREENSHOT_DIR when set, else in the temporary directory.
func screenshotPath(name string) string {
	dir := os.Getenv("REPLICAFLOW_SCREENSHOT_DIR")
	if dir == "" {
		dir = os.TempDir()
	}
	return filepath.Join(dir, name)
}

type slowReply struct {
	Replica string `json:"ok"`
}

// loadedApp is the autoscale example's kind of service: a slow endpoint,
// replicas 1–8, one request at a time per replica; beside it a fast one.
func loadedApp(t *testing.T) *flow.Flow {
	t.Helper()
	t.Setenv(manage.TokenEnv, "") // loopback rule, whatever the environment says
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app := flow.New(
		flow.Address("127.0.0.1:0"), flow.Logger(quiet), flow.CPUs(4),
		flow.Info("shop", "1.0.0", ""),
		flow.Management(manage.Options{}),
		dashboard.Mount(dashboard.Interval(500*time.Millisecond), dashboard.Window(5*time.Second), dashboard.History(2*time.Minute)),
	)
	slow := app.Service(
		service.Name("thumbnails"), service.BaseRoute("/thumbnails"),
		service.Replicas(1, 8), service.MaxConcurrentQueries(1), service.TargetOngoingRequests(1),
		service.NumCPUs(0.5), service.DownscaleDelay(5*time.Second),
	)
	flow.Endpoint(slow, "GET", "/", func(ctx context.Context, _ struct{}) (slowReply, error) {
		select {
		case <-time.After(120 * time.Millisecond):
		case <-ctx.Done():
			return slowReply{}, ctx.Err()
		}
		return slowReply{Replica: "done"}, nil
	})
	fast := app.Service(service.Name("search"), service.BaseRoute("/search"), service.Replicas(1, 2))
	flow.Endpoint(fast, "GET", "/", func(context.Context, struct{}) (slowReply, error) {
		return slowReply{Replica: "done"}, nil
	})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return app
}

// load sends requests from n clients to url until stop is called.
func load(t *testing.T, url string, n int) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	client := &http.Client{Timeout: 5 * time.Second}
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil {
				req, _ := http.NewRequestWithContext(ctx, "GET", url, nil)
				res, err := client.Do(req)
				if err != nil {
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
			}
		})
	}
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// press clicks the button sel once it is enabled. The page re-renders its
// cards on every refresh, so the button is found and clicked in one step:
// a node found first and clicked later may be gone by then.
func press(t *testing.T, tab *browsertest.Tab, what, sel string) {
	t.Helper()
	browsertest.Until(t, tab, 10*time.Second, "press "+what,
		`(() => { const b = document.querySelector('`+sel+`'); if (!b || b.disabled) return false; b.click(); return true; })()`)
}

func field(service, name string) string {
	return fmt.Sprintf(`[data-service=%q] [data-field=%q]`, service, name)
}

func intText(t *testing.T, tab *browsertest.Tab, sel string) int {
	t.Helper()
	s := browsertest.Run(t, tab, 5*time.Second, "read "+sel, chromedp.TextContent(chromedp.CSS(sel)))
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		t.Fatalf("%s shows %q, not a number", sel, s)
	}
	return n
}

func save(t *testing.T, name string, png []byte) {
	t.Helper()
	p := screenshotPath(name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot saved to %s", p)
}

func TestBrowserDashboard(t *testing.T) {
	tab := browsertest.Start(t)
	app := loadedApp(t)
	base := "http://" + app.Addr().String()

	browsertest.Run(t, tab, 15*time.Second, "open the page", chromedp.Navigate(base+"/dashboard"))
	browsertest.Run(t, tab, 10*time.Second, "see the service", chromedp.WaitVisible(chromedp.CSS(`[data-service="thumbnails"]`)))
	browsertest.Until(t, tab, 10*time.Second, "the page goes live", `document.querySelector('#live').dataset.live === 'ok'`)
	if got := browsertest.Run(t, tab, 5*time.Second, "read the state", chromedp.TextContent(chromedp.CSS(field("thumbnails", "state")))); got != "running" {
		t.Fatalf("state shows %q, want running", got)
	}
	if n := intText(t, tab, field("thumbnails", "running")); n != 1 {
		t.Fatalf("before load the page shows %d replicas running, want 1 (the minimum)", n)
	}

	stopLoad := load(t, base+"/thumbnails", 8)
	browsertest.Until(t, tab, 20*time.Second, "the replica count rises on the page",
		`Number(document.querySelector('`+field("thumbnails", "running")+`').textContent) > 1`)
	// Let the chart and the traffic figures fill in, then look at the page under load.
	browsertest.Until(t, tab, 15*time.Second, "requests per second and latency show",
		`document.querySelector('`+field("thumbnails", "rps")+`').textContent !== '—' &&
		 document.querySelector('`+field("thumbnails", "p50")+`').textContent.endsWith('ms') &&
		 document.querySelectorAll('[data-service="thumbnails"] .decisions li time').length > 0 &&
		 Number(document.querySelector('`+field("thumbnails", "running")+`').textContent) >= 4`)
	browsertest.Until(t, tab, 20*time.Second, "the chart has points",
		`(document.querySelector('[data-service="thumbnails"] path.s-ongoing')?.getAttribute('d').match(/L/g) || []).length >= 8`)
	save(t, "dashboard.png", browsertest.Run(t, tab, 10*time.Second, "screenshot", chromedp.FullScreenshot(100)))

	// At a phone's width the page fits without sideways scrolling.
	browsertest.Run(t, tab, 5*time.Second, "phone viewport", chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile, chromedp.EmulatePortrait))
	browsertest.Until(t, tab, 5*time.Second, "the page takes the phone's width", `document.documentElement.clientWidth <= 390`)
	if wide := browsertest.Run(t, tab, 5*time.Second, "measure", chromedp.Evaluate[bool](
		`document.documentElement.scrollWidth > document.documentElement.clientWidth`)); wide {
		t.Error("at 390px the page is wider than the screen")
	}
	save(t, "dashboard-phone.png", browsertest.Run(t, tab, 10*time.Second, "phone screenshot", chromedp.FullScreenshot(100)))
	browsertest.Run(t, tab, 5*time.Second, "desktop viewport", chromedp.EmulateViewport(1280, 900))
	stopLoad()

	// Stop a service with its button, then start it again.
	stop := `[data-service="thumbnails"] [data-action="stop"]`
	press(t, tab, "stop", stop)
	browsertest.Until(t, tab, 15*time.Second, "the state changes to stopped",
		`document.querySelector('`+field("thumbnails", "state")+`').textContent === 'stopped'`)
	if s := app.Lookup("thumbnails").State(); s != service.Stopped {
		t.Fatalf("the service is %s after the stop button, want stopped", s)
	}
	start := `[data-service="thumbnails"] [data-action="start"]`
	press(t, tab, "start", start)
	browsertest.Until(t, tab, 15*time.Second, "the state changes to running",
		`document.querySelector('`+field("thumbnails", "state")+`').textContent === 'running'`)

	tab.Check(t, app.Addr().String())
}

func TestBrowserToken(t *testing.T) {
	tab := browsertest.Start(t)
	t.Setenv(manage.TokenEnv, "s3cret") // the management API's token, which the dashboard shares
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		flow.Management(manage.Options{}), dashboard.Mount(dashboard.Interval(300*time.Millisecond)))
	svc := app.Service(service.Name("search"), service.BaseRoute("/search"))
	flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (slowReply, error) { return slowReply{}, nil })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })
	base := "http://" + app.Addr().String()

	browsertest.Run(t, tab, 15*time.Second, "open the page", chromedp.Navigate(base+"/dashboard/"))
	browsertest.Until(t, tab, 10*time.Second, "the page asks for the token",
		`document.querySelector('#live').dataset.live === 'auth' && document.querySelector('#auth').open`)
	browsertest.Run(t, tab, 5*time.Second, "type the token", chromedp.SendKeys(chromedp.CSS("#token"), "s3cret"))
	browsertest.Run(t, tab, 5*time.Second, "use it", chromedp.Click(chromedp.CSS(`#token-form button[type="submit"]`)))
	browsertest.Until(t, tab, 10*time.Second, "the service shows", `document.querySelector('`+field("search", "state")+`')?.textContent === 'running'`)
	if kept := browsertest.Run(t, tab, 5*time.Second, "read sessionStorage",
		chromedp.Evaluate[string](`sessionStorage.getItem('replicaflow.dashboard.token')`)); kept != "s3cret" {
		t.Errorf("sessionStorage keeps %q, want the token", kept)
	}
	// The stop button sends the token to the management API.
	press(t, tab, "stop", `[data-service="search"] [data-action="stop"]`)
	browsertest.Until(t, tab, 15*time.Second, "the state changes to stopped",
		`document.querySelector('`+field("search", "state")+`').textContent === 'stopped'`)

	for _, p := range tab.Console(t) {
		// The first status request had no token: the browser logs its 401.
		if p.Source == "network" && strings.Contains(p.Text, "401") {
			continue
		}
		t.Errorf("browser console: %s", p)
	}
}
