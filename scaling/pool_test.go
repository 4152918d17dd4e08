package scaling

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// start builds and starts a pool, waits until its initial replicas are
// ready and shuts it down at the end of the test. Inside a synctest bubble
// the wait takes no real time.
func start(t *testing.T, cfg Options, cpus *CPUs) *Pool {
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
			p := start(t, Options{MaxConcurrentQueries: n, DisableQueue: true}, nil)
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
	synctest.Test(t, func(t *testing.T) {
		p := start(t, Options{MaxConcurrentQueries: 1, RequestTimeout: 50 * time.Millisecond}, nil)
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer p.Release(r)
		begin := time.Now()
		if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrQueueTimeout) {
			t.Fatalf("got %v, want ErrQueueTimeout", err)
		}
		if waited := time.Since(begin); waited != 50*time.Millisecond {
			t.Errorf("waited %v in the queue, want the request timeout", waited)
		}
		if q := p.Status().Queued; q != 0 {
			t.Errorf("%d still queued after the timeout", q)
		}
	})
}

func TestCancelledWaiterFreesItsPlace(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := start(t, Options{MaxConcurrentQueries: 1, MaxQueuedRequests: 1}, nil)
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { _, err := p.Acquire(ctx); done <- err }()
		synctest.Wait()
		if q := p.Status().Queued; q != 1 {
			t.Fatalf("%d queued, want the waiter", q)
		}
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
		synctest.Wait()
		if q := p.Status().Queued; q != 1 {
			t.Fatalf("%d queued, want the next waiter", q)
		}
		p.Release(r)
		p.Release(<-next)
		if s := p.Status(); s.InFlight != 0 || s.Queued != 0 {
			t.Errorf("status %+v after all releases", s)
		}
	})
}

// TestReleaseCancelRace races a Release that hands the slot to a waiter with
// that waiter's cancellation: the slot must never leak. It runs on the real
// scheduler, outside a bubble, to let the two really race.
func TestReleaseCancelRace(t *testing.T) {
	p := start(t, Options{MaxConcurrentQueries: 1}, nil)
	for i := range 300 {
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		got := make(chan *Replica, 1)
		go func() { r, _ := p.Acquire(ctx); got <- r }()
		for p.Status().Queued == 0 {
			runtime.Gosched()
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
	synctest.Test(t, func(t *testing.T) {
		p := start(t, Options{MaxConcurrentQueries: 1}, nil)
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		const n = 5
		order := make(chan int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := p.Acquire(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				order <- i
				p.Release(r)
			})
			synctest.Wait() // waiter i is queued before i+1 starts
		}
		p.Release(r)
		wg.Wait()
		for i := range n {
			if got := <-order; got != i {
				t.Fatalf("served %d in position %d", got, i)
			}
		}
	})
}

func TestRoutesToFewestInFlight(t *testing.T) {
	p := start(t, Options{MaxReplicas: 3, NumReplicas: 3, MaxConcurrentQueries: 2, DisableAutoscaler: true}, nil)
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
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		p := start(t, Options{
			MaxReplicas: 2, NumReplicas: 2, MaxConcurrentQueries: 2, TargetOngoingRequests: 2,
			Tick: 10 * time.Millisecond, LookBack: 30 * time.Millisecond, DownscaleDelay: 150 * time.Millisecond,
			Setup: l.setup, Teardown: l.teardown,
		}, nil)
		// Two long requests, one per replica; demand 2 / target 2 wants 1
		// replica, so one of the two busy replicas leaves after the delay.
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
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if s := p.Status(); s.Stopping != 0 || s.Running != 2 {
			t.Fatalf("status %+v before the downscale delay, want 2 running", s)
		}
		time.Sleep(100 * time.Millisecond)
		synctest.Wait()
		if s := p.Status(); s.Stopping != 1 || s.Running != 1 || s.InFlight != 2 {
			t.Fatalf("status %+v after the downscale delay, want 1 running, 1 stopping, 2 in flight", s)
		}
		if n := l.count(l.tears); n != 0 {
			t.Fatalf("%d teardowns while both requests run", n)
		}
		// New requests go only to the replica still in routing.
		c, err := l.acquire(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		l.release(p, a)
		l.release(p, b)
		l.release(p, c)
		synctest.Wait()
		// The replica counts as stopping until its teardown has returned.
		if s := p.Status(); l.count(l.tears) != 1 || s.Stopping != 0 || s.Running != 1 {
			t.Errorf("status %+v, %d teardowns after the drain; want 1 running, 1 teardown", s, l.count(l.tears))
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.checkOnce()
	})
}

func TestShutdownUnderLoadFailsNoAcceptedRequest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		p := start(t, Options{MaxReplicas: 4, NumReplicas: 2, MaxConcurrentQueries: 2, Tick: 10 * time.Millisecond,
			Setup: l.setup, Teardown: l.teardown}, nil)
		var served, stopped atomic.Int64
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
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
					time.Sleep(2 * time.Millisecond) // the work
					l.release(p, r)
					served.Add(1)
				}
			})
		}
		time.Sleep(150 * time.Millisecond) // load for a while: the pool scales up
		if err := p.Shutdown(context.Background()); err != nil {
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
	})
}

func TestShutdownRefusesWaiters(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		p := start(t, Options{MaxConcurrentQueries: 1}, nil)
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		waiter := make(chan error, 1)
		go func() { _, err := p.Acquire(context.Background()); waiter <- err }()
		synctest.Wait()
		down := make(chan error, 1)
		go func() { down <- p.Shutdown(context.Background()) }()
		if err := <-waiter; !errors.Is(err, ErrStopped) {
			t.Errorf("waiter got %v, want ErrStopped", err)
		}
		synctest.Wait()
		select {
		case err := <-down:
			t.Fatalf("shutdown returned %v with a request in flight", err)
		default:
		}
		p.Release(r)
		if err := <-down; err != nil {
			t.Fatal(err)
		}
	})
}

func TestCPUReservation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cpus := NewCPUs(2)
		a := start(t, Options{Name: "a", MaxReplicas: 4, NumReplicas: 4, NumCPUs: 1, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus)
		if s := a.Status(); s.Running != 2 || s.Pending != 2 || s.Desired != 4 {
			t.Fatalf("status %+v, want 2 running and 2 pending", s)
		}
		if u := cpus.Used(); u != 2 {
			t.Fatalf("used %g CPUs, want 2", u)
		}
		time.Sleep(20 * time.Millisecond)
		if r := a.Status().LastDecision.Reason; !strings.Contains(r, "2 pending for CPUs") {
			t.Errorf("reason %q does not say replicas wait for CPUs", r)
		}
		// Min replicas start even when that oversubscribes.
		b := start(t, Options{Name: "b", NumCPUs: 0.5}, cpus)
		if s := b.Status(); s.Running != 1 || cpus.Used() != 2.5 {
			t.Fatalf("b %+v, used %g; want its min replica running over capacity", s, cpus.Used())
		}
		if err := b.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		// Still no room for a (2 of 2 used).
		time.Sleep(50 * time.Millisecond)
		synctest.Wait()
		if s := a.Status(); s.Running != 2 || cpus.Used() != 2 {
			t.Fatalf("a %+v, used %g after b stopped", s, cpus.Used())
		}
		// A pool that reserves nothing is not limited by the CPUs.
		free := start(t, Options{Name: "free", MaxReplicas: 8, NumReplicas: 8, DisableAutoscaler: true}, cpus)
		if s := free.Status(); s.Running != 8 || s.Pending != 0 || cpus.Used() != 2 {
			t.Fatalf("free %+v, used %g; want 8 running and no reservation", s, cpus.Used())
		}
		cpus2 := NewCPUs(3.5)
		c := start(t, Options{Name: "c", MaxReplicas: 4, NumReplicas: 4, NumCPUs: 1, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus2)
		d := start(t, Options{Name: "d", NumCPUs: 1}, cpus2) // over the 0.5 left: a min replica starts anyway
		if s := c.Status(); s.Running != 3 || s.Pending != 1 {
			t.Fatalf("c %+v, want 3 running, 1 pending", s)
		}
		if err := d.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := c.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		if u := cpus2.Used(); u != 0 {
			t.Errorf("used %g after all shutdowns", u)
		}
	})
}

func TestPendingReplicaStartsWhenCPUsFree(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cpus := NewCPUs(2)
		hog := start(t, Options{Name: "hog", NumCPUs: 1}, cpus)
		a := start(t, Options{Name: "a", MaxReplicas: 2, NumReplicas: 2, NumCPUs: 1, DisableAutoscaler: true, Tick: 10 * time.Millisecond}, cpus)
		if s := a.Status(); s.Running != 1 || s.Pending != 1 {
			t.Fatalf("status %+v, want 1 running and 1 pending", s)
		}
		if r := a.Status().LastDecision.Reason; !strings.Contains(r, "1 pending for CPUs: each replica reserves 1, 2 of 2 in use") {
			t.Errorf("start reason %q does not say a replica waits for CPUs", r)
		}
		if err := hog.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond) // the next tick
		synctest.Wait()
		if s := a.Status(); s.Running != 2 || s.Pending != 0 || strings.Contains(s.LastDecision.Reason, "pending") {
			t.Errorf("status %+v, want the pending replica running", s)
		}
	})
}

func TestSetupErrorRetried(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		l.failFor = 2
		begin := time.Now()
		p := start(t, Options{Setup: l.setup, Teardown: l.teardown}, nil)
		if waited := time.Since(begin); waited != setupBackoffMin+2*setupBackoffMin {
			t.Errorf("ready after %v, want two backoffs (%v and %v)", waited, setupBackoffMin, 2*setupBackoffMin)
		}
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
	})
}

// TestSetupFailureFailsFast checks that while no replica can be set up,
// requests fail at once with the cause (those already waiting too), the
// status shows it, and the pool serves once Setup succeeds.
func TestSetupFailureFailsFast(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		refused := errors.New("dial db: connection refused")
		var broken atomic.Bool
		broken.Store(true)
		first := make(chan struct{})
		var calls atomic.Int32
		p := NewPool(Options{Name: "db", Logger: quiet, Setup: func(ctx context.Context, r *Replica) error {
			if calls.Add(1) == 1 {
				<-first // a request queues while the first build runs
			}
			if broken.Load() {
				return refused
			}
			return nil
		}}, nil)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		defer p.Shutdown(context.Background())
		queued := make(chan error, 1)
		go func() { _, err := p.Acquire(context.Background()); queued <- err }()
		synctest.Wait()
		if s := p.Status(); s.Queued != 1 || s.Starting != 1 {
			t.Fatalf("status %+v, want a request queued while the replica starts", s)
		}
		begin := time.Now()
		close(first)
		err := <-queued
		const want = "no replica is ready: dial db: connection refused"
		if !errors.Is(err, ErrNotReady) || err.Error() != want || time.Since(begin) != 0 {
			t.Fatalf("queued request got %v after %v, want %q at once", err, time.Since(begin), want)
		}
		var re interface{ RetryAfter() time.Duration }
		if !errors.As(err, &re) || re.RetryAfter() <= 0 {
			t.Errorf("%v has no Retry-After", err)
		}
		if _, err := p.Acquire(context.Background()); !errors.Is(err, ErrNotReady) || time.Since(begin) != 0 {
			t.Fatalf("next request got %v after %v, want ErrNotReady at once", err, time.Since(begin))
		}
		if s := p.Status(); s.SetupError != refused.Error() || s.Running != 0 || s.Queued != 0 {
			t.Errorf("status %+v, want the setup error", s)
		}
		broken.Store(false)
		time.Sleep(setupBackoffMax) // past the next retry
		synctest.Wait()
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatalf("after the build works: %v", err)
		}
		p.Release(r)
		if s := p.Status(); s.SetupError != "" || s.Running != 1 {
			t.Errorf("status %+v, want the error cleared", s)
		}
	})
}

func TestSetupPanicIsAFailure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var calls atomic.Int32
		p := NewPool(Options{Logger: quiet, Setup: func(ctx context.Context, r *Replica) error {
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
		synctest.Wait()
		if r, err := p.Acquire(context.Background()); !errors.Is(err, ErrNotReady) || !strings.Contains(err.Error(), "setup panicked: boom") {
			t.Fatalf("got %v, %v while setup fails; want ErrNotReady naming the panic", r, err)
		}
		time.Sleep(setupBackoffMin) // the retry starts, and blocks
		synctest.Wait()
		if s := p.Status(); s.Starting != 1 || s.Running != 0 || calls.Load() != 2 {
			t.Errorf("status %+v after %d calls", s, calls.Load())
		}
		close(release)
		synctest.Wait()
		r, err := p.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		p.Release(r)
	})
}

func TestColdStartFromZero(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		p := start(t, Options{ScaleToZero: true, MaxReplicas: 2, Tick: 20 * time.Millisecond,
			DownscaleDelay: 100 * time.Millisecond, Setup: l.setup, Teardown: l.teardown}, nil)
		if s := p.Status(); s.Running != 0 || s.Desired != 0 {
			t.Fatalf("status %+v, want no replica", s)
		}
		begin := time.Now()
		r, err := l.acquire(context.Background(), p)
		if err != nil {
			t.Fatal(err)
		}
		if waited := time.Since(begin); waited != 0 {
			t.Errorf("cold start took %v, want the wake-up at once", waited)
		}
		l.release(p, r)
		if d := p.Status().Decisions; len(d) < 2 || d[1].Desired != 1 || !strings.Contains(d[1].Reason, "cold start") {
			t.Errorf("decisions %+v, want a cold start to 1", d)
		}
		time.Sleep(time.Second)
		synctest.Wait()
		if s := p.Status(); s.Running != 0 || s.Stopping != 0 || s.Desired != 0 {
			t.Errorf("status %+v, want scaled back to zero", s)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.checkOnce()
	})
}

// TestScaleUpUnderLoadStep steps a pool of 1..8 replicas (one slot each, no
// CPU reservation) on a 2-CPU capacity to 16 concurrent clients: it reaches
// 8 replicas, and scales back to 1 once the load stops.
func TestScaleUpUnderLoadStep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		p := start(t, Options{Name: "step", MaxReplicas: 8, MaxConcurrentQueries: 1, DownscaleDelay: 300 * time.Millisecond,
			Setup: l.setup, Teardown: l.teardown}, NewCPUs(2))
		stop := make(chan struct{})
		var wg sync.WaitGroup
		var failed atomic.Int64
		begin := time.Now()
		for range 16 {
			wg.Go(func() {
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
					time.Sleep(10 * time.Millisecond) // the work
					l.release(p, r)
				}
			})
		}
		for p.Status().Running < 8 && time.Since(begin) < 10*time.Second {
			time.Sleep(DefaultTick)
		}
		t.Logf("1 -> 8 replicas in %v", time.Since(begin))
		if s := p.Status(); s.Running != 8 || s.Desired != 8 || time.Since(begin) > 2*time.Second {
			t.Errorf("status %+v after %v, want 8 replicas within 2s", s, time.Since(begin))
		}
		close(stop)
		wg.Wait()
		time.Sleep(2 * time.Second)
		synctest.Wait()
		if s := p.Status(); s.Running != 1 || s.Stopping != 0 {
			t.Errorf("status %+v 2s after the load stopped, want 1 replica", s)
		}
		if failed.Load() != 0 {
			t.Errorf("%d requests failed", failed.Load())
		}
		if s := p.Status(); len(s.Decisions) == 0 || s.LastDecision.Reason == "" {
			t.Errorf("no decisions recorded: %+v", s)
		}
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		l.checkOnce()
	})
}

func TestAcquireReleaseAllocs(t *testing.T) {
	p := start(t, Options{MaxReplicas: 4, NumReplicas: 4, DisableAutoscaler: true}, nil)
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
	p := start(t, Options{}, nil)
	r, err := p.Acquire(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	p.Release(r)
	testutil.MustPanic(t, "Release of a replica slot that is not held", func() { p.Release(r) })
	testutil.MustPanic(t, `pool "x": min replicas 3 is above max replicas 1`, func() {
		NewPool(Options{Name: "x", MinReplicas: 3, MaxReplicas: 1}, nil)
	})
}

// replicaGoroutines counts the goroutines running a replica's Setup or
// teardown in the caller's synctest bubble (other tests' pools may run
// beside it).
func replicaGoroutines() int {
	self := make([]byte, 256)
	self = self[:runtime.Stack(self, false)]
	header, _, _ := strings.Cut(string(self), "\n")
	_, bubble, ok := strings.Cut(header, "synctest bubble ")
	if !ok {
		panic("replicaGoroutines is for a synctest bubble")
	}
	bubble = strings.TrimSuffix(bubble, "]:")
	buf := make([]byte, 1<<22)
	buf = buf[:runtime.Stack(buf, true)]
	n := 0
	for g := range strings.SplitSeq(string(buf), "\n\n") {
		header, stack, _ := strings.Cut(g, "\n")
		if !strings.Contains(header, "synctest bubble "+bubble+"]") {
			continue
		}
		if strings.Contains(stack, "scaling.(*Pool).run(") || strings.Contains(stack, "scaling.(*Pool).finish(") {
			n++
		}
	}
	return n
}

// An idle replica holds no goroutine: the one that runs Setup ends with
// it, and a teardown starts from what drains the replica. The garbage
// collector has no stack to scan per replica. Teardown still runs once per
// replica, after its last request, whether the replica drains idle, with
// requests in flight, or while its Setup is still retrying.
func TestIdleReplicasHoldNoGoroutine(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		p := start(t, Options{NumReplicas: 20, MinReplicas: 20, MaxReplicas: 20, DisableAutoscaler: true,
			Setup: l.setup, Teardown: l.teardown}, nil)
		synctest.Wait()
		if s := p.Status(); s.Running != 20 {
			t.Fatalf("%d running, want 20", s.Running)
		}
		if n := replicaGoroutines(); n != 0 {
			t.Fatalf("%d goroutines for 20 idle replicas, want none", n)
		}

		// Held replicas are torn down after their last request, idle ones at once.
		var held []*Replica
		for range 3 {
			r, err := l.acquire(context.Background(), p)
			if err != nil {
				t.Fatal(err)
			}
			held = append(held, r)
		}
		stopped := make(chan error, 1)
		go func() { stopped <- p.Shutdown(context.Background()) }()
		synctest.Wait()
		if n := l.count(l.tears); n != 17 {
			t.Fatalf("%d replicas torn down while 3 hold requests, want 17", n)
		}
		for _, r := range held {
			l.release(p, r)
		}
		if err := <-stopped; err != nil {
			t.Fatal(err)
		}
		l.checkOnce()
		if n := replicaGoroutines(); n != 0 {
			t.Fatalf("%d replica goroutines after shutdown", n)
		}
	})
}

// A replica stopped while its Setup keeps failing is not torn down (it
// built nothing), and its goroutine ends.
func TestReplicaStoppedDuringSetup(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := newLifecycle(t)
		l.failFor = 1000
		p := NewPool(Options{Logger: quiet, Setup: l.setup, Teardown: l.teardown}, nil)
		if err := p.Start(context.Background()); err != nil {
			t.Fatal(err)
		}
		time.Sleep(3 * setupBackoffMin) // a few attempts fail
		if err := p.Shutdown(context.Background()); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if n := l.count(l.tears); n != 0 {
			t.Errorf("%d teardowns of replicas never set up", n)
		}
		if n := replicaGoroutines(); n != 0 {
			t.Errorf("%d replica goroutines after shutdown", n)
		}
	})
}
