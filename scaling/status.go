package scaling

// Status is a snapshot of a pool, for status pages and metrics: its
// replicas and requests now, the settings it runs with (defaults applied;
// durations read like "200ms" in JSON) and its recent decisions.
type Status struct {
	Name     string `json:"name"`
	Running  int    `json:"running"`   // replicas ready and in routing
	Starting int    `json:"starting"`  // replicas running Setup
	Stopping int    `json:"stopping"`  // replicas out of routing, finishing in-flight requests
	Pending  int    `json:"pending"`   // replicas wanted but waiting for CPUs
	Desired  int    `json:"desired"`   // replicas the autoscaler aims for
	InFlight int    `json:"in_flight"` // requests holding a slot
	Queued   int    `json:"queued"`    // requests waiting for a slot
	Capacity int    `json:"capacity"`  // slots of the running replicas
	Stopped  bool   `json:"stopped"`   // the pool is not running
	// SetupError is the last Setup failure, cleared when a replica becomes
	// ready. While no replica is ready, requests fail at once with it.
	SetupError string `json:"setup_error,omitempty"`

	Min                   int      `json:"min"`                    // MinReplicas
	Max                   int      `json:"max"`                    // MaxReplicas
	Autoscaler            bool     `json:"autoscaler"`             // whether the autoscaler is on
	MaxConcurrentQueries  int      `json:"max_concurrent_queries"` // slots per replica
	TargetOngoingRequests float64  `json:"target_num_ongoing_requests_per_replica"`
	MaxQueuedRequests     int      `json:"max_queued_requests"` // 0: no queue
	RequestTimeout        Duration `json:"request_timeout"`
	UpscaleDelay          Duration `json:"upscale_delay"`
	DownscaleDelay        Duration `json:"downscale_delay"`
	Tick                  Duration `json:"tick"`
	LookBack              Duration `json:"look_back"`
	NumCPUs               float64  `json:"num_cpus"` // reserved per replica

	LastDecision Decision   `json:"last_decision"` // the latest decision, changed or not
	Decisions    []Decision `json:"decisions"`     // the latest changes, oldest first (up to 20)
}

// Status returns what Pool.Status reports for a pool of c that is not
// running: no replica, and the settings (defaults applied).
func (c Options) Status() Status {
	d := c.WithDefaults()
	return Status{
		Name:                  d.Name,
		Stopped:               true,
		Min:                   d.MinReplicas,
		Max:                   d.MaxReplicas,
		Autoscaler:            !d.DisableAutoscaler,
		MaxConcurrentQueries:  d.MaxConcurrentQueries,
		TargetOngoingRequests: d.TargetOngoingRequests,
		MaxQueuedRequests:     d.MaxQueuedRequests,
		RequestTimeout:        Duration(d.RequestTimeout),
		UpscaleDelay:          Duration(d.UpscaleDelay),
		DownscaleDelay:        Duration(d.DownscaleDelay),
		Tick:                  Duration(d.Tick),
		LookBack:              Duration(d.LookBack),
		NumCPUs:               d.NumCPUs,
		Decisions:             []Decision{},
	}
}

// Status returns a snapshot of the pool.
func (p *Pool) Status() Status {
	s := p.cfg.Status()
	p.mu.Lock()
	defer p.mu.Unlock()
	s.Desired = p.desired
	s.InFlight = p.inflight
	s.Queued = p.queue.n
	s.Stopped = p.state != poolRunning
	s.LastDecision = p.last
	if p.setupErr != nil {
		s.SetupError = p.setupErr.Error()
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
