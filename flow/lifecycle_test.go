package flow_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/middleware"
	"github.com/replicaflow/replicaflow/service"
)

func TestLifecycleStates(t *testing.T) {
	var started, stopped, after int
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)),
		flow.OnStart(func(ctx context.Context, app *flow.Flow) error {
			if app.State() != flow.Starting {
				t.Errorf("state during OnStart %s, want starting", app.State())
			}
			started++
			return nil
		}),
		flow.OnShutdown(func(ctx context.Context, app *flow.Flow) error { stopped++; return nil }),
		flow.AfterShutdown(func(ctx context.Context, app *flow.Flow) error { after++; return nil }))
	ctx := context.Background()
	steps := []struct {
		name string
		do   func() error
		want flow.State
		addr bool
	}{
		{"new", func() error { return nil }, flow.Initialized, false},
		{"start", func() error { return app.Start(ctx) }, flow.Running, true},
		{"shutdown", func() error { return app.Shutdown(ctx) }, flow.Stopped, false},
		{"start without listening", func() error { return app.StartServices(ctx) }, flow.Running, false},
		{"shutdown again", func() error { return app.Shutdown(ctx) }, flow.Stopped, false},
		{"shutdown when stopped", func() error { return app.Shutdown(ctx) }, flow.Stopped, false},
	}
	for _, s := range steps {
		if err := s.do(); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if got := app.State(); got != s.want {
			t.Fatalf("after %s: state %s, want %s", s.name, got, s.want)
		}
		if (app.Addr() != nil) != s.addr {
			t.Fatalf("after %s: Addr %v", s.name, app.Addr())
		}
	}
	if started != 2 || stopped != 2 || after != 2 {
		t.Fatalf("hooks ran start %d, shutdown %d, after shutdown %d times; want 2 each", started, stopped, after)
	}
	if err := app.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(ctx)
	if err := app.Start(ctx); err == nil || !strings.Contains(err.Error(), "already running") {
		t.Fatalf("a second Start: %v", err)
	}
}

// A flow served through Handler starts on its first request through the
// same path as Start: the OnStart hooks run (with no address).
func TestHandlerStartsOnFirstRequest(t *testing.T) {
	hooked := make(chan bool, 1)
	app := flow.New(flow.Logger(slogTo(nil)), flow.OnStart(func(ctx context.Context, app *flow.Flow) error {
		hooked <- app.Addr() == nil
		return nil
	}))
	flow.Endpoint(app.Service(service.BaseRoute("/hi")), "GET", "/", func(ctx context.Context, _ none) (string, error) { return "hi", nil })
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	defer app.Shutdown(context.Background())
	res, err := http.Get(srv.URL + "/hi")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	select {
	case noAddr := <-hooked:
		if !noAddr {
			t.Fatal("Addr was set for a flow served through Handler")
		}
	default:
		t.Fatal("the OnStart hook did not run before the first request was served")
	}
	if app.State() != flow.Running {
		t.Fatalf("state %s", app.State())
	}
}

// A failed start hook undoes the start and is returned.
func TestStartHookFailure(t *testing.T) {
	boom := errors.New("boom")
	var undone bool
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)),
		flow.OnStart(func(ctx context.Context, app *flow.Flow) error { return boom }),
		flow.OnShutdown(func(ctx context.Context, app *flow.Flow) error { undone = true; return nil }))
	if err := app.Start(context.Background()); !errors.Is(err, boom) {
		t.Fatalf("Start: %v, want the hook's error", err)
	}
	if app.State() != flow.Stopped || app.Addr() != nil || !undone {
		t.Fatalf("after a failed start: state %s, addr %v, shutdown hooks ran %v", app.State(), app.Addr(), undone)
	}
}

// The flow's middleware runs on the flow's own routes as on the services'.
func TestUseCoversOwnRoutes(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	app.Use(middleware.RequestID())
	flow.Endpoint(app.Service(service.BaseRoute("/api")), "GET", "/", func(ctx context.Context, _ none) (string, error) { return "ok", nil })
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	defer app.Shutdown(context.Background())
	for _, path := range []string{"/api", "/nowhere", "/healthz", "/readyz", "/openapi.json", "/docs/index.html", "/metrics", "/admin/services"} {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.Header.Get("X-Request-ID") == "" {
			t.Errorf("%s (%d): no X-Request-ID", path, res.StatusCode)
		}
	}
}

// A service added to a running flow that fails to start stays attached in
// the error state, shown by /readyz; AddService does not panic.
func TestAddServiceThatFailsToStart(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	svc := service.New(service.Name("db"), service.BaseRoute("/db"))
	service.NewDependency(svc, service.GlobalScope, func(ctx context.Context) (int, error) {
		return 0, errors.New("database is down")
	}, nil)
	app.AddService(svc)
	if app.Lookup("db") != svc || svc.Err() == nil {
		t.Fatalf("service attached %v, error %v", app.Lookup("db") == svc, svc.Err())
	}
	res, err := http.Get(srv.URL + "/readyz")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || !strings.Contains(string(b), "db") {
		t.Fatalf("readyz %d %s", res.StatusCode, b)
	}
}
