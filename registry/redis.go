package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Registry shared between processes through Redis, after
// apicrud's service registry, done right:
//
//   - each instance is one key, prefix{service}:i:id, written with SET PX
//     so it expires with its lease;
//   - each service has a SET of its instance IDs, and a SET holds the
//     service names, so Find reads an index and never scans the keyspace;
//   - every value is sealed with AES-256-GCM under a key derived from the
//     secret, bound to its key name and carrying its expiry, so a value
//     copied under another key, altered or replayed is rejected (and a value
//     sealed with another secret is skipped, which lets several clusters
//     share one Redis);
//   - the process that registered an instance re-writes it every refresh
//     interval while its lease runs, so a Redis restart or a FLUSHALL is
//     healed within one interval.
type Redis struct {
	client  redis.UniversalClient
	sealer  *Sealer
	prefix  string
	refresh time.Duration
	poll    time.Duration

	mu     sync.Mutex
	local  map[string]localEntry // instances registered by this process
	closed bool
	done   chan struct{}
	wg     sync.WaitGroup
}

type localEntry struct {
	inst    Instance
	expires time.Time // zero: no lease
}

var _ Registry = (*Redis)(nil)

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithPrefix sets the prefix of every key (default "replicaflow:reg:"), so
// several registries can share one Redis database.
func WithPrefix(prefix string) RedisOption { return func(r *Redis) { r.prefix = prefix } }

// WithRefreshInterval sets how often this process re-writes the entries it
// registered (default 10s): the longest a flushed entry stays missing.
func WithRefreshInterval(d time.Duration) RedisOption {
	return func(r *Redis) {
		if d > 0 {
			r.refresh = d
		}
	}
}

// WithPollInterval sets how often a watch lists the instances again to
// notice expiries and missed notifications (default: the refresh interval).
func WithPollInterval(d time.Duration) RedisOption {
	return func(r *Redis) {
		if d > 0 {
			r.poll = d
		}
	}
}

// NewRedis returns a registry stored in Redis through client. secret seals
// the entries; there is no default and it must be at least MinSecretLen
// bytes. The caller keeps ownership of client.
func NewRedis(client redis.UniversalClient, secret []byte, opts ...RedisOption) (*Redis, error) {
	if client == nil {
		return nil, errors.New("registry: nil Redis client")
	}
	sealer, err := NewSealer(secret, "registry")
	if err != nil {
		return nil, err
	}
	r := &Redis{
		client:  client,
		sealer:  sealer,
		prefix:  "replicaflow:reg:",
		refresh: 10 * time.Second,
		local:   map[string]localEntry{},
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(r)
	}
	if r.poll == 0 {
		r.poll = r.refresh
	}
	r.wg.Add(1)
	go r.refresher()
	return r, nil
}

func (r *Redis) entryKey(service, id string) string {
	return r.prefix + "{" + service + "}:i:" + id
}
func (r *Redis) indexKey(service string) string { return r.prefix + "{" + service + "}:idx" }
func (r *Redis) servicesKey() string            { return r.prefix + "services" }
func (r *Redis) eventsChannel() string          { return r.prefix + "events" }

// write seals inst under its key with the given expiry and indexes it.
func (r *Redis) write(ctx context.Context, inst Instance, expires time.Time) error {
	var px time.Duration
	if !expires.IsZero() {
		px = time.Until(expires)
		if px < time.Millisecond {
			return nil // the lease is over; let it expire
		}
	}
	data, err := json.Marshal(inst)
	if err != nil {
		return err
	}
	k := r.entryKey(inst.Service, inst.ID)
	val := r.sealer.Seal(k, data, expires)
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, k, val, px)
		p.SAdd(ctx, r.indexKey(inst.Service), inst.ID)
		p.SAdd(ctx, r.servicesKey(), inst.Service)
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: writing %s/%s: %w", inst.Service, inst.ID, err)
	}
	return nil
}

func (r *Redis) publish(ctx context.Context, service string) {
	// A lost notification is caught by the watchers' next poll.
	_ = r.client.Publish(ctx, r.eventsChannel(), service).Err()
}

// Register seals and writes an instance under a lease of ttl, and keeps it
// alive against flushes while the lease runs.
func (r *Redis) Register(ctx context.Context, inst Instance, ttl time.Duration) error {
	if err := validate(inst.Service, inst.ID); err != nil {
		return err
	}
	inst = inst.clone()
	if inst.Status == "" {
		inst.Status = StatusUnknown
	}
	k := r.entryKey(inst.Service, inst.ID)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	prev, isLocal := r.local[k]
	r.mu.Unlock()
	switch {
	case isLocal && !prev.inst.RegisteredAt.IsZero():
		inst.RegisteredAt = prev.inst.RegisteredAt
	default:
		if old, err := r.Get(ctx, inst.Service, inst.ID); err == nil && !old.RegisteredAt.IsZero() {
			inst.RegisteredAt = old.RegisteredAt
		} else if inst.RegisteredAt.IsZero() {
			inst.RegisteredAt = time.Now().UTC()
		}
	}
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	r.mu.Lock()
	r.local[k] = localEntry{inst: inst, expires: expires}
	r.mu.Unlock()
	if err := r.write(ctx, inst, expires); err != nil {
		return err
	}
	r.publish(ctx, inst.Service)
	return nil
}

// Renew extends the lease of an instance by ttl from now; it re-writes the
// entry, so an instance this process registered survives a flush.
func (r *Redis) Renew(ctx context.Context, service, id string, ttl time.Duration) error {
	if err := validate(service, id); err != nil {
		return ErrNotFound
	}
	var expires time.Time
	if ttl > 0 {
		expires = time.Now().Add(ttl)
	}
	k := r.entryKey(service, id)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	le, isLocal := r.local[k]
	if isLocal {
		if !le.expires.IsZero() && !time.Now().Before(le.expires) {
			delete(r.local, k)
			isLocal = false
		} else {
			le.expires = expires
			r.local[k] = le
		}
	}
	r.mu.Unlock()
	if isLocal {
		return r.write(ctx, le.inst, expires)
	}
	inst, err := r.Get(ctx, service, id)
	if err != nil {
		return err
	}
	return r.write(ctx, inst, expires)
}

// Deregister removes an instance and stops keeping it alive.
func (r *Redis) Deregister(ctx context.Context, service, id string) error {
	if err := validate(service, id); err != nil {
		return ErrNotFound
	}
	k := r.entryKey(service, id)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	_, isLocal := r.local[k]
	delete(r.local, k)
	r.mu.Unlock()
	var del *redis.IntCmd
	_, err := r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		del = p.Del(ctx, k)
		p.SRem(ctx, r.indexKey(service), id)
		return nil
	})
	if err != nil {
		return fmt.Errorf("registry: deleting %s/%s: %w", service, id, err)
	}
	r.publish(ctx, service)
	if del.Val() == 0 && !isLocal {
		return ErrNotFound
	}
	return nil
}

// Get reads and opens one instance. A value that does not open under its
// key is reported as ErrSealed (or ErrStale for a replayed expired value).
func (r *Redis) Get(ctx context.Context, service, id string) (Instance, error) {
	if err := validate(service, id); err != nil {
		return Instance{}, ErrNotFound
	}
	k := r.entryKey(service, id)
	val, err := r.client.Get(ctx, k).Bytes()
	if errors.Is(err, redis.Nil) {
		return Instance{}, ErrNotFound
	}
	if err != nil {
		return Instance{}, fmt.Errorf("registry: reading %s/%s: %w", service, id, err)
	}
	return r.open(k, service, id, val)
}

func (r *Redis) open(k, service, id string, val []byte) (Instance, error) {
	data, _, err := r.sealer.Open(k, val, time.Now())
	if err != nil {
		return Instance{}, err
	}
	var inst Instance
	if err := json.Unmarshal(data, &inst); err != nil {
		return Instance{}, ErrSealed
	}
	if inst.Service != service || inst.ID != id {
		return Instance{}, ErrSealed
	}
	return inst, nil
}

// Find lists instances through the per-service index; stale index members
// (expired keys) are removed as they are found.
func (r *Redis) Find(ctx context.Context, service string) ([]Instance, error) {
	if service != "" {
		list, err := r.findService(ctx, service)
		if list == nil {
			list = []Instance{}
		}
		return list, err
	}
	names, err := r.client.SMembers(ctx, r.servicesKey()).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: listing services: %w", err)
	}
	all := []Instance{}
	for _, name := range names {
		list, err := r.findService(ctx, name)
		if err != nil {
			return nil, err
		}
		if len(list) == 0 {
			r.dropEmptyService(ctx, name)
		}
		all = append(all, list...)
	}
	sortInstances(all)
	return all, nil
}

func (r *Redis) findService(ctx context.Context, service string) ([]Instance, error) {
	if validate(service, "x") != nil {
		return nil, nil
	}
	ids, err := r.client.SMembers(ctx, r.indexKey(service)).Result()
	if err != nil {
		return nil, fmt.Errorf("registry: reading index of %s: %w", service, err)
	}
	if len(ids) == 0 {
		return nil, nil
	}
	cmds := make([]*redis.StringCmd, len(ids))
	_, err = r.client.Pipelined(ctx, func(p redis.Pipeliner) error {
		for i, id := range ids {
			cmds[i] = p.Get(ctx, r.entryKey(service, id))
		}
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("registry: reading %s: %w", service, err)
	}
	list := make([]Instance, 0, len(ids))
	for i, id := range ids {
		val, err := cmds[i].Bytes()
		if errors.Is(err, redis.Nil) {
			r.dropStale(ctx, service, id)
			continue
		}
		if err != nil {
			continue
		}
		inst, err := r.open(r.entryKey(service, id), service, id, val)
		if err != nil {
			continue // rejected: altered, copied, replayed or another secret
		}
		list = append(list, inst)
	}
	sortInstances(list)
	return list, nil
}

// dropStaleScript removes an index member whose key is gone, atomically,
// so it never undoes a concurrent registration.
var dropStaleScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[1]) == 0 then
  return redis.call('SREM', KEYS[2], ARGV[1])
end
return 0`)

func (r *Redis) dropStale(ctx context.Context, service, id string) {
	_ = dropStaleScript.Run(ctx, r.client, []string{r.entryKey(service, id), r.indexKey(service)}, id).Err()
}

// dropEmptyService removes a service name whose index is empty. A
// registration racing with it is restored by its next refresh.
func (r *Redis) dropEmptyService(ctx context.Context, service string) {
	if n, err := r.client.SCard(ctx, r.indexKey(service)).Result(); err == nil && n == 0 {
		_ = r.client.SRem(ctx, r.servicesKey(), service).Err()
	}
}

// Services returns the names of the services with at least one instance.
func (r *Redis) Services(ctx context.Context) ([]string, error) {
	list, err := r.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	return serviceNames(list), nil
}

// URLMap returns the base URL of one routable instance per service.
func (r *Redis) URLMap(ctx context.Context) (map[string]string, error) {
	list, err := r.Find(ctx, "")
	if err != nil {
		return nil, err
	}
	return urlMap(list), nil
}

// Watch reports changes to service ("" for all), woken by Redis pub/sub
// and by a poll that notices expiries.
func (r *Redis) Watch(ctx context.Context, service string) (<-chan Event, error) {
	r.mu.Lock()
	closed := r.closed
	r.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	ps := r.client.Subscribe(ctx, r.eventsChannel())
	if _, err := ps.Receive(ctx); err != nil { // wait for the subscription
		_ = ps.Close()
		return nil, fmt.Errorf("registry: subscribing: %w", err)
	}
	msgs := ps.Channel()
	sig := make(chan struct{}, 1)
	fwdDone := make(chan struct{})
	go func() {
		defer close(fwdDone)
		for m := range msgs {
			if service == "" || m.Payload == service {
				select {
				case sig <- struct{}{}:
				default:
				}
			}
		}
	}()
	out := make(chan Event)
	w := watcher{
		find:   func(ctx context.Context) ([]Instance, error) { return r.Find(ctx, service) },
		notify: sig,
		poll:   r.poll,
		done:   r.done,
		stop: func() {
			_ = ps.Close()
			<-fwdDone
		},
	}
	go w.run(ctx, out)
	return out, nil
}

// refresher re-writes this process's live entries every refresh interval.
func (r *Redis) refresher() {
	defer r.wg.Done()
	t := time.NewTicker(r.refresh)
	defer t.Stop()
	for {
		select {
		case <-r.done:
			return
		case <-t.C:
			r.refreshOnce()
		}
	}
}

func (r *Redis) refreshOnce() {
	now := time.Now()
	r.mu.Lock()
	live := make([]localEntry, 0, len(r.local))
	for k, le := range r.local {
		if !le.expires.IsZero() && !now.Before(le.expires) {
			delete(r.local, k)
			continue
		}
		live = append(live, le)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), r.refresh)
	defer cancel()
	for _, le := range live {
		_ = r.write(ctx, le.inst, le.expires) // retried next interval
	}
}

// Close stops the refresher and ends every watch; entries with a lease
// expire on their own, entries without one stay.
func (r *Redis) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	close(r.done)
	r.mu.Unlock()
	r.wg.Wait()
	return nil
}
