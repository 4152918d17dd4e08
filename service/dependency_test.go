package service_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// conn is a resource with an identity and a closed flag.
type conn struct {
	id     int64
	closed atomic.Bool
}

// conns builds numbered conns and counts closes.
type conns struct {
	n      atomic.Int64
	closes atomic.Int64
	// fail makes the next builds fail, while it is above zero.
	fail atomic.Int32
}

var errBroken = errors.New("backend unreachable")

func (c *conns) build(ctx context.Context) (*conn, error) {
	if c.fail.Load() > 0 {
		c.fail.Add(-1)
		return nil, errBroken
	}
	return &conn{id: c.n.Add(1)}, nil
}

func (c *conns) close(x *conn) error {
	if x.closed.Swap(true) {
		return errors.New("closed twice")
	}
	c.closes.Add(1)
	return nil
}

// TestReplicaScope checks that a replica dependency is built once per
// replica when the service starts, before any request, and that requests on
// one replica share its instance.
func TestReplicaScope(t *testing.T) {
	cs := &conns{}
	var dep *service.Dependency[*conn]
	h := serve(t, nil, []service.Option{service.Replicas(2, 2), service.MaxConcurrentQueries(1), service.NumCPUs(0.01)},
		func(svc *service.Service) {
			dep = service.NewDependency(svc, service.ReplicaScope, cs.build, cs.close)
			flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
				c, err := dep.Get(ctx)
				if err != nil {
					return 0, err
				}
				if c.closed.Load() {
					return 0, errors.New("got a closed conn")
				}
				return c.id, nil
			})
		})
	if n := cs.n.Load(); n != 2 {
		t.Fatalf("%d replica conns built before traffic, want 2", n)
	}
	seen := map[string]int{}
	for range 20 { // one at a time: always the least loaded, first replica
		r := get(context.Background(), h.url+"/")
		if r.status != 200 {
			t.Fatalf("request: %s", r)
		}
		seen[r.body]++
	}
	if len(seen) != 1 {
		t.Errorf("sequential requests saw conns %v, want one replica's conn", seen)
	}
	if n := cs.n.Load(); n != 2 {
		t.Errorf("%d conns built after 20 requests, want still 2", n)
	}
	if _, err := dep.Get(context.Background()); !errors.Is(err, service.ErrNoDependency) {
		t.Errorf("Get outside a handler: %v, want ErrNoDependency", err)
	}
	if err := h.svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := cs.closes.Load(); n != 2 {
		t.Errorf("%d replica conns closed at stop, want 2", n)
	}
}

// TestReplicaReadyOnlyAfterItsDependencies holds a replica's dependency
// build: the request waits in the queue and is served once the build ends.
func TestReplicaReadyOnlyAfterItsDependencies(t *testing.T) {
	unblock := make(chan struct{})
	var built atomic.Bool
	app := flow.New(flow.Logger(logger(nil)))
	svc := app.Service()
	dep := service.NewDependency(svc, service.ReplicaScope, func(ctx context.Context) (string, error) {
		select {
		case <-unblock:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		built.Store(true)
		return "pool-1", nil
	}, nil)
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) {
		if !built.Load() {
			return "", errors.New("served before the replica was ready")
		}
		return dep.Get(ctx)
	})
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := httptestServer(t, app)
	defer func() {
		select {
		case <-unblock:
		default:
			close(unblock)
		}
	}()
	if err := svc.Ready(); err == nil {
		t.Error("Ready before the replica's dependencies were built")
	}
	res := goGet(context.Background(), url+"/")
	waitFor(t, "the request to queue", 5*time.Second, func() bool {
		st := svc.Status().Replicas
		return st.Queued == 1 && st.Starting == 1 && st.Running == 0
	})
	select {
	case r := <-res:
		t.Fatalf("answered before the replica was ready: %s", r)
	case <-time.After(50 * time.Millisecond):
	}
	close(unblock)
	if r := <-res; r.status != 200 || r.body != `"pool-1"` {
		t.Fatalf("after setup: %s", r)
	}
	if err := svc.Ready(); err != nil {
		t.Errorf("Ready after setup: %v", err)
	}
}

// TestRequestScope checks that a request dependency is built once per
// request, on first use (memoized within it), and closed after the handler.
func TestRequestScope(t *testing.T) {
	cs := &conns{}
	var unused atomic.Int64
	h := serve(t, nil, nil, func(svc *service.Service) {
		dep := service.NewDependency(svc, service.RequestScope, cs.build, cs.close)
		service.NewDependency(svc, service.RequestScope,
			func(ctx context.Context) (int, error) { unused.Add(1); return 0, nil }, nil)
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
			a, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			b, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			if a != b {
				return 0, errors.New("two instances in one request")
			}
			if a.closed.Load() {
				return 0, errors.New("closed while the handler runs")
			}
			return a.id, nil
		})
	})
	const n = 10
	var wg sync.WaitGroup
	ids := make(chan string, n)
	for range n {
		wg.Go(func() {
			r := get(context.Background(), h.url+"/")
			if r.status != 200 {
				t.Errorf("request: %s", r)
			}
			ids <- r.body
		})
	}
	wg.Wait()
	close(ids)
	seen := map[string]bool{}
	for id := range ids {
		if seen[id] {
			t.Errorf("instance %s served two requests", id)
		}
		seen[id] = true
	}
	if b := cs.n.Load(); b != n {
		t.Errorf("built %d for %d requests", b, n)
	}
	waitFor(t, "every request instance closed", 2*time.Second, func() bool { return cs.closes.Load() == n })
	if u := unused.Load(); u != 0 {
		t.Errorf("a dependency no handler asked for was built %d times", u)
	}
}

// TestGlobalScope checks that a global dependency is one instance, built
// when the service starts, shared by every replica and request, not closed
// by a stop, and closed once by Close.
func TestGlobalScope(t *testing.T) {
	cs := &conns{}
	var dep *service.Dependency[*conn]
	h := serve(t, nil, []service.Option{service.Replicas(3, 3), service.MaxConcurrentQueries(1), service.NumCPUs(0.01)},
		func(svc *service.Service) {
			dep = service.NewDependency(svc, service.GlobalScope, cs.build, cs.close)
			flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
				c, err := dep.Get(ctx)
				if err != nil {
					return 0, err
				}
				time.Sleep(2 * time.Millisecond) // spread requests over replicas
				return c.id, nil
			})
		})
	if n := cs.n.Load(); n != 1 {
		t.Fatalf("%d global instances built at start, want 1", n)
	}
	var wg sync.WaitGroup
	for range 12 {
		wg.Go(func() {
			if r := get(context.Background(), h.url+"/"); r.status != 200 || r.body != "1" {
				t.Errorf("request: %s, want instance 1", r)
			}
		})
	}
	wg.Wait()
	if c, err := dep.Get(context.Background()); err != nil || c.id != 1 {
		t.Errorf("Get outside a handler: %v %v", c, err)
	}
	if err := h.svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	if n := cs.closes.Load(); n != 0 {
		t.Errorf("a service stop closed the global instance")
	}
	for range 2 {
		if err := dep.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if n, c := cs.n.Load(), cs.closes.Load(); n != 1 || c != 1 {
		t.Errorf("built %d, closed %d; want 1, 1", n, c)
	}
}

// TestFailingConstructor checks that a constructor's error is reported and
// retried at each scope, never swallowed.
func TestFailingConstructor(t *testing.T) {
	t.Run("replica", func(t *testing.T) {
		cs := &conns{}
		cs.fail.Store(2)
		logs := &logBuf{}
		app := flow.New(flow.Logger(logger(logs)))
		svc := app.Service()
		dep := service.NewDependency(svc, service.ReplicaScope, cs.build, cs.close)
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
			c, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			return c.id, nil
		})
		if err := app.StartServices(context.Background()); err != nil {
			t.Fatal(err)
		}
		url := httptestServer(t, app)
		// The first request waits while the build is retried, then runs.
		if r := get(context.Background(), url+"/"); r.status != 200 || r.body != "1" {
			t.Fatalf("after retries: %s", r)
		}
		out := logs.String()
		if n := strings.Count(out, errBroken.Error()); n != 2 {
			t.Errorf("the build error was logged %d times, want 2 (once per failure):\n%s", n, out)
		}
		if !strings.Contains(out, "attempt=2") {
			t.Errorf("the log does not say it retries:\n%s", out)
		}
	})
	t.Run("request", func(t *testing.T) {
		cs := &conns{}
		cs.fail.Store(1)
		logs := &logBuf{}
		h := serve(t, logs, nil, func(svc *service.Service) {
			dep := service.NewDependency(svc, service.RequestScope, cs.build, cs.close)
			flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
				c, err := dep.Get(ctx)
				if err != nil {
					return 0, err
				}
				return c.id, nil
			})
		})
		r := get(context.Background(), h.url+"/")
		if r.status != 500 {
			t.Fatalf("failed build: %s, want 500", r)
		}
		if p := r.problem(t); strings.Contains(p.Detail, errBroken.Error()) {
			t.Errorf("the 500 leaks the internal error: %+v", p)
		}
		if !strings.Contains(logs.String(), errBroken.Error()) {
			t.Errorf("the build error was not logged:\n%s", logs)
		}
		if r := get(context.Background(), h.url+"/"); r.status != 200 {
			t.Errorf("the next request, with the build working: %s", r)
		}
	})
	t.Run("global", func(t *testing.T) {
		cs := &conns{}
		cs.fail.Store(1)
		app := flow.New(flow.Logger(logger(nil)))
		svc := app.Service()
		dep := service.NewDependency(svc, service.GlobalScope, cs.build, cs.close)
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
			c, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			return c.id, nil
		})
		err := app.StartServices(context.Background())
		if !errors.Is(err, errBroken) {
			t.Fatalf("start with a failing global build: %v", err)
		}
		if svc.State() != service.Failed || !errors.Is(svc.Err(), errBroken) {
			t.Errorf("state %s, err %v", svc.State(), svc.Err())
		}
		if st := svc.Status(); !strings.Contains(st.Error, errBroken.Error()) {
			t.Errorf("status error %q", st.Error)
		}
		// Starting again retries the build.
		if err := svc.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		url := httptestServer(t, app)
		waitFor(t, "a ready replica", 5*time.Second, func() bool { return svc.Ready() == nil })
		if r := get(context.Background(), url+"/"); r.status != 200 || r.body != "1" {
			t.Errorf("after the retry: %s", r)
		}
		if err := svc.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := dep.Close(); err != nil {
			t.Fatal(err)
		}
	})
}

// TestDependencyRules checks the programmer errors that panic.
func TestDependencyRules(t *testing.T) {
	svc := service.New()
	svc.SetLogger(logger(nil))
	mustPanic(t, "nil constructor", func() {
		service.NewDependency[int](svc, service.RequestScope, nil, nil)
	})
	if err := svc.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer svc.Stop(context.Background())
	mustPanic(t, "before the service starts", func() {
		service.NewDependency(svc, service.ReplicaScope, func(context.Context) (int, error) { return 1, nil }, nil)
	})
}

func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		s, _ := v.(string)
		if !strings.HasPrefix(s, "replicaflow: ") || !strings.Contains(s, want) {
			t.Errorf("panic %v, want one with %q", v, want)
		}
	}()
	f()
}
