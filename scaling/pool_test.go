package scaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// waitFor polls cond until it holds or the (generous) timeout passes.
func waitFor(t *testing.T, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// start builds and starts a pool and shuts it down at the end of the test.
func start(t *testing.T, cfg Config, cpus *CPUs) *Pool {
	t.Helper()
	if cfg.Logger == nil {
		cfg.Logger = quiet
	}
	p := NewPool(cfg, cpus)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := p.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	select {
	case <-p.Ready():
	case <-time.After(10 * time.Second):
		t.Fatal("pool not ready")
	}
	return p
}

// lifecycle counts Setup and Teardown per replica and checks that no replica
// is torn down while the test holds one of its slots.
type lifecycle struct {
	t        *testing.T
	mu       sync.Mutex
	setups   map[int]int
	tears    map[int]int
	held     map[int]int
	failFor  int // Setup fails this many times per replica first
	attempts map[int]int
}

func newLifecycle(t *testing.T) *lifecycle {
	return &lifecycle{t: t, setups: map[int]int{}, tears: map[int]int{}, held: map[int]int{}, attempts: map[int]int{}}
}

func (l *lifecycle) setup(ctx context.Context, r *Replica) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.attempts[r.ID()]++
	if l.attempts[r.ID()] <= l.failFor {
		return fmt.Errorf("setup attempt %d fails", l.attempts[r.ID()])
	}
	l.setups[r.ID()]++
	r.SetValue("resource", fmt.Sprintf("conn-%d", r.ID()))
	return nil
}

func (l *lifecycle) teardown(r *Replica) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.held[r.ID()] != 0 {
		l.t.Errorf("replica %d torn down with %d requests in flight", r.ID(), l.held[r.ID()])
	}
	l.tears[r.ID()]++
}

func (l *lifecycle) acquire(ctx context.Context, p *Pool) (*Replica, error) {
	r, err := p.Acquire(ctx)
	if err == nil {
		l.mu.Lock()
		l.held[r.ID()]++
		l.mu.Unlock()
	}
	return r, err
}

func (l *lifecycle) release(p *Pool, r *Replica) {
	l.mu.Lock()
	l.held[r.ID()]--
	l.mu.Unlock()
	p.Release(r)
}

func (l *lifecycle) count(m map[int]int) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(m)
}

// checkOnce verifies that every replica set up was torn down exactly once.
func (l *lifecycle) checkOnce() {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.setups) == 0 {
		l.t.Error("no replica was set up")
	}
	for id, n := range l.setups {
		if n != 1 || l.tears[id] != 1 {
			l.t.Errorf("replica %d: %d setups, %d teardowns; want 1 and 1", id, n, l.tears[id])
		}
	}
	for id := range l.tears {
		if l.setups[id] == 0 {
			l.t.Errorf("replica %d torn down without a successful setup", id)
		}
	}
}

func TestOverCapacityWithoutQueue(t *testing.T) {
	for _, n := range []int{1, 4} {
		t.Run(fmt.Sprint("capacity ", n), func(t *testing.T) {
			p := start(t, Config{MaxConcurrentQueries: n, MaxQueuedRequests: -1}, nil)
			results := make(chan error, n+1)
			got := make(chan *Replica, n+1)
			for range n + 1 {
				go func() {
					r, err := p.Acquire(context.Background())
					if err == nil {
						got <- r
					}
					results <- err
				}()
			}
			full := 0
			for range n + 1 {
				err := <-results
				switch {
				case errors.Is(err, ErrQueueFull):
					full++
					var re interface{ RetryAfter() time.Duration }
					if !errors.As(err, &re) || re.RetryAfter() <= 0 {
						t.Errorf("%v has no Retry-After", err)
					}
				case err != nil:
					t.Errorf("unexpected error %v", err)
				}
			}
			if full != 1 {
				t.Errorf("%d refusals, want exactly 1", full)
			}
			if s := p.Status(); s.InFlight != n || s.Queued != 0 {
				t.Errorf("status %+v, want %d in flight", s, n)
			}
			for range n {
				p.Release(<-got)
			}
			if s := p.Status(); s.InFlight != 0 {
				t.Errorf("in flight %d after release", s.InFlight)
			}
		})
	}
}

func TestQueueTimeout(t *testing.T) {
	p := start(t, Config{MaxConcurrentQueries: 1, RequestTimeout: 50 * time.Millisecond}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Release(r)
	if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrQueueTimeout) {
		t.Fatalf("got %v, want ErrQueueTimeout", err)
	}
	if q := p.Status().Queued; q != 0 {
		t.Errorf("%d still queued after the timeout", q)
	}
}

func TestCancelledWaiterFreesItsPlace(t *testing.T) {
	p := start(t, Config{MaxConcurrentQueries: 1, MaxQueuedRequests: 1}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := p.Acquire(ctx); done <- err }()
	waitFor(t, "the waiter to queue", 5*time.Second, func() bool { return p.Status().Queued == 1 })
	if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrQueueFull) {
		t.Fatalf("got %v, want ErrQueueFull while the queue is full", err)
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled waiter got %v", err)
	}
	if q := p.Status().Queued; q != 0 {
		t.Fatalf("queued %d after cancel", q)
	}
	next := make(chan *Replica, 1)
	go func() {
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Error(err)
		}
		next <- r
	}()
	waitFor(t, "the next waiter to queue", 5*time.Second, func() bool { return p.Status().Queued == 1 })
	p.Release(r)
	p.Release(<-next)
	if s := p.Status(); s.InFlight != 0 || s.Queued != 0 {
		t.Errorf("status %+v after all releases", s)
	}
}

// TestReleaseCancelRace races a Release that hands the slot to a waiter with
// that waiter's cancellation: the slot must never leak.
func TestReleaseCancelRace(t *testing.T) {
	p := start(t, Config{MaxConcurrentQueries: 1}, nil)
	for i := range 300 {
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan *Replica, 1)
		go func() { r, _ := p.Acquire(ctx); got <- r }()
		for p.Status().Queued == 0 {
			time.Sleep(10 * time.Microsecond)
		}
		go cancel()
		p.Release(r)
		if w := <-got; w != nil {
			p.Release(w)
		}
		if s := p.Status(); s.InFlight != 0 || s.Queued != 0 {
			t.Fatalf("iteration %d: leaked: %+v", i, s)
		}
	}
}

func TestFIFO(t *testing.T) {
	p := start(t, Config{MaxConcurrentQueries: 1}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const n = 5
	order := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := p.Acquire(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			order <- i
			p.Release(r)
		}()
		waitFor(t, "waiter to queue", 5*time.Second, func() bool { return p.Status().Queued == i+1 })
	}
	p.Release(r)
	wg.Wait()
	for i := range n {
		if got := <-order; got != i {
			t.Fatalf("served %d in position %d", got, i)
		}
	}
}

func TestRoutesToFewestInFlight(t *testing.T) {
	p := start(t, Config{MaxReplicas: 3, InitialReplicas: 3, MaxConcurrentQueries: 2, DisableAutoscaler: true}, nil)
	var held []*Replica
	seen := map[int]int{}
	for range 6 {
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		held = append(held, r)
		seen[r.ID()]++
		if len(held) == 3 && len(seen) != 3 {
			t.Errorf("first 3 requests went to %v, want 3 replicas", seen)
		}
	}
	for id, n := range seen {
		if n != 2 {
			t.Errorf("replica %d holds %d, want 2", id, n)
		}
	}
	for _, r := range held {
		p.Release(r)
	}
}

func TestLongRequestSurvivesScaleDown(t *testing.T) {
	l := newLifecycle(t)
	p := start(t, Config{
		MaxReplicas: 2, InitialReplicas: 2, MaxConcurrentQueries: 2, TargetOngoingRequests: 2,
		Tick: 10 * time.Millisecond, LookBack: 30 * time.Millisecond, DownscaleDelay: 150 * time.Millisecond,
		Setup: l.setup, Teardown: l.teardown,
	}, nil)
	// Two long requests, one per replica; demand 2 / target 2 wants 1 replica,
	// so one of the two busy replicas leaves.
	a, err := l.acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	b, err := l.acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("both requests on one replica")
	}
	waitFor(t, "a replica to leave routing", 10*time.Second, func() bool { return p.Status().Stopping == 1 })
	time.Sleep(50 * time.Millisecond)
	if n := l.count(l.tears); n != 0 {
		t.Fatalf("%d teardowns while both requests run", n)
	}
	if s := p.Status(); s.Running != 1 || s.InFlight != 2 {
		t.Fatalf("status %+v, want 1 running and 2 in flight", s)
	}
	// New requests go only to the replica still in routing.
	c, err := l.acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	l.release(p, a)
	l.release(p, b)
	l.release(p, c)
	waitFor(t, "the drained replica's teardown", 10*time.Second, func() bool { return l.count(l.tears) == 1 })
	// The replica counts as stopping until its teardown has returned.
	waitFor(t, "the drained replica to leave the status", 10*time.Second, func() bool { return p.Status().Stopping == 0 })
	if s := p.Status(); s.Running != 1 {
		t.Errorf("status %+v after the drain", s)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.checkOnce()
}

func TestShutdownUnderLoadFailsNoAcceptedRequest(t *testing.T) {
	l := newLifecycle(t)
	p := start(t, Config{MaxReplicas: 4, InitialReplicas: 2, MaxConcurrentQueries: 2, Tick: 10 * time.Millisecond,
		Setup: l.setup, Teardown: l.teardown}, nil)
	var served, stopped atomic.Int64
	var wg sync.WaitGroup
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				r, err := l.acquire(context.Background(), p)
				if errors.Is(err, ErrStopped) {
					stopped.Add(1)
					return
				}
				if err != nil {
					t.Errorf("unexpected %v", err)
					return
				}
				if r.Value("resource") == nil {
					t.Error("replica serves without its resource")
				}
				time.Sleep(2 * time.Millisecond)
				l.release(p, r)
				served.Add(1)
			}
		}()
	}
	time.Sleep(150 * time.Millisecond)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := p.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if served.Load() == 0 || stopped.Load() != 16 {
		t.Errorf("served %d, stopped %d", served.Load(), stopped.Load())
	}
	if s := p.Status(); s.Running+s.Starting+s.Stopping != 0 || s.InFlight != 0 || !s.Stopped {
		t.Errorf("status after shutdown %+v", s)
	}
	if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrStopped) {
		t.Errorf("acquire after shutdown: %v", err)
	}
	l.checkOnce()
}

func TestShutdownRefusesWaiters(t *testing.T) {
	p := NewPool(Config{MaxConcurrentQueries: 1, Logger: quiet}, nil)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-p.Ready()
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waiter := make(chan error, 1)
	go func() { _, err := p.Acquire(context.Background()); waiter <- err }()
	waitFor(t, "the waiter to queue", 5*time.Second, func() bool { return p.Status().Queued == 1 })
	down := make(chan error, 1)
	go func() { down <- p.Shutdown(context.Background()) }()
	if err := <-waiter; !errors.Is(err, ErrStopped) {
		t.Errorf("waiter got %v, want ErrStopped", err)
	}
	select {
	case err := <-down:
		t.Fatalf("shutdown returned %v with a request in flight", err)
	case <-time.After(30 * time.Millisecond):
	}
	p.Release(r)
	if err := <-down; err != nil {
		t.Fatal(err)
	}
}

func TestCPUReservation(t *testing.T) {
	cpus := NewCPUs(2)
	a := start(t, Config{Name: "a", MaxReplicas: 4, InitialReplicas: 4, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus)
	if s := a.Status(); s.Running != 2 || s.Pending != 2 || s.Desired != 4 {
		t.Fatalf("status %+v, want 2 running and 2 pending", s)
	}
	if u := cpus.Used(); u != 2 {
		t.Fatalf("used %g CPUs, want 2", u)
	}
	// Min replicas start even when that oversubscribes.
	b := NewPool(Config{Name: "b", NumCPUs: 0.5, Logger: quiet}, cpus)
	if err := b.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	<-b.Ready()
	if s := b.Status(); s.Running != 1 || cpus.Used() != 2.5 {
		t.Fatalf("b %+v, used %g; want its min replica running over capacity", s, cpus.Used())
	}
	if err := b.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Still no room for a (2 of 2 used).
	time.Sleep(50 * time.Millisecond)
	if s := a.Status(); s.Running != 2 || cpus.Used() != 2 {
		t.Fatalf("a %+v, used %g after b stopped", s, cpus.Used())
	}
	cpus2 := NewCPUs(3.5)
	c := start(t, Config{Name: "c", MaxReplicas: 4, InitialReplicas: 4, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus2)
	d := NewPool(Config{Name: "d", Logger: quiet}, cpus2) // takes 1 of the 0.5 left? no: min starts anyway
	if err := d.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	if s := c.Status(); s.Running != 3 || s.Pending != 1 {
		t.Fatalf("c %+v, want 3 running, 1 pending", s)
	}
	if err := d.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	// Freed CPUs let a pending replica start at the next tick.
	if err := c.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	if u := cpus2.Used(); u != 0 {
		t.Errorf("used %g after all shutdowns", u)
	}
}

func TestPendingReplicaStartsWhenCPUsFree(t *testing.T) {
	cpus := NewCPUs(2)
	hog := NewPool(Config{Name: "hog", Logger: quiet}, cpus)
	if err := hog.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	a := start(t, Config{Name: "a", MaxReplicas: 2, InitialReplicas: 2, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus)
	if s := a.Status(); s.Running != 1 || s.Pending != 1 {
		t.Fatalf("status %+v, want 1 running and 1 pending", s)
	}
	if err := hog.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the pending replica to start", 10*time.Second, func() bool { return a.Status().Running == 2 })
	if s := a.Status(); s.Pending != 0 {
		t.Errorf("status %+v", s)
	}
}

func TestSetupErrorRetried(t *testing.T) {
	l := newLifecycle(t)
	l.failFor = 2
	p := start(t, Config{Setup: l.setup, Teardown: l.teardown}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if v := r.Value("resource"); v != fmt.Sprintf("conn-%d", r.ID()) {
		t.Errorf("resource %v", v)
	}
	p.Release(r)
	l.mu.Lock()
	attempts := l.attempts[r.ID()]
	l.mu.Unlock()
	if attempts != 3 {
		t.Errorf("%d setup attempts, want 3", attempts)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.checkOnce()
}

func TestSetupPanicAndNoTrafficBeforeReady(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	p := NewPool(Config{Logger: quiet, Setup: func(ctx context.Context, r *Replica) error {
		if calls.Add(1) == 1 {
			panic("boom")
		}
		<-release
		return nil
	}}, nil)
	if err := p.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer p.Shutdown(context.Background())
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	if r, err := p.Acquire(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, %v before setup finished; want the deadline", r, err)
	}
	if s := p.Status(); s.Starting != 1 || s.Running != 0 {
		t.Errorf("status %+v", s)
	}
	close(release)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Release(r)
	if calls.Load() != 2 {
		t.Errorf("%d setup calls, want 2", calls.Load())
	}
}

func TestColdStartFromZero(t *testing.T) {
	l := newLifecycle(t)
	p := start(t, Config{MinReplicas: -1, MaxReplicas: 2, Tick: 20 * time.Millisecond,
		DownscaleDelay: 100 * time.Millisecond, Setup: l.setup, Teardown: l.teardown}, nil)
	if s := p.Status(); s.Running != 0 || s.Desired != 0 {
		t.Fatalf("status %+v, want no replica", s)
	}
	r, err := l.acquire(context.Background(), p)
	if err != nil {
		t.Fatal(err)
	}
	l.release(p, r)
	if d := p.Status().Decisions; len(d) < 2 || d[1].Desired != 1 {
		t.Errorf("decisions %+v, want a cold start to 1", d)
	}
	waitFor(t, "scale back to zero", 10*time.Second, func() bool {
		s := p.Status()
		return s.Running == 0 && s.Stopping == 0 && s.Desired == 0
	})
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.checkOnce()
}

// TestScaleUpUnderLoadStep steps a pool of 1..8 replicas (one slot each) to
// 16 concurrent clients and waits until 8 replicas run, then removes the load
// and waits for the scale-down. It asserts no speed: the time is logged.
func TestScaleUpUnderLoadStep(t *testing.T) {
	l := newLifecycle(t)
	p := start(t, Config{Name: "step", MaxReplicas: 8, MaxConcurrentQueries: 1, DownscaleDelay: 300 * time.Millisecond,
		Setup: l.setup, Teardown: l.teardown}, nil)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var failed atomic.Int64
	begin := time.Now()
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				r, err := l.acquire(context.Background(), p)
				if err != nil {
					failed.Add(1)
					continue
				}
				time.Sleep(10 * time.Millisecond)
				l.release(p, r)
			}
		}()
	}
	waitFor(t, "8 replicas", 20*time.Second, func() bool { return p.Status().Running == 8 })
	t.Logf("1 -> 8 replicas in %v", time.Since(begin))
	if s := p.Status(); s.Running > 8 || s.Desired > 8 {
		t.Errorf("above max: %+v", s)
	}
	close(stop)
	wg.Wait()
	waitFor(t, "scale down to 1", 20*time.Second, func() bool {
		s := p.Status()
		return s.Running == 1 && s.Stopping == 0
	})
	if failed.Load() != 0 {
		t.Errorf("%d requests failed", failed.Load())
	}
	s := p.Status()
	if len(s.Decisions) == 0 || s.LastDecision.Reason == "" {
		t.Errorf("no decisions recorded: %+v", s)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		t.Fatal(err)
	}
	l.checkOnce()
}

func TestAcquireReleaseAllocs(t *testing.T) {
	p := start(t, Config{MaxReplicas: 4, InitialReplicas: 4, DisableAutoscaler: true}, nil)
	ctx := context.Background()
	allocs := testing.AllocsPerRun(1000, func() {
		r, err := p.Acquire(ctx)
		if err != nil {
			panic(err)
		}
		p.Release(r)
	})
	if allocs != 0 {
		t.Errorf("%v allocations per Acquire+Release, want 0", allocs)
	}
}

func TestMisuse(t *testing.T) {
	p := start(t, Config{}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Release(r)
	func() {
		defer func() {
			if v := recover(); v == nil {
				t.Error("double Release did not panic")
			}
		}()
		p.Release(r)
	}()
	func() {
		defer func() {
			if v, ok := recover().(string); !ok || v[:13] != "replicaflow: " {
				t.Errorf("NewPool with a bad config: recovered %v", v)
			}
		}()
		NewPool(Config{MinReplicas: 3, MaxReplicas: 1}, nil)
	}()
}
