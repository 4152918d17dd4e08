package dashboard

import (
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/service"
)

// Source is what a dashboard watches: a flow, or anything else that lists
// services.
type Source interface {
	Services() []*service.Service
}

// Dashboard is the live page of a set of services, with its sampler. Make
// one with New, serve Handler under Path, and Start the sampler.
type Dashboard struct {
	cfg config
	src Source

	mu     sync.Mutex
	seq    uint64
	tracks map[string]*track // by service name

	runMu sync.Mutex
	stop  chan struct{}
	done  chan struct{}
}

// New returns a dashboard of the services src lists. It panics when src is
// nil.
func New(src Source, opts ...Option) *Dashboard {
	if src == nil {
		panic("replicaflow: dashboard.New: nil source")
	}
	cfg := defaultConfig()
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.window < cfg.interval {
		cfg.window = cfg.interval
	}
	return &Dashboard{cfg: cfg, src: src, tracks: map[string]*track{}}
}

// Path returns the path the dashboard is served under, like "/dashboard".
func (d *Dashboard) Path() string { return d.cfg.path }

// Start starts the sampler, which reads the services every interval until
// Close. Starting a started dashboard does nothing.
func (d *Dashboard) Start() {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	if d.stop != nil {
		return
	}
	d.stop, d.done = make(chan struct{}), make(chan struct{})
	d.sample(time.Now())
	go d.loop(d.stop, d.done)
}

// Close stops the sampler and waits for it to end. The handler keeps
// serving the status as of the last sample. Closing a dashboard that is not
// started does nothing.
func (d *Dashboard) Close() {
	d.runMu.Lock()
	defer d.runMu.Unlock()
	if d.stop == nil {
		return
	}
	close(d.stop)
	<-d.done
	d.stop, d.done = nil, nil
}

func (d *Dashboard) loop(stop <-chan struct{}, done chan<- struct{}) {
	defer close(done)
	t := time.NewTicker(d.cfg.interval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case now := <-t.C:
			d.sample(now)
		}
	}
}
