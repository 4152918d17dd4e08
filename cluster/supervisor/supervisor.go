// Package supervisor is PicoAPI's supervisor done right: it accepts worker
// registrations by PUT and POST, health-checks each instance at its
// interval, marks it unhealthy after consecutive failures and healthy again
// after successes, removes it after a grace period, and serves the status
// and the combined OpenAPI documents of its workers. It keeps its
// instances in a registry.Registry (memory or Redis).
package supervisor

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/replicaflow/replicaflow/registry"
)

// Options configures a Supervisor. Zero values take the defaults.
type Options struct {
	// Registry holds the instances; default registry.NewMemory().
	Registry registry.Registry
	// Token protects registration and deregistration; empty means loopback
	// clients only.
	Token string
	// RegisterPath is where workers register (default "/register").
	RegisterPath string
	// Failures is how many consecutive failed checks make an instance
	// unhealthy (default 3).
	Failures int
	// Successes is how many consecutive passed checks make an unhealthy
	// instance healthy again (default 2).
	Successes int
	// Grace is how long an instance stays unhealthy before it is removed
	// (default 1 minute).
	Grace time.Duration
	// DefaultInterval is the check interval of a registration without one
	// (default 30s).
	DefaultInterval time.Duration
	// MinInterval is the shortest interval honoured (default 1s), so a
	// registration cannot make the supervisor poll in a tight loop.
	MinInterval time.Duration
	// Timeout bounds one health check (default 3s).
	Timeout time.Duration
	// LeaseTTL is the shortest registry lease the supervisor keeps on each
	// instance (default 1 minute; at least three check intervals), so the
	// entries of a supervisor that died expire.
	LeaseTTL time.Duration
	// Client makes the health checks and OpenAPI fetches; default a client
	// that follows no redirects.
	Client *http.Client
	// Logger receives status changes; default slog.Default().
	Logger *slog.Logger
}

// Supervisor accepts registrations and health-checks the instances. It is
// an http.Handler.
type Supervisor struct {
	opts  Options
	mux   *http.ServeMux
	owned bool // the registry was made here and is closed by Close

	ownMu sync.Mutex // serializes the ownership checks of register and deregister

	mu       sync.Mutex
	checkers map[string]*checker
	closed   bool
	wg       sync.WaitGroup
}

// New returns a supervisor. It checks nothing until instances register or
// Start adopts those already in the registry.
func New(opts Options) *Supervisor {
	s := &Supervisor{checkers: map[string]*checker{}}
	if opts.Registry == nil {
		opts.Registry = registry.NewMemory()
		s.owned = true
	}
	if opts.RegisterPath == "" {
		opts.RegisterPath = "/register"
	}
	opts.RegisterPath = "/" + strings.Trim(opts.RegisterPath, "/")
	if opts.Failures <= 0 {
		opts.Failures = 3
	}
	if opts.Successes <= 0 {
		opts.Successes = 2
	}
	if opts.Grace <= 0 {
		opts.Grace = time.Minute
	}
	if opts.DefaultInterval <= 0 {
		opts.DefaultInterval = 30 * time.Second
	}
	if opts.MinInterval <= 0 {
		opts.MinInterval = time.Second
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 3 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = time.Minute
	}
	if opts.Client == nil {
		opts.Client = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s.opts = opts
	s.routes()
	return s
}

// Registry returns the registry the supervisor keeps its instances in.
func (s *Supervisor) Registry() registry.Registry { return s.opts.Registry }

// ServeHTTP serves the supervisor's API.
func (s *Supervisor) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// Start adopts the instances already in the registry (after a restart with
// Redis) and health-checks them.
func (s *Supervisor) Start(ctx context.Context) error {
	list, err := s.opts.Registry.Find(ctx, "")
	if err != nil {
		return err
	}
	for _, inst := range list {
		s.track(inst)
	}
	return nil
}

// Close stops every health check. The registry's entries are left to
// their leases; a registry made by New is closed.
func (s *Supervisor) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	for _, c := range s.checkers {
		c.cancel()
	}
	s.mu.Unlock()
	s.wg.Wait()
	if s.owned {
		return s.opts.Registry.Close()
	}
	return nil
}

func (s *Supervisor) interval(inst registry.Instance) time.Duration {
	d := inst.HealthInterval
	if d <= 0 {
		d = s.opts.DefaultInterval
	}
	if d < s.opts.MinInterval {
		d = s.opts.MinInterval
	}
	return d
}

func (s *Supervisor) lease(inst registry.Instance) time.Duration {
	if l := 3 * s.interval(inst); l > s.opts.LeaseTTL {
		return l
	}
	return s.opts.LeaseTTL
}

// registered is what a registration earned.
type registered struct {
	created bool   // the instance is new
	secret  string // the instance's secret, when the registrant owns it
}

// register stores inst and (re)starts its checker. A new instance, or one
// nobody owns, gets a fresh secret; an owned one may be replaced by the
// holder of its secret, or by anyone when nothing about where it is reached
// and checked changes (a worker restarted at the same address); any other
// replacement is errNotOwner.
func (s *Supervisor) register(ctx context.Context, inst registry.Instance, secret string) (registered, error) {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	var out registered
	old, err := s.opts.Registry.Get(ctx, inst.Service, inst.ID)
	gone := errors.Is(err, registry.ErrNotFound) || errors.Is(err, registry.ErrSealed) || errors.Is(err, registry.ErrStale)
	switch {
	case err != nil && !gone:
		return out, err
	case gone || old.Owner == "":
		out.created = gone
		out.secret = newSecret()
		inst.Owner = hashSecret(out.secret)
	case ownedBy(old, secret):
		out.secret = secret
		inst.Owner = old.Owner
	case sameEndpoint(old, inst):
		inst.Owner = old.Owner
	default:
		return out, errNotOwner
	}
	inst.Status = registry.StatusUnknown
	inst.RegisteredAt = time.Time{}
	s.untrack(inst.Service + "/" + inst.ID) // no stale check may overwrite the new entry
	if err := s.opts.Registry.Register(ctx, inst, s.lease(inst)); err != nil {
		return registered{}, err
	}
	if stored, err := s.opts.Registry.Get(ctx, inst.Service, inst.ID); err == nil {
		inst = stored
	}
	s.track(inst)
	return out, nil
}

// deregister stops checking an instance and removes it; an owned instance
// only for the holder of its secret (errNotOwner otherwise).
func (s *Supervisor) deregister(ctx context.Context, service, id, secret string) error {
	s.ownMu.Lock()
	defer s.ownMu.Unlock()
	old, err := s.opts.Registry.Get(ctx, service, id)
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return err
	case err == nil && old.Owner != "" && !ownedBy(old, secret):
		return errNotOwner
	}
	// An entry that cannot be read (tampered with, or past its sealed
	// expiry) proves no owner: it may be removed.
	s.untrack(service + "/" + id)
	return s.opts.Registry.Deregister(ctx, service, id)
}

// track starts (or restarts) the checker of inst.
func (s *Supervisor) track(inst registry.Instance) {
	k := inst.Service + "/" + inst.ID
	s.untrack(k)
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if old := s.checkers[k]; old != nil { // a concurrent track won; replace it
		old.cancel()
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &checker{s: s, key: k, inst: inst, cancel: cancel, h: health{status: registry.StatusUnknown, since: time.Now()}}
	if inst.Status == registry.StatusHealthy || inst.Status == registry.StatusUnhealthy {
		c.h.status = inst.Status
	}
	s.checkers[k] = c
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		c.run(ctx)
	}()
}

func (s *Supervisor) untrack(k string) {
	s.mu.Lock()
	c := s.checkers[k]
	delete(s.checkers, k)
	s.mu.Unlock()
	if c != nil {
		c.stop()
	}
}

// forget removes a checker only if it is still the current one for its key.
func (s *Supervisor) forget(c *checker) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.checkers[c.key] == c {
		delete(s.checkers, c.key)
	}
}

func (s *Supervisor) tracked(k string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.checkers[k] != nil
}

// snapshot returns the health of an instance, if checked here.
func (s *Supervisor) snapshot(k string) (health, bool) {
	s.mu.Lock()
	c := s.checkers[k]
	s.mu.Unlock()
	if c == nil {
		return health{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.h, true
}
