package service

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync"

	"github.com/replicaflow/replicaflow/scaling"
)

// Scope says how long a dependency's instance lives.
type Scope int

// The scopes of a dependency (BuildFlow's).
const (
	// ReplicaScope builds one instance per replica when the replica starts
	// and closes it when the replica stops. A replica takes traffic only
	// after its dependencies are built.
	ReplicaScope Scope = iota
	// RequestScope builds one instance per request, on first use, and
	// closes it when the request ends.
	RequestScope
	// GlobalScope builds one instance for the whole process, when the first
	// service that declares it starts; it is never closed by a service stop
	// (call Close when the program ends).
	GlobalScope
)

// Dependency is a typed resource a handler reaches from its ctx: a
// connection per replica, a transaction per request, a client for the
// process. Declare it with NewDependency; get it with Get.
type Dependency[T any] struct {
	scope Scope
	build func(ctx context.Context) (T, error)
	close func(T) error

	mu     sync.Mutex // global scope: guards value, ok and closed
	value  T
	ok     bool
	closed bool
}

// dep is the untyped face of a Dependency, for the service's lists.
type dep interface {
	buildAny(ctx context.Context) (any, error)
	closeAny(v any) error
	scopeOf() Scope
	ensureGlobal(ctx context.Context) error
}

type built struct {
	d dep
	v any
}

// NewDependency declares a dependency of svc with a constructor and an
// optional cleanup (close may be nil). A replica-scoped dependency whose
// build fails keeps the replica out of routing; the build is retried with
// backoff and the error logged. Dependencies must be declared before the
// service starts.
func NewDependency[T any](svc *Service, scope Scope, build func(ctx context.Context) (T, error), close func(T) error) *Dependency[T] {
	if build == nil {
		panic("replicaflow: " + svc.String() + ": dependency with a nil constructor")
	}
	d := &Dependency[T]{scope: scope, build: build, close: close}
	svc.lc.Lock()
	defer svc.lc.Unlock()
	if svc.State() == Running {
		panic("replicaflow: " + svc.String() + ": declare dependencies before the service starts")
	}
	svc.deps = append(svc.deps, d)
	return d
}

func (d *Dependency[T]) scopeOf() Scope { return d.scope }

// String names the dependency by its type, for errors and logs.
func (d *Dependency[T]) String() string { return reflect.TypeFor[T]().String() }

func (d *Dependency[T]) buildAny(ctx context.Context) (any, error) { return d.build(ctx) }

func (d *Dependency[T]) closeAny(v any) error {
	if d.close == nil {
		return nil
	}
	return d.close(v.(T))
}

func (d *Dependency[T]) ensureGlobal(ctx context.Context) error {
	_, err := d.global(ctx)
	return err
}

// global returns the global instance, building it if needed. The value is
// read under the lock: Close and a later rebuild may replace it.
func (d *Dependency[T]) global(ctx context.Context) (T, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.ok {
		return d.value, nil
	}
	v, err := d.build(ctx)
	if err != nil {
		var zero T
		return zero, err
	}
	d.value, d.ok, d.closed = v, true, false
	return v, nil
}

// ErrNoDependency is returned by Get when ctx is not a handler's context of
// the service that declared the dependency.
var ErrNoDependency = errors.New("replicaflow: dependency not available in this context")

// Get returns the dependency's instance for the replica or request that ctx
// belongs to (a handler's ctx). A request-scoped dependency is built on first
// use and its build error returned; once the request has ended (a goroutine
// that outlived its handler), Get returns ErrNoDependency for it.
func (d *Dependency[T]) Get(ctx context.Context) (T, error) {
	var zero T
	switch d.scope {
	case GlobalScope:
		return d.global(ctx)
	}
	c, _ := ctx.Value(callKey{}).(*call)
	if c == nil {
		return zero, ErrNoDependency
	}
	if d.scope == ReplicaScope {
		v, ok := c.replica.Value(d).(T)
		if !ok {
			return zero, ErrNoDependency
		}
		return v, nil
	}
	rd := c.deps.Load()
	if rd == nil {
		if fresh := new(requestDeps); c.deps.CompareAndSwap(nil, fresh) {
			rd = fresh
		} else {
			rd = c.deps.Load()
		}
	}
	rd.mu.Lock()
	defer rd.mu.Unlock()
	if rd.left {
		// The request has ended (a goroutine outlived the handler): an
		// instance built now would never be closed.
		return zero, ErrNoDependency
	}
	for _, b := range rd.list {
		if b.d == dep(d) {
			return b.v.(T), nil
		}
	}
	v, err := d.build(ctx)
	if err != nil {
		return zero, fmt.Errorf("build request dependency %s: %w", d, err)
	}
	rd.list = append(rd.list, built{d, v})
	return v, nil
}

// Close closes a global dependency's instance, if it was built. Replica and
// request instances are closed by their service.
func (d *Dependency[T]) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if !d.ok || d.closed || d.close == nil {
		return nil
	}
	d.closed, d.ok = true, false
	return d.close(d.value)
}

func (c *call) closeRequestDeps() {
	if c.deps.CompareAndSwap(nil, leftEmpty) {
		return // none was built, and none can be now
	}
	rd := c.deps.Load()
	rd.mu.Lock()
	defer rd.mu.Unlock()
	rd.left = true
	for i := len(rd.list) - 1; i >= 0; i-- {
		if err := closeSafely(rd.list[i]); err != nil {
			c.svc.Logger().Warn("closing a request dependency failed", "error", err)
		}
	}
	rd.list = nil
}

// closeSafely closes one instance, turning a panic of its close function
// into an error so the others are still closed.
func closeSafely(b built) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("close panicked: %v", p)
		}
	}()
	return b.d.closeAny(b.v)
}

func (s *Service) buildGlobals(ctx context.Context) error {
	for _, d := range s.deps {
		if d.scopeOf() == GlobalScope {
			if err := d.ensureGlobal(ctx); err != nil {
				return fmt.Errorf("build global dependency %s: %w", d, err)
			}
		}
	}
	return nil
}

// setupReplica builds the replica-scoped dependencies of a new replica.
func (s *Service) setupReplica(ctx context.Context, r *scaling.Replica) error {
	var done []built
	defer func() {
		if p := recover(); p != nil {
			closeAll(s, done) // the pool retries Setup: do not leak what was built
			panic(p)
		}
	}()
	for _, d := range s.deps {
		if d.scopeOf() != ReplicaScope {
			continue
		}
		v, err := d.buildAny(ctx)
		if err != nil {
			closeAll(s, done)
			return fmt.Errorf("build replica dependency %s: %w", d, err)
		}
		done = append(done, built{d, v})
		r.SetValue(d, v)
	}
	return nil
}

// hasReplicaDeps reports whether a replica has dependencies of its own to
// build. Dependencies are declared before the service starts.
func (s *Service) hasReplicaDeps() bool {
	for _, d := range s.deps {
		if d.scopeOf() == ReplicaScope {
			return true
		}
	}
	return false
}

// teardownReplica closes a replica's dependencies, last built first.
func (s *Service) teardownReplica(r *scaling.Replica) {
	var done []built
	for _, d := range s.deps {
		if d.scopeOf() == ReplicaScope {
			if v := r.Value(d); v != nil {
				done = append(done, built{d, v})
			}
		}
	}
	closeAll(s, done)
}

func closeAll(s *Service, done []built) {
	for i := len(done) - 1; i >= 0; i-- {
		if err := closeSafely(done[i]); err != nil {
			s.Logger().Warn("closing a replica dependency failed", "error", err)
		}
	}
}
