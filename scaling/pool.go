package scaling

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"
)

// poolState is the life stage of a pool; guarded by Pool.mu.
type poolState uint8

const (
	poolNew poolState = iota
	poolRunning
	poolStopped
)

// Pool is the replica pool of one service. Its methods are safe for
// concurrent use.
type Pool struct {
	cfg   Options // with defaults
	cpus  *CPUs
	log   *slog.Logger
	cpuMs int64 // reservation per replica in milli-CPUs

	mu       sync.Mutex
	state    poolState
	routable []*Replica // ready replicas, in routing
	replicas []*Replica // every replica not yet torn down
	queue    waitList
	inflight int // slots held across all replicas
	peak     int // highest inflight+queued since the last sample
	rejected int // ErrQueueFull answers since the last sample
	desired  int
	nextID   int
	last     Decision
	ring     [decisionRing]Decision // changes, oldest overwritten
	nRing    int
	change   time.Time // when desired last changed
	lastDown bool      // the last change of desired was down
	oversub  bool      // a min replica oversubscribed the CPUs
	setupErr error     // the last Setup failure, until a replica is ready
	notReady *Error    // ErrNotReady for setupErr, while no replica is ready
	waiters  sync.Pool // recycled *waiter

	initial   int           // replicas started by Start
	readyOnce chan struct{} // closed when the initial replicas are ready
	readyDone bool

	baseCtx   context.Context
	cancelAll context.CancelFunc
	kick      chan struct{} // wakes the control loop
	quit      chan struct{} // closed by Shutdown
	loopDone  chan struct{}
	replWG    sync.WaitGroup
	stopOnce  sync.Once
}

const decisionRing = 20

// NewPool returns a pool for cfg sharing cpus (nil means no CPU limit). It
// panics if cfg is invalid (see Options.Validate): check the settings
// first where it comes from user input.
func NewPool(cfg Options, cpus *CPUs) *Pool {
	if err := cfg.Validate(); err != nil {
		panic(fmt.Sprintf("replicaflow: pool %q: %v", cfg.Name, err))
	}
	c := cfg.WithDefaults()
	p := &Pool{
		cfg:       c,
		cpus:      cpus,
		log:       c.Logger.With("service", c.Name),
		cpuMs:     milli(c.NumCPUs),
		readyOnce: make(chan struct{}),
		kick:      make(chan struct{}, 1),
		quit:      make(chan struct{}),
		loopDone:  make(chan struct{}),
	}
	p.waiters.New = func() any { return &waiter{ready: make(chan struct{}, 1)} }
	return p
}

// Options returns the pool's settings with its defaults applied.
func (p *Pool) Options() Options { return p.cfg }

// Start starts the initial replicas and the control loop. ctx bounds Start
// only; the pool runs until Shutdown. Start returns at once: replicas become
// ready when their Setup succeeds (see Ready). Requests that arrive before
// then wait in the queue.
func (p *Pool) Start(ctx context.Context) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch p.state {
	case poolRunning:
		return nil
	case poolStopped:
		return ErrStopped
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p.state = poolRunning
	p.baseCtx, p.cancelAll = context.WithCancel(context.WithoutCancel(ctx))
	now := time.Now()
	p.desired = p.cfg.NumReplicas
	p.change = now
	p.initial = math.MaxInt // not ready while the first replicas are created
	p.reconcileLocked()
	p.last = Decision{At: now, Desired: p.desired, Reason: "start" + p.pendingLocked()}
	p.record(p.last)
	p.initial = p.activeLocked()
	p.checkReadyLocked()
	go p.loop()
	return nil
}

// Ready returns a channel closed once the replicas started by Start (those
// that fit the CPUs) have all completed Setup, or the pool is shut down.
func (p *Pool) Ready() <-chan struct{} { return p.readyOnce }

// checkReadyLocked closes readyOnce when enough replicas are ready.
func (p *Pool) checkReadyLocked() {
	if !p.readyDone && p.state == poolRunning && len(p.routable) >= p.initial {
		p.readyDone = true
		close(p.readyOnce)
	}
}

// Acquire takes a slot on the ready replica with the fewest in-flight
// requests that has room. With no room it waits in the FIFO queue, and fails
// with ErrQueueFull when the queue is full, ErrQueueTimeout after
// RequestTimeout, ErrStopped when the pool shuts down, or ctx.Err() when ctx
// ends (leaving the queue at once). While no replica is ready and the last
// Setup failed, it fails at once with an error matching ErrNotReady that
// names the Setup error. The caller must Release the replica. Acquire does
// not allocate when a slot is free.
func (p *Pool) Acquire(ctx context.Context) (*Replica, error) {
	p.mu.Lock()
	if p.state == poolStopped {
		p.mu.Unlock()
		return nil, ErrStopped
	}
	if p.queue.n == 0 {
		if r := p.pickLocked(); r != nil {
			r.inflight++
			p.inflight++
			if p.inflight > p.peak {
				p.peak = p.inflight
			}
			p.mu.Unlock()
			return r, nil
		}
	}
	if p.notReady != nil && len(p.routable) == 0 {
		err := p.notReady
		p.mu.Unlock()
		return nil, err
	}
	if p.queue.n >= p.cfg.MaxQueuedRequests {
		p.rejected++
		cold := len(p.routable) == 0
		p.mu.Unlock()
		if cold {
			p.wake()
		}
		return nil, ErrQueueFull
	}
	return p.wait(ctx)
}

// wait queues the caller; p.mu is held on entry and released.
func (p *Pool) wait(ctx context.Context) (*Replica, error) {
	w := p.waiters.Get().(*waiter)
	w.state = waiting
	p.queue.push(w)
	if o := p.inflight + p.queue.n; o > p.peak {
		p.peak = o
	}
	cold := len(p.routable) == 0
	p.mu.Unlock()
	if cold {
		p.wake()
	}

	var timeout <-chan time.Time
	if p.cfg.RequestTimeout > 0 {
		t := time.NewTimer(p.cfg.RequestTimeout)
		defer t.Stop()
		timeout = t.C
	}
	var err error
	select {
	case <-w.ready:
		r, st, why := w.r, w.state, w.err
		p.putWaiter(w)
		if st == refused {
			return nil, why
		}
		return r, nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-timeout:
		err = ErrQueueTimeout
	}

	p.mu.Lock()
	switch w.state {
	case waiting:
		p.queue.remove(w)
	case granted:
		// Release handed us a slot as we gave up: pass it on.
		<-w.ready
		p.releaseLocked(w.r)
	case refused:
		<-w.ready
		err = w.err
	}
	p.mu.Unlock()
	p.putWaiter(w)
	return nil, err
}

// putWaiter recycles w; its ready buffer must be empty.
func (p *Pool) putWaiter(w *waiter) {
	w.r, w.err = nil, nil
	w.prev, w.next = nil, nil
	p.waiters.Put(w)
}

// refuseLocked answers every queued request with err.
func (p *Pool) refuseLocked(err error) {
	for w := p.queue.pop(); w != nil; w = p.queue.pop() {
		w.state = refused
		w.err = err
		w.ready <- struct{}{}
	}
}

// pickLocked returns the routable replica with the fewest in-flight requests
// that has room, or nil.
func (p *Pool) pickLocked() *Replica {
	var best *Replica
	capacity := p.cfg.MaxConcurrentQueries
	for _, r := range p.routable {
		if r.inflight >= capacity {
			continue
		}
		if best == nil || r.inflight < best.inflight {
			best = r
			if r.inflight == 0 {
				break
			}
		}
	}
	return best
}

// Release gives back the slot taken by Acquire. If a request is waiting and
// the replica is still in routing, the slot passes straight to it.
// Releasing a replica more times than it was acquired panics.
func (p *Pool) Release(r *Replica) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.releaseLocked(r)
}

func (p *Pool) releaseLocked(r *Replica) {
	if r.pool != p || r.inflight <= 0 {
		panic("replicaflow: scaling: Release of a replica slot that is not held")
	}
	if r.state == replicaReady {
		if w := p.queue.pop(); w != nil {
			p.grantLocked(w, r)
			return
		}
	}
	r.inflight--
	p.inflight--
	if r.inflight == 0 && r.state == replicaDraining {
		p.finishLocked(r)
	}
}

// grantLocked hands w a slot of r that is already counted as in flight.
func (p *Pool) grantLocked(w *waiter, r *Replica) {
	w.r = r
	w.state = granted
	w.ready <- struct{}{}
}

// dispatchLocked gives free slots of routable replicas to queued requests.
func (p *Pool) dispatchLocked() {
	for p.queue.n > 0 {
		r := p.pickLocked()
		if r == nil {
			return
		}
		r.inflight++
		p.inflight++
		p.grantLocked(p.queue.pop(), r)
	}
}

// wake runs the control loop now, without waiting for the next tick.
func (p *Pool) wake() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Shutdown stops routing, answers waiting requests with ErrStopped, lets the
// in-flight requests finish and tears every replica down. It returns when all
// replicas are torn down, or with ctx.Err() if ctx ends first (teardown then
// goes on in the background). Acquire fails with ErrStopped afterwards.
func (p *Pool) Shutdown(ctx context.Context) error {
	p.stopOnce.Do(func() {
		p.mu.Lock()
		started := p.state == poolRunning
		p.state = poolStopped
		p.refuseLocked(ErrStopped)
		for _, r := range p.replicas {
			p.drainLocked(r)
		}
		p.desired = 0
		if !p.readyDone {
			p.readyDone = true
			close(p.readyOnce)
		}
		p.mu.Unlock()
		close(p.quit)
		if !started {
			close(p.loopDone)
		}
	})
	done := make(chan struct{})
	go func() {
		<-p.loopDone
		p.replWG.Wait()
		close(done)
	}()
	select {
	case <-done:
		if p.cancelAll != nil {
			p.cancelAll()
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
