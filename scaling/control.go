package scaling

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Setup retry backoff.
const (
	setupBackoffMin = 50 * time.Millisecond
	setupBackoffMax = 5 * time.Second
)

// loop is the control loop: every Tick (or when woken) it samples the load,
// runs Decide and reconciles the replicas with the decision.
func (p *Pool) loop() {
	defer close(p.loopDone)
	c := p.cfg
	keep := max(c.UpscaleDelay, c.DownscaleDelay) + c.LookBack + 2*c.Tick
	samples := make([]Sample, 0, int(keep/max(c.Tick, time.Millisecond))+4)
	t := time.NewTicker(c.Tick)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-t.C:
		case <-p.kick:
		}
		now := time.Now()
		// Drop samples older than every window needs.
		drop := 0
		for drop < len(samples) && samples[drop].At.Before(now.Add(-keep)) {
			drop++
		}
		if drop > 0 {
			samples = append(samples[:0], samples[drop:]...)
		}
		p.tick(now, &samples)
	}
}

// tick takes one sample and applies one decision.
func (p *Pool) tick(now time.Time, samples *[]Sample) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != poolRunning {
		return
	}
	s := Sample{At: now, InFlight: p.inflight, Queued: p.queue.n, Peak: p.peak, Rejected: p.rejected}
	p.peak = s.Ongoing()
	p.rejected = 0
	if len(*samples) == cap(*samples) {
		*samples = append((*samples)[:0], (*samples)[1:]...)
	}
	*samples = append(*samples, s)
	st := State{Current: p.desired, Ready: len(p.routable), LastChange: p.change, LastDown: p.lastDown}
	d := Decide(p.cfg, st, *samples, now)
	if d.Changed() {
		p.lastDown = d.Desired < p.desired
		p.desired = d.Desired
		p.change = now
	}
	p.reconcileLocked()
	d.Reason += p.pendingLocked()
	p.last = d
	if d.Changed() {
		p.record(d)
		p.log.Debug("scaling decision", "from", d.From, "to", d.Desired, "average", d.Average, "reason", d.Reason)
	}
}

// pendingLocked says why replicas the pool wants are not started, or "".
func (p *Pool) pendingLocked() string {
	n := p.desired - p.activeLocked()
	if n <= 0 || p.state != poolRunning {
		return ""
	}
	return fmt.Sprintf("; %d pending for CPUs: each replica reserves %g, %g of %g in use",
		n, p.cfg.NumCPUs, p.cpus.Used(), p.cpus.Total())
}

// record appends a decision to the ring of recent changes.
func (p *Pool) record(d Decision) {
	p.ring[p.nRing%decisionRing] = d
	p.nRing++
}

// reconcileLocked starts or drains replicas until the active ones (starting
// or ready) match desired. Replicas that do not fit the CPUs stay pending and
// are retried every tick; replicas up to MinReplicas start anyway.
func (p *Pool) reconcileLocked() {
	active := p.activeLocked()
	for active < p.desired {
		force := active < p.cfg.MinReplicas
		ok, over := p.cpus.reserve(p.cpuMs, force)
		if !ok {
			break
		}
		if over && !p.oversub {
			p.log.Warn("min replicas oversubscribe the CPUs", "num_cpus", p.cfg.NumCPUs, "cpus_total", p.cpus.Total(), "cpus_used", p.cpus.Used())
		}
		p.oversub = over
		p.startLocked()
		active++
	}
	for active > p.desired {
		r := p.victimLocked()
		if r == nil {
			return
		}
		p.drainLocked(r)
		active--
	}
}

func (p *Pool) activeLocked() int {
	n := 0
	for _, r := range p.replicas {
		if r.state == replicaStarting || r.state == replicaReady {
			n++
		}
	}
	return n
}

// victimLocked picks the replica to scale down: a starting one first, else
// the ready one with the fewest in-flight requests.
func (p *Pool) victimLocked() *Replica {
	var best *Replica
	for _, r := range p.replicas {
		switch r.state {
		case replicaStarting:
			return r
		case replicaReady:
			if best == nil || r.inflight < best.inflight {
				best = r
			}
		}
	}
	return best
}

// startLocked creates a replica; its CPUs are reserved. A replica with
// nothing to build serves at once; otherwise a goroutine runs Setup, and
// ends with it. No goroutine waits while a replica serves: an idle replica
// costs the garbage collector no stack to scan, and its teardown starts
// from the event that drains it (see finishLocked).
func (p *Pool) startLocked() {
	p.nextID++
	r := &Replica{
		id:       p.nextID,
		pool:     p,
		state:    replicaStarting,
		reserved: p.cpuMs,
		stop:     make(chan struct{}),
	}
	p.replicas = append(p.replicas, r)
	p.replWG.Add(1)
	if p.cfg.Setup == nil {
		r.setupDone, r.setUp = true, true
		p.readyLocked(r)
		return
	}
	r.ctx, r.cancel = context.WithCancel(p.baseCtx)
	go p.run(r)
}

// readyLocked puts a started replica in routing and feeds it queued requests.
func (p *Pool) readyLocked(r *Replica) {
	p.setupErr, p.notReady = nil, nil
	r.state = replicaReady
	p.routable = append(p.routable, r)
	p.dispatchLocked()
	p.checkReadyLocked()
}

// drainLocked takes r out of routing and tells it to finish. Its CPU
// reservation is given back at once so a replacement can start while r
// finishes its in-flight requests.
func (p *Pool) drainLocked(r *Replica) {
	switch r.state {
	case replicaStarting, replicaReady:
	default:
		return
	}
	if r.state == replicaReady {
		for i, x := range p.routable {
			if x == r {
				last := len(p.routable) - 1
				p.routable[i] = p.routable[last]
				p.routable[last] = nil
				p.routable = p.routable[:last]
				break
			}
		}
	} else if r.cancel != nil {
		r.cancel() // abort a Setup in progress
	}
	r.state = replicaDraining
	p.cpus.release(r.reserved)
	r.reserved = 0
	close(r.stop)
	p.finishLocked(r)
}

// finishLocked starts r's teardown once nothing holds it any more: it is
// draining, its last in-flight request is done, and its Setup is over.
// Whichever of those comes last calls it; it starts the teardown once.
func (p *Pool) finishLocked(r *Replica) {
	if r.state != replicaDraining || r.inflight > 0 || !r.setupDone || r.finishing {
		return
	}
	r.finishing = true
	go p.finish(r)
}

// run is the goroutine of a replica with something to build: Setup,
// retried until it succeeds or the replica is stopped.
func (p *Pool) run(r *Replica) {
	setUp := p.setup(r)
	p.mu.Lock()
	r.setupDone, r.setUp = true, setUp
	p.finishLocked(r)
	p.mu.Unlock()
}

// finish tears a drained replica down (Teardown, when its Setup succeeded)
// and forgets it.
func (p *Pool) finish(r *Replica) {
	defer p.replWG.Done()
	if r.setUp && p.cfg.Teardown != nil {
		p.teardown(r)
	}
	if r.cancel != nil {
		r.cancel()
	}
	p.mu.Lock()
	r.state = replicaStopped
	for i, x := range p.replicas {
		if x == r {
			copy(p.replicas[i:], p.replicas[i+1:])
			p.replicas[len(p.replicas)-1] = nil
			p.replicas = p.replicas[:len(p.replicas)-1]
			break
		}
	}
	p.mu.Unlock()
	p.log.Debug("replica stopped", "replica", r.id)
}

// setup runs Setup until it succeeds or the replica is stopped, and puts the
// replica in routing. It reports whether Setup succeeded.
func (p *Pool) setup(r *Replica) bool {
	backoff := setupBackoffMin
	for attempt := 1; ; attempt++ {
		err := p.callSetup(r)
		if err == nil {
			break
		}
		if r.ctx.Err() != nil {
			return false
		}
		p.log.Error("replica setup failed; retrying", "replica", r.id, "attempt", attempt, "retry_in", backoff, "error", err)
		p.setupFailed(err)
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-r.stop:
			t.Stop()
			return false
		}
		backoff = min(2*backoff, setupBackoffMax)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if r.state != replicaStarting {
		// Stopped while Setup succeeded: it built resources, so tear them down.
		return true
	}
	p.readyLocked(r)
	p.log.Debug("replica ready", "replica", r.id)
	return true
}

// setupFailed records a Setup error. While no replica is ready, the
// requests waiting and the ones to come fail at once, naming it.
func (p *Pool) setupFailed(err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != poolRunning {
		return
	}
	p.setupErr = err
	if len(p.routable) == 0 {
		p.notReady = notReady(err)
		p.refuseLocked(p.notReady)
	}
}

func (p *Pool) callSetup(r *Replica) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = fmt.Errorf("replica setup panicked: %v", v)
		}
	}()
	return p.cfg.Setup(r.ctx, r)
}

func (p *Pool) teardown(r *Replica) {
	defer func() {
		if v := recover(); v != nil {
			p.log.Error("replica teardown panicked", "replica", r.id, slog.Any("panic", v))
		}
	}()
	p.cfg.Teardown(r)
}
