package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// TestRequestDependencyClosePanicFreesSlot checks that a request-scoped
// dependency whose close panics still gives the replica slot back: the next
// request is served and the service drains on shutdown.
func TestRequestDependencyClosePanicFreesSlot(t *testing.T) {
	h := serve(t, nil, []service.Option{service.MaxConcurrentQueries(1), noQueue()}, func(svc *service.Service) {
		dep := service.NewDependency(svc, service.RequestScope,
			func(context.Context) (int, error) { return 1, nil },
			func(int) error { panic("close failed badly") })
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (int, error) { return dep.Get(ctx) })
	})
	for i := range 3 {
		if r := get(context.Background(), h.url+"/"); r.status != 200 {
			t.Fatalf("request %d: %s", i, r)
		}
	}
	if n := h.svc.Status().Replicas.InFlight; n != 0 {
		t.Fatalf("%d slots still held after the requests ended", n)
	}
}

// TestRequestDependencyAfterLeave checks that a goroutine that outlives its
// handler cannot build a request-scoped instance nobody would close.
func TestRequestDependencyAfterLeave(t *testing.T) {
	var mu sync.Mutex
	built, closed := 0, 0
	late := make(chan error, 1)
	h := serve(t, nil, nil, func(svc *service.Service) {
		dep := service.NewDependency(svc, service.RequestScope,
			func(context.Context) (int, error) { mu.Lock(); built++; mu.Unlock(); return 1, nil },
			func(int) error { mu.Lock(); closed++; mu.Unlock(); return nil })
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) {
			go func() {
				time.Sleep(50 * time.Millisecond) // after the handler has returned
				_, err := dep.Get(ctx)
				late <- err
			}()
			return "ok", nil
		})
	})
	if r := get(context.Background(), h.url+"/"); r.status != 200 {
		t.Fatalf("request: %s", r)
	}
	if err := <-late; err != service.ErrNoDependency {
		t.Fatalf("Get after the request ended: %v, want ErrNoDependency", err)
	}
	mu.Lock()
	defer mu.Unlock()
	if built != closed {
		t.Fatalf("built %d request instances, closed %d", built, closed)
	}
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
	var mu sync.Mutex
	built, closed, panics := 0, 0, 0
	h := serve(t, nil, nil, func(svc *service.Service) {
		service.NewDependency(svc, service.ReplicaScope,
			func(context.Context) (int, error) { mu.Lock(); built++; mu.Unlock(); return 1, nil },
			func(int) error { mu.Lock(); closed++; mu.Unlock(); return nil })
		service.NewDependency(svc, service.ReplicaScope,
			func(context.Context) (int, error) {
				mu.Lock()
				defer mu.Unlock()
				if panics == 0 {
					panics++
					panic("first build fails")
				}
				return 2, nil
			}, nil)
		flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "ok", nil })
	})
	if err := h.svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	defer mu.Unlock()
	if built != 2 || closed != 2 {
		t.Fatalf("built %d, closed %d; want 2, 2 (one for the panicked attempt, one for the replica)", built, closed)
	}
}
