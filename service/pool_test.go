package service_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicaflow/replicaflow/scaling"
	"github.com/replicaflow/replicaflow/service"
)

// httpGet sends a GET over the network and reads the whole answer.
func httpGet(url string) result {
	res, err := http.Get(url)
	if err != nil {
		return result{body: err.Error()}
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return result{status: res.StatusCode, header: res.Header, body: string(b)}
}

// TestOverCapacityWithoutQueue sends N+1 slow requests at once, over HTTP,
// to a service with room for N and no queue: exactly one is refused, with
// 503, Retry-After and problem details, and no replica ever runs more than N.
func TestOverCapacityWithoutQueue(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run("capacity="+strconv.Itoa(n), func(t *testing.T) {
			var running, peak atomic.Int32
			release := make(chan struct{})
			svc := newService(nil, []service.Option{service.Replicas(1, 1), service.MaxConcurrentQueries(n), service.MaxQueuedRequests(0)},
				func(svc *service.Service) {
					service.Handle(svc, "GET", "/slow", func(ctx context.Context, _ none) (string, error) {
						cur := running.Add(1)
						defer running.Add(-1)
						for p := peak.Load(); cur > p && !peak.CompareAndSwap(p, cur); p = peak.Load() {
						}
						select {
						case <-release:
							return "ok", nil
						case <-ctx.Done():
							return "", ctx.Err()
						}
					})
				})
			start(t, svc)
			srv := httptest.NewServer(svc)
			defer srv.Close()
			results := make(chan result, n+1)
			for range n + 1 {
				go func() { results <- httpGet(srv.URL + "/slow") }()
			}
			// The admitted requests block until release: the first answer
			// is the refusal.
			first := <-results
			close(release)
			if first.status != 503 {
				t.Fatalf("first answer %s, want 503", first)
			}
			if ra := first.header.Get("Retry-After"); ra == "" {
				t.Errorf("503 without Retry-After")
			}
			if p := first.problem(t); p.Status != 503 || p.Detail != "service overloaded: queue full" {
				t.Errorf("problem %+v", p)
			}
			for range n {
				if r := <-results; r.status != 200 || r.body != `"ok"` {
					t.Errorf("admitted request got %s, want 200", r)
				}
			}
			if p := peak.Load(); p > int32(n) {
				t.Errorf("%d requests ran at once on capacity %d", p, n)
			}
		})
	}
}

// replicaTag is a replica-scoped resource: it names the replica and counts
// its requests, so tests can see where each request ran and when the
// replica was torn down.
type replicaTag struct {
	id       int64
	inflight atomic.Int32
	closed   atomic.Int32
	// busyAtClose is the number of requests still running on the replica
	// when it was torn down (must be 0).
	busyAtClose atomic.Int32
}

// tagger builds and closes replica tags, and checks each closes once.
type tagger struct {
	mu     sync.Mutex
	next   int64
	built  []*replicaTag
	closes int
}

func (g *tagger) build(ctx context.Context) (*replicaTag, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.next++
	tag := &replicaTag{id: g.next}
	g.built = append(g.built, tag)
	return tag, nil
}

func (g *tagger) close(tag *replicaTag) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.closes++
	tag.busyAtClose.Store(tag.inflight.Load())
	tag.closed.Add(1)
	return nil
}

func (g *tagger) counts() (built, closed int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.built), g.closes
}

// check asserts that every replica tag was closed exactly once, with no
// request running on its replica.
func (g *tagger) check(t *testing.T) {
	t.Helper()
	g.mu.Lock()
	defer g.mu.Unlock()
	for _, tag := range g.built {
		if n := tag.closed.Load(); n != 1 {
			t.Errorf("replica %d torn down %d times, want once", tag.id, n)
		}
		if n := tag.busyAtClose.Load(); n != 0 {
			t.Errorf("replica %d torn down with %d requests running", tag.id, n)
		}
	}
	if g.closes != len(g.built) {
		t.Errorf("%d teardowns for %d replicas", g.closes, len(g.built))
	}
}

// holdService is a service whose GET /hold?id=x runs on a tagged replica
// until the gate x opens, and answers the replica's tag.
func holdService(g *gates, tags *tagger, opts ...service.Option) (*service.Service, *sync.Map) {
	var where sync.Map // request ID → replica tag ID
	svc := newService(nil, opts, func(svc *service.Service) {
		dep := service.NewDependency(svc, service.ReplicaScope, tags.build, tags.close)
		service.Handle(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (int64, error) {
			tag, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			tag.inflight.Add(1)
			defer tag.inflight.Add(-1)
			where.Store(q.ID, tag.id)
			return tag.id, g.wait(ctx, q.ID)
		})
	})
	return svc, &where
}

// TestLongRequestSurvivesScaleDown scales a service to two replicas with two
// held requests each, lets one request per replica finish so the pool wants
// one replica, and checks that the replica chosen to leave, still running a
// request, finishes it with 200 before its teardown runs.
func TestLongRequestSurvivesScaleDown(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, tags := newGates(), &tagger{}
		svc, where := holdService(g, tags, service.Replicas(1, 2), service.MaxConcurrentQueries(2), service.TargetOngoingRequests(2))
		start(t, svc)
		ids := []string{"a", "b", "c", "d"}
		res := map[string]<-chan result{}
		for _, id := range ids {
			res[id] = goGet(context.Background(), svc, "/hold?id="+id)
		}
		time.Sleep(time.Second) // four ongoing on one replica: the pool scales up
		synctest.Wait()
		if st := svc.Status().Replicas; st.Running != 2 || st.InFlight != 4 {
			t.Fatalf("status %+v, want 2 replicas running the 4 requests", st)
		}
		byReplica := map[int64][]string{}
		where.Range(func(id, tag any) bool {
			byReplica[tag.(int64)] = append(byReplica[tag.(int64)], id.(string))
			return true
		})
		if len(byReplica) != 2 {
			t.Fatalf("requests by replica %v, want two replicas with two each", byReplica)
		}
		// Finish one request on each replica: two ongoing, one replica wanted.
		var keep []string
		for _, ids := range byReplica {
			g.open(ids[0])
			if r := <-res[ids[0]]; r.status != 200 {
				t.Fatalf("request %s: %s", ids[0], r)
			}
			keep = append(keep, ids[1])
		}
		time.Sleep(scaling.DefaultDownscaleDelay + time.Second)
		synctest.Wait()
		if st := svc.Status().Replicas; st.Stopping != 1 || st.Running != 1 {
			t.Fatalf("status %+v, want a replica leaving routing", st)
		}
		// The leaving replica still holds its request: nothing was answered.
		for _, id := range keep {
			select {
			case r := <-res[id]:
				t.Fatalf("request %s answered during scale-down: %s", id, r)
			default:
			}
		}
		if built, closed := tags.counts(); built != 2 || closed != 0 {
			t.Fatalf("before the drain ends: %d replicas built, %d torn down; want 2, 0", built, closed)
		}
		for _, id := range keep {
			g.open(id)
			if r := <-res[id]; r.status != 200 {
				t.Errorf("request %s during scale-down: %s, want 200", id, r)
			}
		}
		synctest.Wait()
		if _, closed := tags.counts(); closed != 1 {
			t.Errorf("%d replicas torn down after the drain, want 1", closed)
		}
		if st := svc.Status().Replicas; st.Running != 1 || st.Desired != 1 || st.Stopping != 0 {
			t.Errorf("after scale-down: %+v", st)
		}
	})
}

// TestTeardownOncePerReplica scales a service up and down twice under load,
// then stops it, and checks that every replica's resources were torn down
// exactly once, after its requests had finished; and that every
// request-scoped resource was closed once.
func TestTeardownOncePerReplica(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tags := &tagger{}
		var reqBuilt, reqClosed atomic.Int64
		svc := newService(nil, []service.Option{service.Replicas(1, 4), service.MaxConcurrentQueries(1)}, func(svc *service.Service) {
			rep := service.NewDependency(svc, service.ReplicaScope, tags.build, tags.close)
			req := service.NewDependency(svc, service.RequestScope,
				func(ctx context.Context) (*atomic.Bool, error) { reqBuilt.Add(1); return new(atomic.Bool), nil },
				func(b *atomic.Bool) error {
					if b.Swap(true) {
						t.Error("request dependency closed twice")
					}
					reqClosed.Add(1)
					return nil
				})
			service.Handle(svc, "GET", "/work", func(ctx context.Context, _ none) (int64, error) {
				tag, err := rep.Get(ctx)
				if err != nil {
					return 0, err
				}
				if _, err := req.Get(ctx); err != nil {
					return 0, err
				}
				tag.inflight.Add(1)
				defer tag.inflight.Add(-1)
				time.Sleep(5 * time.Millisecond) // the work
				return tag.id, nil
			})
		})
		start(t, svc)
		var requests atomic.Int64
		for round := range 2 {
			stop := make(chan struct{})
			var wg sync.WaitGroup
			for range 4 {
				wg.Go(func() {
					for {
						select {
						case <-stop:
							return
						default:
						}
						if r := get(context.Background(), svc, "/work"); r.status != 200 {
							t.Errorf("under load: %s", r)
						}
						requests.Add(1)
					}
				})
			}
			time.Sleep(2 * time.Second)
			if st := svc.Status().Replicas; st.Running != 4 {
				t.Errorf("round %d: %+v under load, want 4 replicas", round, st)
			}
			close(stop)
			wg.Wait()
			time.Sleep(scaling.DefaultDownscaleDelay + 2*time.Second)
			synctest.Wait()
			if st := svc.Status().Replicas; st.Running != 1 || st.Stopping != 0 || st.Starting != 0 {
				t.Errorf("round %d: %+v without load, want 1 replica", round, st)
			}
		}
		if err := svc.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if built, _ := tags.counts(); built < 7 {
			t.Errorf("%d replicas built over two scale-ups, want 7", built)
		}
		tags.check(t)
		if b, c, n := reqBuilt.Load(), reqClosed.Load(), requests.Load(); b != n || c != n {
			t.Errorf("request dependency built %d and closed %d times for %d requests", b, c, n)
		}
	})
}

// TestStopUnderLoad stops a service while requests run and wait in the
// queue: the running requests finish with 200, the waiting ones are answered
// 503 with Retry-After at once, and every replica is torn down once, after
// its requests.
func TestStopUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g, tags := newGates(), &tagger{}
		svc, _ := holdService(g, tags, service.Replicas(1, 2), service.MaxConcurrentQueries(1))
		start(t, svc)
		const n = 6 // two run (after scale-up), four wait in the queue
		var res []<-chan result
		for i := range n {
			res = append(res, goGet(context.Background(), svc, "/hold?id="+strconv.Itoa(i)))
			synctest.Wait() // in order: the first two run, FIFO
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if st := svc.Status().Replicas; st.InFlight != 2 || st.Queued != n-2 || st.Running != 2 {
			t.Fatalf("status %+v, want 2 running requests and %d queued", st, n-2)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- svc.Stop(context.Background()) }()
		for i := 2; i < n; i++ {
			if r := <-res[i]; r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Errorf("queued request %d: %s, want 503 with Retry-After", i, r)
			}
		}
		synctest.Wait()
		if st := svc.State(); st != service.Stopping {
			t.Fatalf("state %s while requests are in flight, want stopping", st)
		}
		if _, closed := tags.counts(); closed != 0 {
			t.Fatalf("%d replicas torn down with requests running", closed)
		}
		for i := range 2 {
			g.open(strconv.Itoa(i))
			if r := <-res[i]; r.status != 200 || tagOf(r) < 1 {
				t.Errorf("running request %d: %s", i, r)
			}
		}
		if err := <-stopped; err != nil {
			t.Fatalf("stop: %v", err)
		}
		if st := svc.State(); st != service.Stopped {
			t.Errorf("state after stop %s", st)
		}
		tags.check(t)
	})
}

// tagOf reads the replica tag a /hold answer names.
func tagOf(r result) int64 {
	n, _ := strconv.ParseInt(r.body, 10, 64)
	return n
}

// TestClientDisconnectFreesSlot checks that a client that goes away gives
// its place back at once: from the queue, and from a replica slot when the
// handler honours its ctx.
func TestClientDisconnectFreesSlot(t *testing.T) {
	for _, where := range []string{"queued", "running"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				g := newGates()
				svc := newService(nil, []service.Option{service.Replicas(1, 1), service.MaxConcurrentQueries(1)},
					func(svc *service.Service) {
						service.Handle(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (string, error) {
							return q.ID, g.wait(ctx, q.ID)
						})
					})
				start(t, svc)
				status := func() (int, int) { st := svc.Status().Replicas; return st.InFlight, st.Queued }
				ctx, cancel := context.WithCancel(context.Background())
				var holder <-chan result
				ids := []string{"gone"}
				if where == "queued" {
					ids = append(ids, "holder")
					holder = goGet(context.Background(), svc, "/hold?id=holder")
					synctest.Wait()
				}
				gone := goGet(ctx, svc, "/hold?id=gone")
				synctest.Wait()
				if in, q := status(); in != 1 || q != len(ids)-1 {
					t.Fatalf("%d in flight, %d queued before the client goes", in, q)
				}
				cancel()
				<-gone
				synctest.Wait()
				in, q := status()
				if where == "queued" {
					if in != 1 || q != 0 {
						t.Errorf("%d in flight, %d queued; want the holder only", in, q)
					}
					g.open("holder")
					if r := <-holder; r.status != 200 {
						t.Fatalf("holder: %s", r)
					}
				} else if in != 0 || q != 0 {
					t.Errorf("%d in flight, %d queued; want the slot free", in, q)
				}
				// The only slot is free: the next request runs at once.
				next := goGet(context.Background(), svc, "/hold?id=next")
				synctest.Wait()
				if in, q := status(); in != 1 || q != 0 {
					t.Fatalf("the next request did not get the slot: %d in flight, %d queued", in, q)
				}
				g.open("next")
				if r := <-next; r.status != 200 {
					t.Errorf("next: %s", r)
				}
			})
		})
	}
}
