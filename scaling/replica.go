package scaling

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
)

// replicaState is the life stage of a replica; guarded by Pool.mu.
type replicaState uint8

const (
	replicaStarting replicaState = iota // running Setup
	replicaReady                        // in routing
	replicaDraining                     // out of routing, finishing in-flight requests
	replicaStopped                      // torn down
)

// Replica is one worker of a pool, with its own resources. A request holds a
// slot of a replica between Acquire and Release.
type Replica struct {
	id   int
	pool *Pool

	// guarded by pool.mu
	inflight int
	state    replicaState
	reserved int64 // milli-CPUs reserved

	setupDone bool // Setup is over (or there is none): a drained replica may be torn down
	setUp     bool // Setup succeeded: Teardown must run
	finishing bool // its teardown has begun

	stop   chan struct{} // closed when the replica must leave
	ctx    context.Context
	cancel context.CancelFunc

	valMu  sync.Mutex
	values atomic.Pointer[map[any]any] // copy on write
}

// ID returns the replica's number, unique within its pool.
func (r *Replica) ID() int { return r.id }

// String returns the pool name and the replica number, for logs.
func (r *Replica) String() string { return r.pool.cfg.Name + "#" + strconv.Itoa(r.id) }

// Value returns the replica resource stored under key, or nil. It is safe for
// concurrent use and does not allocate.
func (r *Replica) Value(key any) any {
	m := r.values.Load()
	if m == nil {
		return nil
	}
	return (*m)[key]
}

// SetValue stores a replica resource under key, usually in Setup. Reads are
// cheap; writes copy the replica's small map, so set resources once.
func (r *Replica) SetValue(key, v any) {
	r.valMu.Lock()
	defer r.valMu.Unlock()
	old := r.values.Load()
	n := 1
	if old != nil {
		n += len(*old)
	}
	m := make(map[any]any, n)
	if old != nil {
		for k, x := range *old {
			m[k] = x
		}
	}
	m[key] = v
	r.values.Store(&m)
}

// Stopping returns a channel closed when the replica leaves routing (a
// scale-down or the pool's shutdown): calls holding its slots for a long
// time (a WebSocket, a stream) should finish.
func (r *Replica) Stopping() <-chan struct{} { return r.stop }
