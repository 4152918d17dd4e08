package scaling

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// Defaults applied by Config to its zero fields.
const (
	DefaultMaxConcurrentQueries  = 100
	DefaultTargetOngoingRequests = 1.0
	DefaultRequestTimeout        = 30 * time.Second
	DefaultTick                  = 100 * time.Millisecond
	DefaultLookBack              = 500 * time.Millisecond
	DefaultUpscaleDelay          = 200 * time.Millisecond
	DefaultDownscaleDelay        = 5 * time.Second
	DefaultNumCPUs               = 1.0

	// MinDefaultQueue and MaxDefaultQueue bound the default of MaxQueuedRequests.
	MinDefaultQueue = 100
	MaxDefaultQueue = 10000
)

// Config is the configuration of one pool. A zero field gets its default;
// for the fields where zero is a meaningful value, a negative value means
// zero (or "none"), as documented on each field.
type Config struct {
	// Name is the service name, used in logs.
	Name string

	// MinReplicas is the lower bound of the pool (default 1; negative means 0,
	// which lets the pool scale to zero).
	MinReplicas int
	// MaxReplicas is the upper bound of the pool (default max(1, MinReplicas)).
	MaxReplicas int
	// InitialReplicas is the number of replicas started by Start, and the number
	// held when the autoscaler is disabled (default MinReplicas; negative means 0).
	InitialReplicas int

	// MaxConcurrentQueries is the capacity of one replica: it never runs more
	// requests at once (default 100).
	MaxConcurrentQueries int
	// TargetOngoingRequests is the number of ongoing requests per replica the
	// autoscaler aims for (default 1). It must not exceed MaxConcurrentQueries.
	TargetOngoingRequests float64

	// MaxQueuedRequests bounds the FIFO queue of requests waiting for a slot
	// (default 2 × MaxReplicas × MaxConcurrentQueries, kept within [100, 10000]; negative
	// means no queue: a request that finds no free slot fails at once).
	MaxQueuedRequests int
	// RequestTimeout is the longest time a request waits in the queue
	// (default 30s; negative means no limit other than the request's context).
	RequestTimeout time.Duration

	// DisableAutoscaler holds InitialReplicas instead of autoscaling. The zero
	// value keeps the autoscaler on, as BuildFlow's enable_autoscaler=True does.
	DisableAutoscaler bool

	// Tick is the period of the control loop that samples the load and runs
	// Decide (default 100ms).
	Tick time.Duration
	// LookBack is the window over which ongoing requests are averaged
	// (default 500ms).
	LookBack time.Duration
	// UpscaleDelay is how long the pool must consistently want more replicas
	// before it grows (default 200ms; negative means at once).
	UpscaleDelay time.Duration
	// DownscaleDelay is how long the pool must consistently want fewer replicas,
	// and how long after its last change, before it shrinks (default 5s;
	// negative means at once).
	DownscaleDelay time.Duration

	// NumCPUs is the CPU reservation of one replica against the shared CPUs
	// (default 1; negative means no reservation).
	NumCPUs float64

	// Logger receives the pool's logs; decisions are logged at debug level
	// (default slog.Default()).
	Logger *slog.Logger

	// Setup builds a replica's resources (store them with Replica.SetValue).
	// A replica takes traffic only after Setup succeeds; an error is logged and
	// Setup is retried with backoff. If Setup fails it must release what it
	// built itself: Teardown runs only after a successful Setup. Its context
	// is cancelled when the replica stops.
	Setup func(ctx context.Context, r *Replica) error
	// Teardown releases a replica's resources. It runs exactly once per
	// replica whose Setup succeeded, after the replica left routing and its
	// in-flight requests finished.
	Teardown func(r *Replica)

	// Clock is the time source (default the real clock); tests inject one.
	Clock Clock

	// normalized marks a Config whose defaults are applied, so that applying
	// them again keeps the zeros that negative values stood for.
	normalized bool
}

// withDefaults returns c with every zero field set to its default and every
// negative "none" value set to zero.
func (c Config) withDefaults() Config {
	if c.normalized {
		return c
	}
	c.normalized = true
	switch {
	case c.MinReplicas == 0:
		c.MinReplicas = 1
	case c.MinReplicas < 0:
		c.MinReplicas = 0
	}
	if c.MaxReplicas == 0 {
		c.MaxReplicas = max(1, c.MinReplicas)
	}
	switch {
	case c.InitialReplicas == 0:
		c.InitialReplicas = c.MinReplicas
	case c.InitialReplicas < 0:
		c.InitialReplicas = 0
	}
	if c.MaxConcurrentQueries == 0 {
		c.MaxConcurrentQueries = DefaultMaxConcurrentQueries
	}
	if c.TargetOngoingRequests == 0 {
		c.TargetOngoingRequests = DefaultTargetOngoingRequests
	}
	switch {
	case c.MaxQueuedRequests == 0:
		q := 2 * max(c.MaxReplicas, 1) * max(c.MaxConcurrentQueries, 1)
		if q > MaxDefaultQueue || q <= 0 {
			q = MaxDefaultQueue
		}
		c.MaxQueuedRequests = max(q, MinDefaultQueue)
	case c.MaxQueuedRequests < 0:
		c.MaxQueuedRequests = 0
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
	switch {
	case c.UpscaleDelay == 0:
		c.UpscaleDelay = DefaultUpscaleDelay
	case c.UpscaleDelay < 0:
		c.UpscaleDelay = 0
	}
	switch {
	case c.DownscaleDelay == 0:
		c.DownscaleDelay = DefaultDownscaleDelay
	case c.DownscaleDelay < 0:
		c.DownscaleDelay = 0
	}
	switch {
	case c.NumCPUs == 0:
		c.NumCPUs = DefaultNumCPUs
	case c.NumCPUs < 0:
		c.NumCPUs = 0
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	if c.Clock == nil {
		c.Clock = realClock{}
	}
	return c
}

// Validate reports what is wrong with c after its defaults are applied, or nil.
func (c Config) Validate() error {
	d := c.withDefaults()
	var errs []error
	if d.MaxReplicas < 1 {
		errs = append(errs, fmt.Errorf("max replicas %d < 1", d.MaxReplicas))
	}
	if d.MinReplicas > d.MaxReplicas {
		errs = append(errs, fmt.Errorf("min replicas %d > max replicas %d", d.MinReplicas, d.MaxReplicas))
	}
	if d.InitialReplicas < d.MinReplicas || d.InitialReplicas > d.MaxReplicas {
		errs = append(errs, fmt.Errorf("initial replicas %d outside [%d, %d]", d.InitialReplicas, d.MinReplicas, d.MaxReplicas))
	}
	if d.MaxConcurrentQueries < 1 {
		errs = append(errs, fmt.Errorf("max concurrent queries %d < 1", d.MaxConcurrentQueries))
	}
	if !(d.TargetOngoingRequests > 0) {
		errs = append(errs, fmt.Errorf("target ongoing requests %g must be > 0", d.TargetOngoingRequests))
	} else if d.TargetOngoingRequests > float64(d.MaxConcurrentQueries) {
		errs = append(errs, fmt.Errorf("target ongoing requests %g > max concurrent queries %d: the pool could never scale up", d.TargetOngoingRequests, d.MaxConcurrentQueries))
	}
	if d.Tick < 0 {
		errs = append(errs, fmt.Errorf("tick %v < 0", d.Tick))
	}
	if d.LookBack < 0 {
		errs = append(errs, fmt.Errorf("look-back %v < 0", d.LookBack))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("replicaflow: pool %q: %w", c.Name, err)
	}
	return nil
}

// clamp bounds n to [MinReplicas, MaxReplicas].
func (c Config) clamp(n int) int {
	return min(max(n, c.MinReplicas), c.MaxReplicas)
}
