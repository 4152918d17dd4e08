package service

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/scaling"
)

// State is where a service is in its lifecycle.
type State string

// The states of a service. A service starts Initialized; Configure makes it
// Configured; Start goes through Starting to Running; Stop goes through
// Stopping to Stopped; a failed transition leaves it Failed with the cause
// in Err.
const (
	Initialized State = "initialized"
	Configured  State = "configured"
	Starting    State = "starting"
	Running     State = "running"
	Stopping    State = "stopping"
	Stopped     State = "stopped"
	Failed      State = "failed"
)

// TransitionError is returned for a lifecycle call the service's state does
// not allow (starting a running service, stopping a stopped one).
type TransitionError struct {
	Service string
	From    State
	Action  string
	Reason  string
}

// Error says which call the service refused and why.
func (e *TransitionError) Error() string {
	if e.Reason != "" {
		return fmt.Sprintf("service %q cannot %s: %s", e.Service, e.Action, e.Reason)
	}
	return fmt.Sprintf("service %q cannot %s while %s", e.Service, e.Action, e.From)
}

// StatusCode makes a TransitionError a 409 Conflict.
func (e *TransitionError) StatusCode() int { return http.StatusConflict }

// errUnavailable answers requests to a service that is not running.
type errUnavailable struct{ name string }

func (e errUnavailable) Error() string             { return fmt.Sprintf("service %q is not running", e.name) }
func (e errUnavailable) RetryAfter() time.Duration { return 5 * time.Second }

// State returns the service's lifecycle state.
func (s *Service) State() State { return *s.state.Load() }

// Err returns the error that made the service Failed, or nil.
func (s *Service) Err() error {
	s.info.Lock()
	defer s.info.Unlock()
	return s.err
}

func (s *Service) setState(st State, err error) {
	s.info.Lock()
	s.state.Store(&st)
	s.err = err
	s.info.Unlock()
	switch st {
	case Failed:
		s.Logger().Error("service failed", "error", err)
	case Running, Stopped:
		s.Logger().Info("service " + string(st))
	default:
		s.Logger().Debug("service " + string(st))
	}
}

// Start builds the service's replicas and routes requests to them. Replicas
// become ready as their dependencies are built; requests that come before
// wait in the queue, and while no replica is ready because their build
// fails, requests are answered 503 at once with the build error. Start is
// legal from every state but Running; a service that requires
// configuration must be configured first, and options that break a rule
// (see Options.Check) are refused. Transitions of one service are
// serialized.
func (s *Service) Start(ctx context.Context) error {
	s.lc.Lock()
	defer s.lc.Unlock()
	if err := s.opts.Check(); err != nil {
		return fmt.Errorf("%s: %w", s, err)
	}
	st := s.State()
	switch {
	case st == Running:
		return &TransitionError{Service: s.Name(), From: st, Action: "start"}
	case s.opts.RequireConfig && !s.configured:
		return &TransitionError{Service: s.Name(), From: st, Action: "start", Reason: "it must be configured first"}
	}
	s.setState(Starting, nil)
	if err := s.buildGlobals(ctx); err != nil {
		s.setState(Failed, err)
		return err
	}
	s.mu.Lock()
	cpus := s.cpus // attach sets it under mu
	s.mu.Unlock()
	pool := scaling.NewPool(s.poolOptions(), cpus)
	if err := pool.Start(ctx); err != nil {
		s.setState(Failed, err)
		return err
	}
	s.pool.Store(pool)
	s.setState(Running, nil)
	return nil
}

// Stop takes the service out of routing (new requests get 503), lets the
// requests in flight finish until ctx ends, and tears its replicas down. A
// stop that does not finish in time leaves the service in Error and says so.
func (s *Service) Stop(ctx context.Context) error {
	s.lc.Lock()
	defer s.lc.Unlock()
	st := s.State()
	pool := s.pool.Load()
	if pool == nil {
		return &TransitionError{Service: s.Name(), From: st, Action: "stop"}
	}
	s.setState(Stopping, nil)
	s.pool.Store(nil)
	if err := pool.Shutdown(ctx); err != nil {
		err = fmt.Errorf("replicas did not drain: %w", err)
		s.setState(Failed, err)
		return err
	}
	s.setState(Stopped, nil)
	return nil
}

// Ready returns nil when the service can take requests, else the reason,
// with the last replica build error if there is one.
func (s *Service) Ready() error {
	pool := s.pool.Load()
	if pool == nil {
		return fmt.Errorf("%s", s.State())
	}
	return notReady(pool.Status())
}

// notReady says why a pool with no ready replica cannot serve, or nil.
func notReady(st scaling.Status) error {
	switch {
	case st.Running > 0 || st.Min == 0:
		return nil
	case st.SetupError != "":
		return errors.New(scaling.ErrNotReady.Error() + ": " + st.SetupError)
	}
	return scaling.ErrNotReady
}

// Status is a snapshot of a service: its state, the error that keeps it
// from serving (a failed transition, or the build error of replicas none of
// which is ready) and its replicas with the settings they run with.
type Status struct {
	Name         string         `json:"name"`
	ID           string         `json:"service_id"`
	State        State          `json:"state"`
	Error        string         `json:"error,omitempty"`
	IsConfigured bool           `json:"is_configured"`
	Replicas     scaling.Status `json:"replicas"`
}

// Status returns a snapshot of the service and its replica pool.
func (s *Service) Status() Status {
	s.info.Lock()
	err, configured := s.err, s.configured
	s.info.Unlock()
	st := Status{Name: s.Name(), ID: s.ID(), State: s.State(), IsConfigured: configured}
	if pool := s.pool.Load(); pool != nil {
		st.Replicas = pool.Status()
		if st.Replicas.SetupError != "" {
			if e := notReady(st.Replicas); e != nil {
				st.Error = e.Error()
			}
		}
	} else {
		st.Replicas = s.opts.pool().Status()
	}
	if err != nil {
		st.Error = err.Error()
	}
	return st
}

func (s *Service) poolOptions() scaling.Options {
	cfg := s.opts.pool()
	cfg.Logger = s.poolLog.Load()
	if s.hasReplicaDeps() {
		// Without replica-scoped dependencies a replica has nothing to
		// build: the pool puts it in routing at once, with no goroutine.
		cfg.Setup = s.setupReplica
		cfg.Teardown = s.teardownReplica
	}
	return cfg
}

// call is the context a handler gets. Its deadline, cancellation and error
// are the request's own (net/http's: cancelled when the client goes away or
// the handler returns), so a goroutine that outlives the handler sees a
// context that is done rather than another request's. Values come from the
// gin context (which gin reuses: read them only while the handler runs),
// plus the replica the call runs on and its request-scoped dependencies.
type call struct {
	context.Context // the request's context
	gin             *gin.Context
	svc             *Service
	pool            *scaling.Pool
	replica         *scaling.Replica
	deps            atomic.Pointer[requestDeps] // made by the first Get of a request dependency
}

// requestDeps are the request-scoped dependencies one call built. Most calls
// build none, so a call makes them only when a handler asks.
type requestDeps struct {
	mu   sync.Mutex // a handler may Get from several goroutines
	list []built
	left bool // Leave has closed the list: no more may be built
}

// leftEmpty marks a call that left without building any request dependency.
var leftEmpty = &requestDeps{left: true}

type callKey struct{}

// Value returns the call itself for callKey, the gin context for
// gin.ContextKey and gin's keys, else the request context's values.
func (c *call) Value(key any) any {
	if key == (callKey{}) {
		return c
	}
	return c.gin.Value(key)
}

// host is the face a service shows its endpoints (endpoint.Host, and the
// drain signal WebSocket endpoints look for): the plumbing between them
// stays off the Service's API.
type host Service

// Enter admits a call onto one of the service's replicas: the least loaded
// replica with room, else a place in the bounded queue.
func (h *host) Enter(c *gin.Context) (context.Context, error) {
	s := (*Service)(h)
	pool := s.pool.Load()
	if pool == nil {
		return nil, errUnavailable{s.Name()}
	}
	r, err := pool.Acquire(c)
	if err != nil {
		if errors.Is(err, scaling.ErrStopped) {
			return nil, errUnavailable{s.Name()}
		}
		return nil, err
	}
	return &call{Context: c.Request.Context(), gin: c, svc: s, pool: pool, replica: r}, nil
}

// Leave ends a call admitted by Enter: it closes the call's request-scoped
// dependencies and frees its replica slot.
func (h *host) Leave(ctx context.Context) {
	c := ctx.(*call)
	defer c.pool.Release(c.replica) // even if a close panics: the slot must come back
	c.closeRequestDeps()
}

// Logger is the service's logger.
func (h *host) Logger() *slog.Logger { return (*Service)(h).Logger() }

// BodyBudget is the service's budget for request bodies (endpoint.Budget);
// nil when the options turn it off.
func (h *host) BodyBudget() *endpoint.Budget { return h.budget }

// Draining returns a channel closed when the replica that ctx's call (a
// handler's context) runs on leaves routing, by a scale-down or a stop; nil
// for another context.
func (h *host) Draining(ctx context.Context) <-chan struct{} {
	if c, _ := ctx.Value(callKey{}).(*call); c != nil {
		return c.replica.Stopping()
	}
	return nil
}
