package flow_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/service"
)

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		p := recover()
		if p == nil {
			t.Fatalf("no panic, want one containing %q", want)
		}
		msg, _ := p.(string)
		if !strings.HasPrefix(msg, "replicaflow: ") || !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want one starting with \"replicaflow: \" containing %q", p, want)
		}
	}()
	f()
}

func TestServiceRules(t *testing.T) {
	tests := []struct {
		name string
		opts []service.Option
		want string
	}{
		{"num replicas above max", []service.Option{service.Replicas(1, 2), service.NumReplicas(3)}, `service "root" (/): num replicas 3 is outside [min replicas 1, max replicas 2]`},
		{"num replicas below min", []service.Option{service.Replicas(2, 4), service.NumReplicas(1)}, "num replicas 1 is outside"},
		{"min above max", []service.Option{service.MinReplicas(5), service.MaxReplicas(2)}, "min replicas 5 is above max replicas 2"},
		{"target above capacity", []service.Option{service.MaxConcurrentQueries(2), service.TargetOngoingRequests(3)}, "target ongoing requests per replica 3 is above max concurrent queries 2"},
		{"negative min", []service.Option{service.MinReplicas(-1)}, "min replicas -1 is negative"},
		{"zero target", []service.Option{service.TargetOngoingRequests(-1)}, "must be above 0"},
		{"parameter in base route", []service.Option{service.BaseRoute("/u/:id")}, "must be a plain path"},
		{"bad name", []service.Option{service.Name("a b")}, `name "a b"`},
		{"collides with health", []service.Option{service.BaseRoute("/healthz")}, "collides with the flow's own route /healthz"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mustPanic(t, tt.want, func() { flow.New().Service(tt.opts...) })
		})
	}
	t.Run("duplicate base route", func(t *testing.T) {
		app := flow.New()
		app.Service(service.BaseRoute("/a"))
		mustPanic(t, "base route /a is already used", func() { app.Service(service.BaseRoute("/a/"), service.Name("other")) })
	})
	t.Run("duplicate service ID", func(t *testing.T) {
		app := flow.New()
		app.Service(service.ServiceID("x"), service.BaseRoute("/a"))
		mustPanic(t, "service ID x is already used", func() { app.Service(service.ServiceID("x"), service.BaseRoute("/b")) })
	})
	t.Run("duplicate name", func(t *testing.T) {
		app := flow.New()
		app.Service(service.Name("n"), service.BaseRoute("/a"))
		mustPanic(t, `name "n" is already used`, func() { app.Service(service.Name("n"), service.BaseRoute("/b")) })
	})
	t.Run("duplicate endpoint", func(t *testing.T) {
		svc := flow.New().Service()
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (none, error) { return none{}, nil })
		mustPanic(t, "GET / is already registered", func() {
			flow.Endpoint(svc, "get", "/", func(ctx context.Context, _ none) (none, error) { return none{}, nil })
		})
	})
	t.Run("path field without route parameter", func(t *testing.T) {
		mustPanic(t, `binds path parameter "id", which the route does not have`, func() {
			flow.Endpoint(flow.New().Service(), "GET", "/x", func(ctx context.Context, in struct {
				ID int `path:"id"`
			}) (none, error) {
				return none{}, nil
			})
		})
	})
	t.Run("unsupported parameter type", func(t *testing.T) {
		mustPanic(t, "cannot bind a parameter of type", func() {
			flow.Endpoint(flow.New().Service(), "GET", "/x", func(ctx context.Context, in struct {
				M map[string]int `query:"m"`
			}) (none, error) {
				return none{}, nil
			})
		})
	})
}

func TestServiceDefaults(t *testing.T) {
	a, b := service.New(), service.New(service.BaseRoute("/api/v1"), service.Replicas(2, 8))
	oa, ob := a.Options(), b.Options()
	if oa.ServiceID == "" || oa.ServiceID == ob.ServiceID {
		t.Fatalf("service IDs must be random UUIDs: %q %q", oa.ServiceID, ob.ServiceID)
	}
	if oa.BaseRoute != "/" || oa.Name != "root" || oa.NumCPUs != 0 || oa.NumReplicas != 1 || oa.MinReplicas != 1 ||
		oa.MaxReplicas != 1 || oa.MaxConcurrentQueries != 100 || oa.TargetOngoingRequests != 1 || oa.DisableAutoscaler {
		t.Fatalf("defaults %+v", oa)
	}
	if ob.Name != "api-v1" || ob.NumReplicas != 2 {
		t.Fatalf("name %q, num replicas %d: the name comes from the route, replicas start at min", ob.Name, ob.NumReplicas)
	}
	c := service.New(service.WithOptions(service.Options{BaseRoute: "/plain", MinReplicas: 1}))
	if o := c.Options(); o.MaxReplicas != 1 || o.MaxConcurrentQueries != 100 || o.ServiceID == "" {
		t.Fatalf("a plain Options struct takes the defaults for zero fields: %+v", o)
	}
}

func TestDispatch(t *testing.T) {
	app := flow.New()
	for _, base := range []string{"/", "/api", "/api/v2"} {
		svc := app.Service(service.BaseRoute(base))
		flow.Endpoint(svc, "GET", "/*rest", func(ctx context.Context, in struct {
			Rest string `path:"rest"`
		}) (string, error) {
			return base + " " + in.Rest, nil
		})
	}
	c := flowtest.New(t, app)
	for path, want := range map[string]string{
		"/x":          `"/ /x"`,
		"/apix":       `"/ /apix"`,
		"/api/x":      `"/api /x"`,
		"/api/v2/":    `"/api/v2 /"`,
		"/api/v2/y/z": `"/api/v2 /y/z"`,
		"/api/v20":    `"/api /v20"`,
	} {
		if res := c.Get(path); res.Text() != want {
			t.Errorf("GET %s → %d %s, want %s", path, res.Status, res.Text(), want)
		}
	}
}

func TestAddAndRemoveWhileServing(t *testing.T) {
	app := flow.New()
	c := flowtest.New(t, app)
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				res := c.Get("/dyn")
				if res.Status != 200 && res.Status != 404 && res.Status != 503 {
					t.Errorf("status %d", res.Status)
					return
				}
			}
		}()
	}
	for i := range 20 {
		svc := service.New(service.BaseRoute("/dyn"))
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int, error) { return i, nil })
		app.AddService(svc)
		if got := flowtest.Call[int](c, "GET", "/dyn", nil); got != i {
			t.Fatalf("generation %d answered %d", i, got)
		}
		if err := app.RemoveService(context.Background(), "dyn"); err != nil {
			t.Fatal(err)
		}
		if res := c.Get("/dyn"); res.Status != 404 {
			t.Fatalf("removed service still answers %d", res.Status)
		}
	}
	close(stop)
	wg.Wait()
	if err := app.RemoveService(context.Background(), "dyn"); err == nil {
		t.Fatal("removing an unknown service must fail")
	}
}
