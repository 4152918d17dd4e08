package scaling

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Defaults applied by Options to its zero fields.
const (
	DefaultMaxConcurrentQueries  = 100
	DefaultTargetOngoingRequests = 1.0
	DefaultRequestTimeout        = 30 * time.Second
	DefaultTick                  = 100 * time.Millisecond
	DefaultLookBack              = 500 * time.Millisecond
	DefaultUpscaleDelay          = 200 * time.Millisecond
	DefaultDownscaleDelay        = 5 * time.Second

	// MinDefaultQueue and MaxDefaultQueue bound the default of MaxQueuedRequests.
	MinDefaultQueue = 100
	MaxDefaultQueue = 10000
)

// Options are the settings of one pool. Its zero value is a working
// pool: one replica, autoscaled between 1 and 1, 100 concurrent queries, a
// queue and no CPU reservation. A zero field takes its default (see
// WithDefaults); where zero is itself a meaningful setting, a boolean says
// so (ScaleToZero, DisableQueue). Validate states the rules.
type Options struct {
	// Name is the service name, used in logs and the status.
	Name string

	// NumReplicas is the number of replicas Start starts, and the number
	// held when the autoscaler is disabled (default MinReplicas).
	NumReplicas int
	// MinReplicas is the lower bound of the pool (default 1, or 0 with
	// ScaleToZero).
	MinReplicas int
	// MaxReplicas is the upper bound of the pool (default the largest of 1,
	// MinReplicas and NumReplicas).
	MaxReplicas int
	// ScaleToZero makes the minimum 0: with no load the pool stops every
	// replica, and the first request starts one again (a cold start).
	ScaleToZero bool

	// MaxConcurrentQueries is the capacity of one replica: it never runs more
	// requests at once (default 100).
	MaxConcurrentQueries int
	// TargetOngoingRequests is the number of ongoing requests per replica the
	// autoscaler aims for (default 1). It must not exceed MaxConcurrentQueries.
	TargetOngoingRequests float64

	// MaxQueuedRequests bounds the FIFO queue of requests waiting for a slot
	// (default 2 × MaxReplicas × MaxConcurrentQueries, kept within
	// [100, 10000]).
	MaxQueuedRequests int
	// DisableQueue turns the queue off: a request that finds no free slot
	// fails at once with ErrQueueFull.
	DisableQueue bool
	// RequestTimeout is the longest time a request waits in the queue
	// (default 30s); the request's context may end the wait sooner.
	RequestTimeout time.Duration

	// DisableAutoscaler holds NumReplicas instead of autoscaling. The zero
	// value keeps the autoscaler on, as BuildFlow's enable_autoscaler=True does.
	DisableAutoscaler bool

	// Tick is the period of the control loop that samples the load and runs
	// Decide (default 100ms).
	Tick time.Duration
	// LookBack is the window over which ongoing requests are averaged
	// (default 500ms).
	LookBack time.Duration
	// UpscaleDelay is how long the pool must consistently want more replicas
	// before it grows (default 200ms). A delay shorter than Tick acts at the
	// next tick.
	UpscaleDelay time.Duration
	// DownscaleDelay is how long the pool must consistently want fewer replicas,
	// and how long after its last change, before it shrinks (default 5s).
	DownscaleDelay time.Duration

	// NumCPUs is the CPU reservation of one replica against the shared CPUs
	// (default 0: replicas reserve nothing, and the pool grows to MaxReplicas
	// whatever the machine). A replica that does not fit stays pending.
	NumCPUs float64

	// Logger receives the pool's logs; decisions are logged at debug level
	// (default slog.Default()).
	Logger *slog.Logger

	// Setup builds a replica's resources (store them with Replica.SetValue).
	// A replica takes traffic only after Setup succeeds; an error is logged and
	// Setup is retried with backoff. While no replica is ready and the last
	// Setup failed, requests fail at once with ErrNotReady carrying that
	// error. If Setup fails it must release what it built itself: Teardown
	// runs only after a successful Setup. Its context is cancelled when the
	// replica stops.
	Setup func(ctx context.Context, r *Replica) error
	// Teardown releases a replica's resources. It runs exactly once per
	// replica whose Setup succeeded, after the replica left routing and its
	// in-flight requests finished.
	Teardown func(r *Replica)
}

// WithDefaults returns c with every zero field set to its default: the
// settings a pool of c runs with. Applying it twice changes nothing.
func (c Options) WithDefaults() Options {
	if c.MinReplicas == 0 && !c.ScaleToZero {
		c.MinReplicas = 1
	}
	if c.NumReplicas == 0 {
		c.NumReplicas = c.MinReplicas
	}
	if c.MaxReplicas == 0 {
		c.MaxReplicas = max(1, c.MinReplicas, c.NumReplicas)
	}
	if c.MaxConcurrentQueries == 0 {
		c.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if c.TargetOngoingRequests == 0 {
		c.TargetOngoingRequests = DefaultTargetOngoingRequests
	}
	if c.MaxQueuedRequests == 0 && !c.DisableQueue {
		q := 2 * max(c.MaxReplicas, 1) * max(c.MaxConcurrentQueries, 1)
		if q > MaxDefaultQueue || q <= 0 {
			q = MaxDefaultQueue
		}
		c.MaxQueuedRequests = max(q, MinDefaultQueue)
	}
	if c.RequestTimeout == 0 {
		c.RequestTimeout = DefaultRequestTimeout
	}
	if c.Tick == 0 {
		c.Tick = DefaultTick
	}
	if c.LookBack == 0 {
		c.LookBack = DefaultLookBack
	}
	if c.UpscaleDelay == 0 {
		c.UpscaleDelay = DefaultUpscaleDelay
	}
	if c.DownscaleDelay == 0 {
		c.DownscaleDelay = DefaultDownscaleDelay
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Validate reports every rule c breaks once its defaults are applied, or
// nil: the replica counts must satisfy 0 <= min <= num <= max and max >= 1
// (min is 0 only with ScaleToZero), the capacity must be at least 1 and
// the target in (0, capacity], and no count, delay, timeout or CPU
// reservation may be negative.
func (c Options) Validate() error {
	d := c.WithDefaults()
	var bad []string
	add := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	switch {
	case d.MinReplicas < 0:
		add("min replicas %d is negative", d.MinReplicas)
	case d.ScaleToZero && d.MinReplicas > 0:
		add("scale to zero with min replicas %d: the minimum is 0", d.MinReplicas)
	}
	switch {
	case d.MaxReplicas < 1:
		add("max replicas %d must be at least 1", d.MaxReplicas)
	case d.MinReplicas > d.MaxReplicas:
		add("min replicas %d is above max replicas %d", d.MinReplicas, d.MaxReplicas)
	case d.NumReplicas < d.MinReplicas || d.NumReplicas > d.MaxReplicas:
		add("num replicas %d is outside [min replicas %d, max replicas %d]", d.NumReplicas, d.MinReplicas, d.MaxReplicas)
	}
	switch {
	case d.MaxConcurrentQueries < 1:
		add("max concurrent queries %d must be at least 1", d.MaxConcurrentQueries)
	case !(d.TargetOngoingRequests > 0):
		add("target ongoing requests per replica %g must be above 0", d.TargetOngoingRequests)
	case d.TargetOngoingRequests > float64(d.MaxConcurrentQueries):
		add("target ongoing requests per replica %g is above max concurrent queries %d: the pool could never scale up",
			d.TargetOngoingRequests, d.MaxConcurrentQueries)
	}
	switch {
	case d.MaxQueuedRequests < 0:
		add("max queued requests %d is negative", d.MaxQueuedRequests)
	case d.DisableQueue && d.MaxQueuedRequests > 0:
		add("max queued requests %d with the queue disabled", d.MaxQueuedRequests)
	}
	for _, t := range []struct {
		name string
		d    time.Duration
	}{
		{"request timeout", d.RequestTimeout}, {"tick", d.Tick}, {"look-back", d.LookBack},
		{"upscale delay", d.UpscaleDelay}, {"downscale delay", d.DownscaleDelay},
	} {
		if t.d < 0 {
			add("%s %v is negative", t.name, t.d)
		}
	}
	if d.NumCPUs < 0 {
		add("num CPUs %g is negative", d.NumCPUs)
	}
	if len(bad) == 0 {
		return nil
	}
	return errors.New(strings.Join(bad, "; "))
}

// clamp bounds n to [MinReplicas, MaxReplicas].
func (c Options) clamp(n int) int {
	return min(max(n, c.MinReplicas), c.MaxReplicas)
}

// Duration is a time.Duration that reads and writes JSON as a string a
// person reads, like "200ms" or "1m30s". It also reads a number, as
// nanoseconds.
type Duration time.Duration

// String returns the duration as time.Duration prints it.
func (d Duration) String() string { return time.Duration(d).String() }

// MarshalJSON writes the duration as a string, like "200ms".
func (d Duration) MarshalJSON() ([]byte, error) {
	return []byte(`"` + time.Duration(d).String() + `"`), nil
}

// UnmarshalJSON reads a duration string (see time.ParseDuration) or a
// number of nanoseconds.
func (d *Duration) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		v, err := time.ParseDuration(s)
		if err != nil {
			return err
		}
		*d = Duration(v)
		return nil
	}
	var n int64
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("duration %s: want a string like \"200ms\"", b)
	}
	*d = Duration(n)
	return nil
}
