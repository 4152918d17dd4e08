package flow_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/dashboard"
	"github.com/replicaflow/replicaflow/distributed/node"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// probed are the paths every serving mode is asked for, in order. The
// service comes first: its answer waits for a ready replica, so /readyz
// then says ready in every mode, however long the replica took to start.
var probed = []string{"/svc", "/healthz", "/readyz", "/openapi.json", "/docs/index.html", "/metrics",
	"/admin/services", "/mounted", "/dashboard/", "/dashboard/api/status", "/remote"}

// serveModes serve an app, run probe against its base URL, then stop it.
var serveModes = []struct {
	name  string
	serve func(t *testing.T, opts []flow.Option, probe func(url string))
}{
	{"Run", func(t *testing.T, opts []flow.Option, probe func(url string)) {
		started := make(chan string, 1)
		app := newProbed(append(opts, flow.Address("127.0.0.1:0"), flow.OnStart(func(ctx context.Context, app *flow.Flow) error {
			started <- "http://" + app.Addr().String()
			return nil
		})))
		done := make(chan error, 1)
		go func() { done <- flow.Run(app) }()
		select {
		case url := <-started: // Run listens for signals before it starts
			probe(url)
		case err := <-done:
			t.Fatalf("Run: %v", err)
		}
		syscall.Kill(syscall.Getpid(), syscall.SIGTERM)
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Fatal("Run did not return after SIGTERM")
		}
	}},
	{"Start", func(t *testing.T, opts []flow.Option, probe func(url string)) {
		app := newProbed(append(opts, flow.Address("127.0.0.1:0")))
		if err := app.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer app.Shutdown(context.Background())
		probe("http://" + app.Addr().String())
	}},
	{"Handler", func(t *testing.T, opts []flow.Option, probe func(url string)) {
		app := newProbed(opts)
		srv := httptest.NewServer(app.Handler())
		defer srv.Close()
		defer app.Shutdown(context.Background())
		probe(srv.URL)
	}},
}

func newProbed(opts []flow.Option) *flow.Flow {
	app := flow.New(append([]flow.Option{flow.Logger(slogTo(nil))}, opts...)...)
	flow.Endpoint(app.Service(service.BaseRoute("/svc")), "GET", "/", func(ctx context.Context, _ struct{}) (string, error) { return "ok", nil })
	return app
}

var mounted = flow.Setup(func(app *flow.Flow) {
	app.Mount("/mounted", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("mounted")) }))
})

// Every flow option gives the same routes however the flow is served: by
// Run, by Start, or through Handler in another server.
func TestOptionsServeAlike(t *testing.T) {
	one := func(o ...flow.Option) func() []flow.Option { return func() []flow.Option { return o } }
	cases := []struct {
		name string
		opts func() []flow.Option // a fresh set per flow: a plug-in serves one flow
		nats bool
	}{
		{"defaults", one(), false},
		{"no health", one(flow.Health(false)), false},
		{"no metrics", one(flow.Metrics("")), false},
		{"no docs", one(flow.Docs("", "")), false},
		{"no management", one(flow.Management(manage.Options{Disabled: true})), false},
		{"setup mounts", one(mounted), false},
		{"combined", one(flow.Options(flow.Health(false), mounted)), false},
		{"dashboard", func() []flow.Option { return []flow.Option{dashboard.Mount()} }, false},
		{"dashboard without management", func() []flow.Option {
			return []flow.Option{dashboard.Mount(), flow.Management(manage.Options{Disabled: true})}
		}, false},
		{"distributed node", func() []flow.Option {
			return []flow.Option{node.NATS(testutil.NATSURL(), node.IngressOnly(), node.Remote("/remote", "elsewhere"),
				node.SubjectPrefix("rf-options-test"))}
		}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.nats {
				nc, err := nats.Connect(testutil.NATSURL(), nats.Timeout(2*time.Second))
				if err != nil {
					t.Skipf("no NATS server at %s: %v", testutil.NATSURL(), err)
				}
				nc.Close()
			}
			var first map[string]int
			var firstMode string
			for _, m := range serveModes {
				got := map[string]int{}
				m.serve(t, c.opts(), func(url string) {
					for _, p := range probed {
						res, err := http.Get(url + p)
						if err != nil {
							t.Fatalf("%s %s: %v", m.name, p, err)
						}
						io.Copy(io.Discard, res.Body)
						res.Body.Close()
						got[p] = res.StatusCode
					}
				})
				if first == nil {
					first, firstMode = got, m.name
					if got["/svc"] != 200 {
						t.Fatalf("%s: the service answers %d", m.name, got["/svc"])
					}
					if strings.HasPrefix(c.name, "dashboard") && got["/dashboard/"] != 200 {
						t.Fatalf("%s: the dashboard answers %d", m.name, got["/dashboard/"])
					}
					continue
				}
				if !maps.Equal(first, got) {
					t.Fatalf("%s serves %v\n%s serves %v", firstMode, first, m.name, got)
				}
			}
		})
	}
}
