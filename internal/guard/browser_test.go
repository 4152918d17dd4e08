package guard_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/browsertest"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// otherOrigin listens on 127.0.0.2, another origin than the servers on
// 127.0.0.1 (or, where that address is missing, on another port).
func otherOrigin(t *testing.T, h http.Handler) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		l, err = net.Listen("tcp", "127.0.0.1:0")
	}
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewUnstartedServer(h)
	srv.Listener.Close()
	srv.Listener = l
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL
}

// attackPage is what a hostile site serves: requests a browser sends to
// another origin without asking (no-cors fetches and a form), aimed at the
// tokenless management API and supervisor. The title turns "done" once
// every request has been answered.
const attackPage = `<!doctype html><title>attack</title>
<iframe name="sink"></iframe>
<form id="f" target="sink" method="POST" action="%[1]s/admin/services/work/stop"></form>
<script>
const admin = %[1]q + '/admin', sup = %[2]q;
const sent = [
  fetch(admin + '/services/work/stop', {method: 'POST', mode: 'no-cors', body: new URLSearchParams('a=1')}),
  fetch(admin + '/services/work/stop', {method: 'POST', mode: 'no-cors', body: '{}'}),
  fetch(admin + '/services/register', {method: 'POST', mode: 'no-cors',
    body: new Blob(['{"service_name":"work","instance_name":"csrf-browser"}'])}),
  fetch(sup + '/register', {method: 'POST', mode: 'no-cors',
    body: JSON.stringify({name: 'hello', host: '127.0.0.1', port: 18666})}),
  fetch(sup + '/register', {method: 'POST', mode: 'no-cors',
    body: new Blob([JSON.stringify({name: 'hello', host: '127.0.0.1', port: 18667})])}),
];
Promise.allSettled(sent).then(() => {
  document.querySelector('iframe').onload = () => { document.title = 'done'; };
  document.getElementById('f').submit();
});
</script>`

// TestBrowserCrossSite replays the red team's D1 and D2 in a real browser:
// a page on another loopback origin tries to stop a service and register an
// instance through a tokenless management API, and to register a rogue
// worker at a tokenless supervisor. Every attempt must fail.
func TestBrowserCrossSite(t *testing.T) {
	tab := browsertest.Start(t)
	t.Setenv(manage.TokenEnv, "") // the tokenless loopback mode, whatever the environment says

	classes := manage.NewClasses()
	classes.Register("work", func(name string, opts ...service.Option) *service.Service {
		svc := service.New(opts...)
		flow.Endpoint(svc, "GET", "/", func(context.Context, struct{}) (string, error) { return name, nil })
		return svc
	})
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slog.New(slog.NewTextHandler(io.Discard, nil))),
		flow.Management(manage.Options{Classes: classes}))
	work := app.Service(service.Name("work"), service.BaseRoute("/work"))
	flow.Endpoint(work, "GET", "/", func(context.Context, struct{}) (string, error) { return "ok", nil })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		app.Shutdown(ctx)
	})
	sup := supervisor.New(supervisor.Options{DefaultInterval: time.Hour,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	supSrv := httptest.NewServer(sup)
	t.Cleanup(func() { supSrv.Close(); sup.Close() })

	page := fmt.Sprintf(attackPage, "http://"+app.Addr().String(), supSrv.URL)
	evil := otherOrigin(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		io.WriteString(w, page)
	}))

	browsertest.Run(t, tab, 20*time.Second, "open the hostile page", chromedp.Navigate(evil+"/"))
	browsertest.Run(t, tab, 20*time.Second, "wait for its requests", chromedp.Poll[bool](`document.title === 'done'`, chromedp.WithPollingInterval(50*time.Millisecond)))

	if s := app.Lookup("work").State(); s != service.Running {
		t.Errorf("the service is %s after the hostile page, want running", s)
	}
	if app.Lookup("csrf-browser") != nil {
		t.Error("the hostile page registered an instance through the management API")
	}
	rows, err := sup.Status(context.Background())
	if err != nil || len(rows) != 0 {
		t.Errorf("the supervisor lists %d instances after the hostile page (%v), want none", len(rows), err)
	}
}
