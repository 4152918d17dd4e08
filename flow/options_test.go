package flow_test

import (
	"context"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// probed are the paths every serving mode is asked for.
var probed = []string{"/healthz", "/readyz", "/openapi.json", "/docs/index.html", "/metrics",
	"/admin/services", "/svc", "/mounted", "/dashboard/"}

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
	cases := []struct {
		name string
		opts []flow.Option
	}{
		{"defaults", nil},
		{"no health", []flow.Option{flow.Health(false)}},
		{"no metrics", []flow.Option{flow.Metrics("")}},
		{"no docs", []flow.Option{flow.Docs("", "")}},
		{"no management", []flow.Option{flow.Management(manage.Options{Disabled: true})}},
		{"setup mounts", []flow.Option{mounted}},
		{"combined", []flow.Option{flow.Options(flow.Health(false), mounted)}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var first map[string]int
			var firstMode string
			for _, m := range serveModes {
				got := map[string]int{}
				m.serve(t, c.opts, func(url string) {
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
					continue
				}
				if !maps.Equal(first, got) {
					t.Fatalf("%s serves %v\n%s serves %v", firstMode, first, m.name, got)
				}
			}
		})
	}
}
