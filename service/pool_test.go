package service_test

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// TestOverCapacityWithoutQueue sends N+1 slow requests at once to a service
// with room for N and no queue: exactly one is refused, with 503, Retry-After
// and problem details, and no replica ever runs more than N.
func TestOverCapacityWithoutQueue(t *testing.T) {
	for _, n := range []int{1, 3} {
		t.Run("capacity="+strconv.Itoa(n), func(t *testing.T) {
			var running, peak atomic.Int32
			release := make(chan struct{})
			h := serve(t, nil, []service.Option{service.Replicas(1, 1), service.MaxConcurrentQueries(n), noQueue()},
				func(svc *service.Service) {
					flow.Endpoint(svc, "GET", "/slow", func(ctx context.Context, _ none) (string, error) {
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
			results := make(chan result, n+1)
			for range n + 1 {
				go func() { results <- get(context.Background(), h.url+"/slow") }()
			}
			// The admitted requests block until release: the first answer
			// is the refusal.
			var first result
			select {
			case first = <-results:
			case <-time.After(10 * time.Second):
				close(release)
				t.Fatal("no request was refused")
			}
			close(release)
			if first.status != 503 {
				t.Fatalf("first answer %s, want 503", first)
			}
			if ra := first.header.Get("Retry-After"); ra == "" {
				t.Errorf("503 without Retry-After")
			}
			if p := first.problem(t); p.Status != 503 || p.Detail == "" {
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

// TestLongRequestSurvivesScaleDown scales a service to two replicas with two
// held requests each, lets one request per replica finish so the pool wants
// one replica, and checks that the replica chosen to leave, still running a
// request, finishes it with 200 before its teardown runs.
func TestLongRequestSurvivesScaleDown(t *testing.T) {
	g := newGates()
	tags := &tagger{}
	var mu sync.Mutex
	where := map[string]int64{} // request ID → replica
	h := serve(t, nil, []service.Option{
		service.Replicas(1, 2), service.MaxConcurrentQueries(2), service.TargetOngoingRequests(2),
		fast(300 * time.Millisecond), service.NumCPUs(0.01),
	}, func(svc *service.Service) {
		dep := service.NewDependency(svc, service.ReplicaScope, tags.build, tags.close)
		flow.Endpoint(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (int64, error) {
			tag, err := dep.Get(ctx)
			if err != nil {
				return 0, err
			}
			tag.inflight.Add(1)
			defer tag.inflight.Add(-1)
			mu.Lock()
			where[q.ID] = tag.id
			mu.Unlock()
			return tag.id, g.wait(ctx, q.ID)
		})
	})
	ids := []string{"a", "b", "c", "d"}
	res := map[string]<-chan result{}
	for _, id := range ids {
		res[id] = goGet(context.Background(), h.url+"/hold?id="+id)
	}
	defer func() { // never leave a handler blocked
		for _, id := range ids {
			select {
			case <-g.gate(id):
			default:
				g.open(id)
			}
		}
	}()
	for range ids {
		select {
		case <-g.entered:
		case <-time.After(10 * time.Second):
			t.Fatalf("requests did not all start; status %+v", h.svc.Status().Replicas)
		}
	}
	byReplica := map[int64][]string{}
	mu.Lock()
	for id, r := range where {
		byReplica[r] = append(byReplica[r], id)
	}
	mu.Unlock()
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
	waitFor(t, "a replica to leave routing", 10*time.Second, func() bool {
		st := h.svc.Status().Replicas
		return st.Stopping == 1 && st.Running == 1
	})
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
	waitFor(t, "the drained replica to stop", 5*time.Second, func() bool {
		_, closed := tags.counts()
		return closed == 1 && h.svc.Status().Replicas.Stopping == 0
	})
	if st := h.svc.Status().Replicas; st.Running != 1 || st.Desired != 1 {
		t.Errorf("after scale-down: %+v", st)
	}
}

// TestTeardownOncePerReplica scales a service up and down twice under load,
// then shuts the app down, and checks that every replica's resources were
// torn down exactly once, after its requests had finished; and that every
// request-scoped resource was closed once.
func TestTeardownOncePerReplica(t *testing.T) {
	tags := &tagger{}
	var reqBuilt, reqClosed atomic.Int64
	h := serve(t, nil, []service.Option{
		service.Replicas(1, 4), service.MaxConcurrentQueries(1), fast(150 * time.Millisecond), service.NumCPUs(0.01),
	}, func(svc *service.Service) {
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
		flow.Endpoint(svc, "GET", "/work", func(ctx context.Context, _ none) (int64, error) {
			tag, err := rep.Get(ctx)
			if err != nil {
				return 0, err
			}
			if _, err := req.Get(ctx); err != nil {
				return 0, err
			}
			tag.inflight.Add(1)
			defer tag.inflight.Add(-1)
			time.Sleep(5 * time.Millisecond)
			return tag.id, nil
		})
	})
	var requests atomic.Int64
	load := func(until func() bool) {
		t.Helper()
		var wg sync.WaitGroup
		stop := make(chan struct{})
		var once sync.Once
		defer func() {
			once.Do(func() { close(stop) })
			wg.Wait()
		}()
		for range 4 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					if r := get(context.Background(), h.url+"/work"); r.status != 200 {
						t.Errorf("under load: %s", r)
					}
					requests.Add(1)
				}
			})
		}
		waitFor(t, "scale-up under load", 10*time.Second, func() bool {
			ok := until()
			if ok {
				once.Do(func() { close(stop) })
			}
			return ok
		})
	}
	for round := range 2 {
		load(func() bool { return h.svc.Status().Replicas.Running >= 3 })
		waitFor(t, fmt.Sprintf("scale-down %d", round), 10*time.Second, func() bool {
			st := h.svc.Status().Replicas
			return st.Running == 1 && st.Stopping == 0 && st.Starting == 0
		})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := h.app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	built, _ := tags.counts()
	if built < 5 {
		t.Errorf("%d replicas built over two scale-ups, want at least 5", built)
	}
	tags.check(t)
	if b, c, n := reqBuilt.Load(), reqClosed.Load(), requests.Load(); b != n || c != n {
		t.Errorf("request dependency built %d and closed %d times for %d requests", b, c, n)
	}
}

// TestShutdownUnderLoad shuts a served app down while requests run and
// wait in the queue: every accepted request is answered 200, and every
// replica is torn down once.
func TestShutdownUnderLoad(t *testing.T) {
	g := newGates()
	tags := &tagger{}
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(logger(nil)))
	svc := app.Service(service.Replicas(1, 2), service.MaxConcurrentQueries(1), fast(5*time.Second), service.NumCPUs(0.01))
	rep := service.NewDependency(svc, service.ReplicaScope, tags.build, tags.close)
	flow.Endpoint(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (string, error) {
		tag, err := rep.Get(ctx)
		if err != nil {
			return "", err
		}
		tag.inflight.Add(1)
		defer tag.inflight.Add(-1)
		if err := g.wait(ctx, q.ID); err != nil {
			return "", err
		}
		return "done " + q.ID, nil
	})
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	url := "http://" + app.Addr().String()
	const n = 6 // two run (after scale-up), four wait in the queue
	var res []<-chan result
	for i := range n {
		res = append(res, goGet(context.Background(), url+"/hold?id="+strconv.Itoa(i)))
	}
	waitFor(t, "every request accepted", 10*time.Second, func() bool {
		st := svc.Status().Replicas
		return st.InFlight+st.Queued == n && st.Running == 2
	})
	shut := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		shut <- app.Shutdown(ctx)
	}()
	time.Sleep(50 * time.Millisecond) // Shutdown has closed the listener
	for i := range n {
		g.open(strconv.Itoa(i))
	}
	for i, ch := range res {
		if r := <-ch; r.status != 200 || r.body != `"done `+strconv.Itoa(i)+`"` {
			t.Errorf("accepted request %d: %s", i, r)
		}
	}
	if err := <-shut; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	if st := svc.State(); st != service.Stopped {
		t.Errorf("state after shutdown %s", st)
	}
	tags.check(t)
}

// TestClientDisconnectFreesSlot checks that a client that goes away gives
// its place back at once: from the queue, and from a replica slot when the
// handler honours its ctx.
func TestClientDisconnectFreesSlot(t *testing.T) {
	for _, where := range []string{"queued", "running"} {
		t.Run(where, func(t *testing.T) {
			g := newGates()
			h := serve(t, nil, []service.Option{service.Replicas(1, 1), service.MaxConcurrentQueries(1)},
				func(svc *service.Service) {
					flow.Endpoint(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (string, error) {
						return q.ID, g.wait(ctx, q.ID)
					})
				})
			status := func() (int, int) { st := h.svc.Status().Replicas; return st.InFlight, st.Queued }
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var holder <-chan result
			if where == "queued" {
				holder = goGet(context.Background(), h.url+"/hold?id=holder")
				<-g.entered
				gone := goGet(ctx, h.url+"/hold?id=gone")
				waitFor(t, "the request to queue", 5*time.Second, func() bool { _, q := status(); return q == 1 })
				cancel()
				if r := <-gone; r.err == nil {
					t.Fatalf("cancelled request answered %s", r)
				}
				waitFor(t, "the queue to empty", 2*time.Second, func() bool { _, q := status(); return q == 0 })
				if in, _ := status(); in != 1 {
					t.Errorf("%d in flight, want the holder only", in)
				}
				g.open("holder")
				if r := <-holder; r.status != 200 {
					t.Fatalf("holder: %s", r)
				}
			} else {
				gone := goGet(ctx, h.url+"/hold?id=gone")
				<-g.entered
				cancel()
				if r := <-gone; r.err == nil {
					t.Fatalf("cancelled request answered %s", r)
				}
				waitFor(t, "the slot to free", 2*time.Second, func() bool { in, q := status(); return in == 0 && q == 0 })
			}
			// The only slot is free: the next request runs at once.
			next := goGet(context.Background(), h.url+"/hold?id=next")
			select {
			case <-g.entered:
			case <-time.After(5 * time.Second):
				t.Fatalf("the next request did not get the slot: %+v", h.svc.Status().Replicas)
			}
			g.open("next")
			if r := <-next; r.status != 200 {
				t.Errorf("next: %s", r)
			}
		})
	}
}

// TestNotRunningAnswers503 checks that a service that is stopped, or not yet
// started, answers 503 with Retry-After as problem details, and serves again
// once started.
func TestNotRunningAnswers503(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts []service.Option
		stop bool
	}{
		{name: "stopped", stop: true},
		{name: "manual start", opts: []service.Option{service.ManualStart()}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			app := flow.New(flow.Logger(logger(nil)))
			svc := app.Service(tc.opts...)
			flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "up", nil })
			if err := app.StartServices(context.Background()); err != nil {
				t.Fatal(err)
			}
			srv := httptestServer(t, app)
			if tc.stop {
				if r := get(context.Background(), srv+"/"); r.status != 200 {
					t.Fatalf("running service: %s", r)
				}
				if err := svc.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			r := get(context.Background(), srv+"/")
			if r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("got %s (Retry-After %q), want 503 with Retry-After", r, r.header.Get("Retry-After"))
			}
			if p := r.problem(t); p.Status != 503 {
				t.Errorf("problem %+v", p)
			}
			if err := svc.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "a ready replica", 5*time.Second, func() bool { return svc.Ready() == nil })
			if r := get(context.Background(), srv+"/"); r.status != 200 || r.body != `"up"` {
				t.Errorf("after start: %s", r)
			}
		})
	}
}

// TestStatus checks the fields of a service's status through its life.
func TestStatus(t *testing.T) {
	g := newGates()
	h := serve(t, nil, []service.Option{
		service.Name("slow"), service.Replicas(2, 5), service.MaxConcurrentQueries(3),
		service.TargetOngoingRequests(3), fast(5 * time.Second), service.NumCPUs(0.01),
	}, func(svc *service.Service) {
		flow.Endpoint(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (string, error) {
			return q.ID, g.wait(ctx, q.ID)
		})
	})
	st := h.svc.Status()
	if st.Name != "slow" || st.ID == "" || st.State != service.Running || st.Error != "" {
		t.Errorf("status %+v", st)
	}
	r := st.Replicas
	if r.Name != "slow" || r.Running != 2 || r.Desired != 2 || r.Min != 2 || r.Max != 5 || !r.Autoscaler ||
		r.Capacity != 6 || r.InFlight != 0 || r.Queued != 0 || r.Stopped || r.LastDecision.Reason == "" {
		t.Errorf("idle replicas %+v", r)
	}
	var res []<-chan result
	for i := range 4 {
		res = append(res, goGet(context.Background(), h.url+"/hold?id="+strconv.Itoa(i)))
	}
	waitFor(t, "four requests in flight", 5*time.Second, func() bool { return h.svc.Status().Replicas.InFlight == 4 })
	for i := range res {
		g.open(strconv.Itoa(i))
	}
	for _, ch := range res {
		if r := <-ch; r.status != 200 {
			t.Errorf("request: %s", r)
		}
	}
	if err := h.svc.Stop(context.Background()); err != nil {
		t.Fatal(err)
	}
	st = h.svc.Status()
	if st.State != service.Stopped || !st.Replicas.Stopped || st.Replicas.Running != 0 || st.Replicas.Min != 2 || st.Replicas.Max != 5 {
		t.Errorf("stopped status %+v", st)
	}
}
