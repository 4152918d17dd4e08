package registry

import (
	"context"
	"sync"
	"time"
)

// Memory is the in-process Registry, the embedded default. Leases expire on
// timers, so an idle Memory runs no goroutine.
type Memory struct {
	mu       sync.Mutex
	entries  map[string]*memEntry
	watchers map[chan struct{}]struct{}
	closed   bool
	done     chan struct{}
	now      func() time.Time
}

type memEntry struct {
	inst  Instance
	timer *time.Timer // nil without a lease
	gen   uint64      // bumped on every lease change, so a stale timer does nothing
}

var _ Registry = (*Memory)(nil)

// NewMemory returns an empty in-memory registry.
func NewMemory() *Memory {
	return &Memory{
		entries:  map[string]*memEntry{},
		watchers: map[chan struct{}]struct{}{},
		done:     make(chan struct{}),
		now:      time.Now,
	}
}

func memKey(service, id string) string { return service + "/" + id }

// Register adds or replaces an instance under a lease of ttl.
func (m *Memory) Register(_ context.Context, inst Instance, ttl time.Duration) error {
	if err := validate(inst.Service, inst.ID); err != nil {
		return err
	}
	inst = inst.clone()
	if inst.Status == "" {
		inst.Status = StatusUnknown
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	k := memKey(inst.Service, inst.ID)
	e := m.entries[k]
	if e == nil {
		e = &memEntry{}
		m.entries[k] = e
		if inst.RegisteredAt.IsZero() {
			inst.RegisteredAt = m.now().UTC()
		}
	} else if !e.inst.RegisteredAt.IsZero() {
		inst.RegisteredAt = e.inst.RegisteredAt
	}
	e.inst = inst
	m.lease(k, e, ttl)
	m.broadcast()
	return nil
}

// lease (re)arms the expiry timer of e. The caller holds m.mu.
func (m *Memory) lease(k string, e *memEntry, ttl time.Duration) {
	e.gen++
	if e.timer != nil {
		e.timer.Stop()
		e.timer = nil
	}
	if ttl <= 0 {
		return
	}
	gen := e.gen
	e.timer = time.AfterFunc(ttl, func() { m.expire(k, gen) })
}

func (m *Memory) expire(k string, gen uint64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if e := m.entries[k]; e != nil && e.gen == gen && !m.closed {
		delete(m.entries, k)
		m.broadcast()
	}
}

// Renew extends an instance's lease by ttl from now.
func (m *Memory) Renew(_ context.Context, service, id string, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	k := memKey(service, id)
	e := m.entries[k]
	if e == nil {
		return ErrNotFound
	}
	m.lease(k, e, ttl)
	return nil
}

// Deregister removes an instance.
func (m *Memory) Deregister(_ context.Context, service, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	k := memKey(service, id)
	e := m.entries[k]
	if e == nil {
		return ErrNotFound
	}
	if e.timer != nil {
		e.timer.Stop()
	}
	delete(m.entries, k)
	m.broadcast()
	return nil
}

// Get returns one instance.
func (m *Memory) Get(_ context.Context, service, id string) (Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return Instance{}, ErrClosed
	}
	e := m.entries[memKey(service, id)]
	if e == nil {
		return Instance{}, ErrNotFound
	}
	return e.inst.clone(), nil
}

// Find returns the instances of service, or of every service for "".
func (m *Memory) Find(_ context.Context, service string) ([]Instance, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrClosed
	}
	list := []Instance{}
	for _, e := range m.entries {
		if service == "" || e.inst.Service == service {
			list = append(list, e.inst.clone())
		}
	}
	sortInstances(list)
	return list, nil
}

// Services returns the names of the services with at least one instance.
func (m *Memory) Services(ctx context.Context) ([]string, error) {
	list, err := m.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	return serviceNames(list), nil
}

// URLMap returns the base URL of one routable instance per service.
func (m *Memory) URLMap(ctx context.Context) (map[string]string, error) {
	list, err := m.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	return urlMap(list), nil
}

// Watch reports changes to service ("" for all) until ctx is done.
func (m *Memory) Watch(ctx context.Context, service string) (<-chan Event, error) {
	sig := make(chan struct{}, 1)
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, ErrClosed
	}
	m.watchers[sig] = struct{}{}
	m.mu.Unlock()
	out := make(chan Event)
	w := watcher{
		find:   func(ctx context.Context) ([]Instance, error) { return m.Find(ctx, service) },
		notify: sig,
		done:   m.done,
		stop: func() {
			m.mu.Lock()
			delete(m.watchers, sig)
			m.mu.Unlock()
		},
	}
	go w.run(ctx, out)
	return out, nil
}

// broadcast wakes every watcher without blocking. The caller holds m.mu.
func (m *Memory) broadcast() {
	for sig := range m.watchers {
		select {
		case sig <- struct{}{}:
		default:
		}
	}
}

// Close stops every lease timer and ends every watch.
func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil
	}
	m.closed = true
	for _, e := range m.entries {
		if e.timer != nil {
			e.timer.Stop()
		}
	}
	close(m.done)
	return nil
}
