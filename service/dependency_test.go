package service_test

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
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

// connService is a service whose GET / answers the ID of dep's instance.
func connService(log *logBuf, scope service.Scope, cs *conns, opts ...service.Option) (*service.Service, *service.Dependency[*conn]) {
	var dep *service.Dependency[*conn]
	var w io.Writer
	if log != nil {
		w = log
	}
	svc := newService(w, opts, func(svc *service.Service) {
		dep = service.NewDependency(svc, scope, cs.build, cs.close)
		service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
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
	return svc, dep
}

// A service with no replica-scoped dependency has nothing to build per
// replica: its replicas serve as soon as Start returns, with no goroutine
// each. One with such a dependency builds it on each replica first.
func TestReplicasWithNothingToBuildServeAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		plain := newService(nil, []service.Option{service.Name("plain"), service.Replicas(3, 3)}, nil)
		start(t, plain)
		if st := plain.Status().Replicas; st.Running != 3 || st.Starting != 0 {
			t.Errorf("right after Start: %d running, %d starting; want 3 and 0", st.Running, st.Starting)
		}
		built := newService(nil, []service.Option{service.Name("built"), service.Replicas(3, 3)}, func(svc *service.Service) {
			service.NewDependency(svc, service.ReplicaScope, func(context.Context) (int, error) { return 1, nil }, nil)
		})
		start(t, built)
		synctest.Wait()
		if st := built.Status().Replicas; st.Running != 3 {
			t.Errorf("after the builds: %d running, want 3", st.Running)
		}
	})
}

// TestReplicaScope checks that a replica dependency is built once per
// replica when the service starts, before any request, and that requests on
// one replica share its instance.
func TestReplicaScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &conns{}
		svc, dep := connService(nil, service.ReplicaScope, cs, service.Replicas(2, 2), service.MaxConcurrentQueries(1))
		start(t, svc)
		synctest.Wait()
		if n := cs.n.Load(); n != 2 {
			t.Fatalf("%d replica conns built before traffic, want 2", n)
		}
		seen := map[string]int{}
		for range 20 { // one at a time: always the least loaded, first replica
			r := get(context.Background(), svc, "/")
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
		if err := svc.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := cs.closes.Load(); n != 2 {
			t.Errorf("%d replica conns closed at stop, want 2", n)
		}
	})
}

// TestReplicaReadyOnlyAfterItsDependencies holds a replica's dependency
// build: the request waits in the queue and is served once the build ends.
func TestReplicaReadyOnlyAfterItsDependencies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		unblock := make(chan struct{})
		var built atomic.Bool
		svc := newService(nil, nil, func(svc *service.Service) {
			dep := service.NewDependency(svc, service.ReplicaScope, func(ctx context.Context) (string, error) {
				select {
				case <-unblock:
				case <-ctx.Done():
					return "", ctx.Err()
				}
				built.Store(true)
				return "pool-1", nil
			}, nil)
			service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) {
				if !built.Load() {
					return "", errors.New("served before the replica was ready")
				}
				return dep.Get(ctx)
			})
		})
		start(t, svc)
		if err := svc.Ready(); err == nil {
			t.Error("Ready before the replica's dependencies were built")
		}
		res := goGet(context.Background(), svc, "/")
		time.Sleep(time.Second)
		synctest.Wait()
		if st := svc.Status().Replicas; st.Queued != 1 || st.Starting != 1 || st.Running != 0 {
			t.Fatalf("status %+v, want the request queued while the replica starts", st)
		}
		select {
		case r := <-res:
			t.Fatalf("answered before the replica was ready: %s", r)
		default:
		}
		close(unblock)
		if r := <-res; r.status != 200 || r.body != `"pool-1"` {
			t.Fatalf("after setup: %s", r)
		}
		if err := svc.Ready(); err != nil {
			t.Errorf("Ready after setup: %v", err)
		}
	})
}

// TestBrokenReplicaDependencyAnswers503AtOnce checks that a service whose
// replicas cannot be built answers 503 at once, saying why, rather than
// queueing requests until they time out; that its status and Ready say the
// same; and that it serves once the build works.
func TestBrokenReplicaDependencyAnswers503AtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &conns{}
		cs.fail.Store(1 << 20)
		svc, _ := connService(nil, service.ReplicaScope, cs)
		start(t, svc)
		synctest.Wait()
		begin := time.Now()
		r := get(context.Background(), svc, "/")
		const want = "no replica is ready: build replica dependency *service_test.conn: backend unreachable"
		if r.status != 503 || r.header.Get("Retry-After") == "" || time.Since(begin) != 0 {
			t.Fatalf("got %s after %v, want 503 with Retry-After at once", r, time.Since(begin))
		}
		if p := r.problem(t); p.Detail != want {
			t.Errorf("detail %q, want %q", p.Detail, want)
		}
		st := svc.Status()
		if st.State != service.Running || st.Error != want || !strings.Contains(st.Replicas.SetupError, errBroken.Error()) {
			t.Errorf("status %+v, want the build error", st)
		}
		if err := svc.Ready(); err == nil || err.Error() != want {
			t.Errorf("Ready: %v, want %q", err, want)
		}
		cs.fail.Store(0)
		time.Sleep(10 * time.Second) // past the next retry
		synctest.Wait()
		if r := get(context.Background(), svc, "/"); r.status != 200 {
			t.Errorf("once the build works: %s", r)
		}
		if st := svc.Status(); st.Error != "" || st.Replicas.SetupError != "" {
			t.Errorf("status %+v, want the error gone", st)
		}
	})
}

// TestFailingConstructor checks that a constructor's error is reported and
// retried at each scope, never swallowed.
func TestFailingConstructor(t *testing.T) {
	t.Run("replica", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cs := &conns{}
			cs.fail.Store(2)
			logs := &logBuf{}
			svc, _ := connService(logs, service.ReplicaScope, cs)
			start(t, svc)
			synctest.Wait()
			if r := get(context.Background(), svc, "/"); r.status != 503 || !strings.Contains(r.body, errBroken.Error()) {
				t.Errorf("while the build fails: %s, want 503 naming the error", r)
			}
			time.Sleep(time.Second) // two retries with backoff
			synctest.Wait()
			if r := get(context.Background(), svc, "/"); r.status != 200 || r.body != "1" {
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
	})
	t.Run("request", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cs := &conns{}
			cs.fail.Store(1)
			logs := &logBuf{}
			svc, _ := connService(logs, service.RequestScope, cs)
			start(t, svc)
			synctest.Wait()
			r := get(context.Background(), svc, "/")
			if r.status != 500 {
				t.Fatalf("failed build: %s, want 500", r)
			}
			if p := r.problem(t); strings.Contains(p.Detail, errBroken.Error()) {
				t.Errorf("the 500 leaks the internal error: %+v", p)
			}
			if !strings.Contains(logs.String(), errBroken.Error()) {
				t.Errorf("the build error was not logged:\n%s", logs)
			}
			if r := get(context.Background(), svc, "/"); r.status != 200 {
				t.Errorf("the next request, with the build working: %s", r)
			}
		})
	})
	t.Run("global", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			cs := &conns{}
			cs.fail.Store(1)
			svc, dep := connService(nil, service.GlobalScope, cs)
			err := svc.Start(context.Background())
			if !errors.Is(err, errBroken) {
				t.Fatalf("start with a failing global build: %v", err)
			}
			if svc.State() != service.Failed || !errors.Is(svc.Err(), errBroken) {
				t.Errorf("state %s, err %v", svc.State(), svc.Err())
			}
			if st := svc.Status(); st.State != "failed" || !strings.Contains(st.Error, errBroken.Error()) {
				t.Errorf("status %+v", st)
			}
			// Starting again retries the build.
			start(t, svc)
			synctest.Wait()
			if r := get(context.Background(), svc, "/"); r.status != 200 || r.body != "1" {
				t.Errorf("after the retry: %s", r)
			}
			if err := svc.Stop(context.Background()); err != nil {
				t.Fatal(err)
			}
			if err := dep.Close(); err != nil {
				t.Fatal(err)
			}
		})
	})
}

// TestRequestScope checks that a request dependency is built once per
// request, on first use (memoized within it), and closed after the handler.
func TestRequestScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &conns{}
		var unused atomic.Int64
		svc := newService(nil, nil, func(svc *service.Service) {
			dep := service.NewDependency(svc, service.RequestScope, cs.build, cs.close)
			service.NewDependency(svc, service.RequestScope,
				func(ctx context.Context) (int, error) { unused.Add(1); return 0, nil }, nil)
			service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (int64, error) {
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
				time.Sleep(time.Millisecond) // the requests overlap
				return a.id, nil
			})
		})
		start(t, svc)
		const n = 10
		var wg sync.WaitGroup
		ids := make(chan string, n)
		for range n {
			wg.Go(func() {
				r := get(context.Background(), svc, "/")
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
		if b, c := cs.n.Load(), cs.closes.Load(); b != n || c != n {
			t.Errorf("built %d and closed %d for %d requests", b, c, n)
		}
		if u := unused.Load(); u != 0 {
			t.Errorf("a dependency no handler asked for was built %d times", u)
		}
	})
}

// TestGlobalScope checks that a global dependency is one instance, built
// when the service starts, shared by every replica and request, not closed
// by a stop, and closed once by Close.
func TestGlobalScope(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cs := &conns{}
		svc, dep := connService(nil, service.GlobalScope, cs, service.Replicas(3, 3), service.MaxConcurrentQueries(1))
		start(t, svc)
		synctest.Wait()
		if n := cs.n.Load(); n != 1 {
			t.Fatalf("%d global instances built at start, want 1", n)
		}
		var wg sync.WaitGroup
		for range 12 {
			wg.Go(func() {
				if r := get(context.Background(), svc, "/"); r.status != 200 || r.body != "1" {
					t.Errorf("request: %s, want instance 1", r)
				}
			})
		}
		wg.Wait()
		if c, err := dep.Get(context.Background()); err != nil || c.id != 1 {
			t.Errorf("Get outside a handler: %v %v", c, err)
		}
		if err := svc.Stop(context.Background()); err != nil {
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
	})
}

// TestRequestDependencyClosePanicFreesSlot checks that a request-scoped
// dependency whose close panics still gives the replica slot back: the next
// request is served.
func TestRequestDependencyClosePanicFreesSlot(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newService(nil, []service.Option{service.MaxConcurrentQueries(1), service.MaxQueuedRequests(0)}, func(svc *service.Service) {
			dep := service.NewDependency(svc, service.RequestScope,
				func(context.Context) (int, error) { return 1, nil },
				func(int) error { panic("close failed badly") })
			service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (int, error) { return dep.Get(ctx) })
		})
		start(t, svc)
		synctest.Wait()
		for i := range 3 {
			if r := get(context.Background(), svc, "/"); r.status != 200 {
				t.Fatalf("request %d: %s", i, r)
			}
		}
		if n := svc.Status().Replicas.InFlight; n != 0 {
			t.Fatalf("%d slots still held after the requests ended", n)
		}
	})
}

// TestRequestDependencyAfterLeave checks that a goroutine that outlives its
// handler cannot build a request-scoped instance nobody would close.
func TestRequestDependencyAfterLeave(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var built, closed atomic.Int32
		late := make(chan error, 1)
		svc := newService(nil, nil, func(svc *service.Service) {
			dep := service.NewDependency(svc, service.RequestScope,
				func(context.Context) (int, error) { built.Add(1); return 1, nil },
				func(int) error { closed.Add(1); return nil })
			service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) {
				go func() {
					<-ctx.Done() // the request has ended
					_, err := dep.Get(ctx)
					late <- err
				}()
				return "ok", nil
			})
		})
		start(t, svc)
		synctest.Wait()
		ctx, cancel := context.WithCancel(context.Background())
		if r := get(ctx, svc, "/"); r.status != 200 {
			t.Fatalf("request: %s", r)
		}
		cancel() // as net/http does when the handler returns
		if err := <-late; err != service.ErrNoDependency {
			t.Fatalf("Get after the request ended: %v, want ErrNoDependency", err)
		}
		if b, c := built.Load(), closed.Load(); b != c {
			t.Fatalf("built %d request instances, closed %d", b, c)
		}
	})
}

// TestGlobalDependencyGetCloseRace runs Get and Close of a global
// dependency at once; under -race it fails when Get reads the instance
// outside the lock a rebuild writes it under.
func TestGlobalDependencyGetCloseRace(t *testing.T) {
	svc := service.New()
	dep := service.NewDependency(svc, service.GlobalScope,
		func(context.Context) (*int, error) { return new(int), nil },
		func(*int) error { return nil })
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for range 2000 {
				if v, err := dep.Get(context.Background()); err != nil || v == nil {
					t.Errorf("Get: %v, %v", v, err)
					return
				}
				_ = dep.Close()
			}
		})
	}
	wg.Wait()
}

// TestReplicaSetupPanicClosesBuilt checks that when one replica
// dependency's constructor panics, the ones already built for that attempt
// are closed before the pool retries the setup.
func TestReplicaSetupPanicClosesBuilt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var built, closed, panics atomic.Int32
		svc := newService(nil, nil, func(svc *service.Service) {
			service.NewDependency(svc, service.ReplicaScope,
				func(context.Context) (int, error) { built.Add(1); return 1, nil },
				func(int) error { closed.Add(1); return nil })
			service.NewDependency(svc, service.ReplicaScope,
				func(context.Context) (int, error) {
					if panics.Add(1) == 1 {
						panic("first build fails")
					}
					return 2, nil
				}, nil)
		})
		start(t, svc)
		time.Sleep(time.Second) // the retry
		synctest.Wait()
		if err := svc.Ready(); err != nil {
			t.Fatalf("not ready after the retry: %v", err)
		}
		if err := svc.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if b, c := built.Load(), closed.Load(); b != 2 || c != 2 {
			t.Fatalf("built %d, closed %d; want 2, 2 (one for the panicked attempt, one for the replica)", b, c)
		}
	})
}

// TestDependencyRules checks the programmer errors that panic.
func TestDependencyRules(t *testing.T) {
	svc := newService(nil, nil, nil)
	testutil.MustPanic(t, "nil constructor", func() {
		service.NewDependency[int](svc, service.RequestScope, nil, nil)
	})
	start(t, svc)
	testutil.MustPanic(t, "before the service starts", func() {
		service.NewDependency(svc, service.ReplicaScope, func(context.Context) (int, error) { return 1, nil }, nil)
	})
}
