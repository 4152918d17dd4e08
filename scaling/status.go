package scaling

// Status is a snapshot of a pool, for status pages and metrics.
type Status struct {
	Name       string `json:"name"`
	Running    int    `json:"running"`    // replicas ready and in routing
	Starting   int    `json:"starting"`   // replicas running Setup
	Stopping   int    `json:"stopping"`   // replicas out of routing, finishing in-flight requests
	Pending    int    `json:"pending"`    // replicas wanted but waiting for CPUs
	Desired    int    `json:"desired"`    // replicas the autoscaler aims for
	Min        int    `json:"min"`        // bounds
	Max        int    `json:"max"`        // bounds
	Autoscaler bool   `json:"autoscaler"` // whether the autoscaler is on
	InFlight   int    `json:"in_flight"`  // requests holding a slot
	Queued     int    `json:"queued"`     // requests waiting for a slot
	Capacity   int    `json:"capacity"`   // slots of the running replicas
	Stopped    bool   `json:"stopped"`    // Shutdown was called

	LastDecision Decision   `json:"last_decision"` // the latest decision, changed or not
	Decisions    []Decision `json:"decisions"`     // the latest changes, oldest first (up to 20)
}

// Status returns a snapshot of the pool.
func (p *Pool) Status() Status {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := Status{
		Name:         p.cfg.Name,
		Desired:      p.desired,
		Min:          p.cfg.MinReplicas,
		Max:          p.cfg.MaxReplicas,
		Autoscaler:   !p.cfg.DisableAutoscaler,
		InFlight:     p.inflight,
		Queued:       p.queue.n,
		Stopped:      p.state == poolStopped,
		LastDecision: p.last,
	}
	for _, r := range p.replicas {
		switch r.state {
		case replicaStarting:
			s.Starting++
		case replicaReady:
			s.Running++
		case replicaDraining:
			s.Stopping++
		}
	}
	s.Capacity = s.Running * p.cfg.MaxConcurrentQueries
	s.Pending = max(0, s.Desired-s.Running-s.Starting)
	n := min(p.nRing, decisionRing)
	s.Decisions = make([]Decision, 0, n)
	for i := p.nRing - n; i < p.nRing; i++ {
		s.Decisions = append(s.Decisions, p.ring[i%decisionRing])
	}
	return s
}
