package registry

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Errors returned by every backend.
var (
	// ErrNotFound is returned for an instance the registry does not hold.
	ErrNotFound = errors.New("registry: instance not found")
	// ErrInvalid is returned for an instance without a service name or ID,
	// or with a name or ID the registry cannot store.
	ErrInvalid = errors.New("registry: invalid instance")
	// ErrClosed is returned by a registry after Close.
	ErrClosed = errors.New("registry: closed")
)

// Registry holds the instances of every service. All methods are safe for
// concurrent use.
type Registry interface {
	// Register adds or replaces an instance under a lease of ttl; ttl <= 0
	// means the entry lives until it is deregistered. RegisteredAt is kept
	// from an earlier registration of the same instance, or set to now.
	Register(ctx context.Context, inst Instance, ttl time.Duration) error
	// Renew extends the lease of an instance by ttl from now. It returns
	// ErrNotFound when the instance is not registered (or has expired).
	Renew(ctx context.Context, service, id string, ttl time.Duration) error
	// Deregister removes an instance; ErrNotFound when it is not there.
	Deregister(ctx context.Context, service, id string) error
	// Get returns one instance.
	Get(ctx context.Context, service, id string) (Instance, error)
	// Find returns the instances of service sorted by ID, or of every
	// service (sorted by service, then ID) when service is "".
	Find(ctx context.Context, service string) ([]Instance, error)
	// Services returns the names of the services with at least one instance.
	Services(ctx context.Context) ([]string, error)
	// URLMap returns, for each service with a routable instance, the base
	// URL of its longest-registered routable instance (apicrud's url_map).
	URLMap(ctx context.Context) (map[string]string, error)
	// Watch returns a channel of changes to service (every service when
	// ""). It first sends EventRegistered for each instance present, then
	// one event per change seen; changes in quick succession may be
	// coalesced into one. The channel is closed when ctx is done or the
	// registry is closed, and no goroutine is left behind.
	Watch(ctx context.Context, service string) (<-chan Event, error)
	// Close releases the registry's resources. Entries under a lease are
	// left to expire.
	Close() error
}

// EventType says what happened to an instance.
type EventType string

// The kinds of events a watch reports.
const (
	// EventRegistered reports an instance that appeared.
	EventRegistered EventType = "registered"
	// EventUpdated reports an instance whose entry changed (status, tags...).
	EventUpdated EventType = "updated"
	// EventRemoved reports an instance that was deregistered or expired.
	EventRemoved EventType = "removed"
)

// Event is one change seen by Watch.
type Event struct {
	// Type says what happened.
	Type EventType `json:"type"`
	// Instance is the instance as it is now (or was, for EventRemoved).
	Instance Instance `json:"instance"`
}

// validate checks an instance's names; they end up in keys and paths.
func validate(service, id string) error {
	bad := service == "" || id == "" || len(service) > 255 || len(id) > 255 ||
		strings.ContainsAny(service, "/:{} \x00\r\n") || strings.ContainsAny(id, "/ \x00\r\n")
	if bad {
		return fmt.Errorf("%w: service %q, id %q", ErrInvalid, service, id)
	}
	return nil
}

// sortInstances orders by service, then ID.
func sortInstances(list []Instance) {
	sort.Slice(list, func(a, b int) bool {
		if list[a].Service != list[b].Service {
			return list[a].Service < list[b].Service
		}
		return list[a].ID < list[b].ID
	})
}

// urlMap builds URLMap's answer from a list of instances.
func urlMap(list []Instance) map[string]string {
	best := map[string]Instance{}
	for _, inst := range list {
		if !inst.Routable() {
			continue
		}
		cur, ok := best[inst.Service]
		if !ok || inst.RegisteredAt.Before(cur.RegisteredAt) ||
			(inst.RegisteredAt.Equal(cur.RegisteredAt) && inst.ID < cur.ID) {
			best[inst.Service] = inst
		}
	}
	m := make(map[string]string, len(best))
	for name, inst := range best {
		m[name] = inst.BaseURL()
	}
	return m
}

// serviceNames returns the distinct service names of a sorted instance list.
func serviceNames(list []Instance) []string {
	names := []string{}
	for _, inst := range list {
		if len(names) == 0 || names[len(names)-1] != inst.Service {
			names = append(names, inst.Service)
		}
	}
	return names
}
