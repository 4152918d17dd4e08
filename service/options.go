package service

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/scaling"
)

// Options are a service's settings, as a plain struct for configuration
// files and status output. The zero value is a working service: base route
// "/", one replica autoscaled between 1 and 1, 100 concurrent queries per
// replica, a queue, no CPU reservation, and a random service ID. A zero
// field takes its default; where zero is itself a setting, a boolean says
// so (ScaleToZero, DisableQueue). The replica fields map one to one onto
// scaling.Options, which owns their defaults and rules (see Check).
//
// In JSON (the management API's status), durations read like "200ms".
type Options struct {
	// ServiceID identifies this instance of the service; a random UUID by
	// default. It differs between processes: use Name to refer to a service.
	ServiceID string `json:"service_id"`
	// Name is the service's stable name, the same in every process: the
	// management API, metrics, logs and the cluster use it. By default it
	// is derived from the base route ("root" for "/").
	Name string `json:"name"`
	// BaseRoute prefixes every endpoint of the service; unique in a flow.
	// Default "/".
	BaseRoute string `json:"base_route"`
	// LogLevel is the service's own log level. Default info.
	LogLevel slog.Level `json:"log_level"`
	// ManualStart keeps the service stopped when the flow starts; start it
	// through the management API or Start. Default false: it autostarts.
	ManualStart bool `json:"manual_start"`
	// RequireConfig refuses Start until a configuration was applied.
	RequireConfig bool `json:"require_config"`

	// NumReplicas is the number of replicas to start with, and the number
	// held when the autoscaler is disabled. Default: the minimum.
	NumReplicas int `json:"num_replicas"`
	// MinReplicas and MaxReplicas bound the autoscaler. Default 1, and the
	// largest of 1, MinReplicas and NumReplicas.
	MinReplicas int `json:"min_replicas"`
	MaxReplicas int `json:"max_replicas"`
	// ScaleToZero makes the minimum 0: with no load every replica stops,
	// and the next request starts one.
	ScaleToZero bool `json:"scale_to_zero"`
	// MaxConcurrentQueries is how many requests one replica runs at once.
	// Default 100.
	MaxConcurrentQueries int `json:"max_concurrent_queries"`
	// TargetOngoingRequests is the number of ongoing requests per replica
	// the autoscaler aims for. Default 1.
	TargetOngoingRequests float64 `json:"target_num_ongoing_requests_per_replica"`
	// MaxQueuedRequests bounds the requests waiting for a free replica;
	// past it a request is answered 503. Default 2 × max replicas × max
	// concurrent queries, within [100, 10000].
	MaxQueuedRequests int `json:"max_queued_requests"`
	// DisableQueue turns the queue off: a request that finds no free slot
	// is answered 503 at once.
	DisableQueue bool `json:"disable_queue"`
	// RequestTimeout is how long a request may wait for a free replica
	// before it is answered 503. Default 30s.
	RequestTimeout time.Duration `json:"request_timeout"`
	// DisableAutoscaler holds NumReplicas instead of autoscaling between
	// min and max.
	DisableAutoscaler bool `json:"disable_autoscaler"`
	// Tick is the period of the autoscaler's control loop, and LookBack the
	// window its load average spans. Default 100ms and 500ms.
	Tick     time.Duration `json:"tick"`
	LookBack time.Duration `json:"look_back"`
	// UpscaleDelay and DownscaleDelay are how long demand must hold before
	// the autoscaler adds or removes replicas. Default 200ms and 5s.
	UpscaleDelay   time.Duration `json:"upscale_delay"`
	DownscaleDelay time.Duration `json:"downscale_delay"`
	// NumCPUs is what each replica reserves of the flow's CPU capacity; a
	// replica that does not fit waits (pending) until CPUs free up. Default
	// 0: replicas reserve nothing, and a service grows to MaxReplicas
	// whatever the machine.
	NumCPUs float64 `json:"num_cpus"`

	// BodyBudget bounds the bytes of request bodies the service reads,
	// decodes and holds at once, across all its requests (a body counts
	// for its Content-Length, or its endpoint's body limit when sent
	// chunked, from before it is read until its call ends). A request whose
	// body does not fit is answered 503 with a Retry-After, unread. A body
	// larger than the whole budget is read alone. Default: 64 KiB per
	// request the service can run at once (max replicas × max concurrent
	// queries), at least 32 MiB. Negative turns the budget off. It is the
	// service's own, not the replica pool's.
	BodyBudget int64 `json:"body_budget"`
}

// minBodyBudget and bodyBudgetPerQuery size the default body budget.
const (
	minBodyBudget      = 32 << 20
	bodyBudgetPerQuery = 64 << 10
)

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// Check returns an error naming the rule an option set breaks: a malformed
// name or base route, or a replica setting that scaling.Options.Validate
// refuses (num replicas outside [min, max], min above max, a target above
// max concurrent queries, a negative count, delay, timeout or CPU share).
func (o Options) Check() error {
	o = o.withDefaults()
	switch {
	case !nameRE.MatchString(o.Name):
		return fmt.Errorf("name %q must be letters, digits, '-', '_' or '.', starting with a letter or digit", o.Name)
	case strings.ContainsAny(o.BaseRoute, ":*{}?#"):
		return fmt.Errorf("base route %q must be a plain path (no parameters, wildcards or query)", o.BaseRoute)
	}
	return o.pool().Validate()
}

// withDefaults fills the service's own defaults (ID, route, name) and the
// replica pool's (from scaling.Options).
func (o Options) withDefaults() Options {
	if o.ServiceID == "" {
		o.ServiceID = uuid.NewString()
	}
	if !strings.HasPrefix(o.BaseRoute, "/") {
		o.BaseRoute = "/" + o.BaseRoute
	}
	if len(o.BaseRoute) > 1 {
		o.BaseRoute = strings.TrimRight(o.BaseRoute, "/")
	}
	if o.Name == "" {
		o.Name = nameFromRoute(o.BaseRoute)
	}
	c := o.pool().WithDefaults()
	o.NumReplicas, o.MinReplicas, o.MaxReplicas, o.ScaleToZero = c.NumReplicas, c.MinReplicas, c.MaxReplicas, c.ScaleToZero
	o.MaxConcurrentQueries, o.TargetOngoingRequests = c.MaxConcurrentQueries, c.TargetOngoingRequests
	o.MaxQueuedRequests, o.DisableQueue, o.RequestTimeout = c.MaxQueuedRequests, c.DisableQueue, c.RequestTimeout
	o.DisableAutoscaler, o.Tick, o.LookBack = c.DisableAutoscaler, c.Tick, c.LookBack
	o.UpscaleDelay, o.DownscaleDelay, o.NumCPUs = c.UpscaleDelay, c.DownscaleDelay, c.NumCPUs
	if o.BodyBudget == 0 && o.MaxReplicas > 0 && o.MaxConcurrentQueries > 0 {
		o.BodyBudget = max(minBodyBudget, int64(o.MaxReplicas)*int64(o.MaxConcurrentQueries)*bodyBudgetPerQuery)
	}
	return o
}

// pool returns the replica pool's configuration for o, field by field.
func (o Options) pool() scaling.Options {
	return scaling.Options{
		Name:                  o.Name,
		NumReplicas:           o.NumReplicas,
		MinReplicas:           o.MinReplicas,
		MaxReplicas:           o.MaxReplicas,
		ScaleToZero:           o.ScaleToZero,
		MaxConcurrentQueries:  o.MaxConcurrentQueries,
		TargetOngoingRequests: o.TargetOngoingRequests,
		MaxQueuedRequests:     o.MaxQueuedRequests,
		DisableQueue:          o.DisableQueue,
		RequestTimeout:        o.RequestTimeout,
		DisableAutoscaler:     o.DisableAutoscaler,
		Tick:                  o.Tick,
		LookBack:              o.LookBack,
		UpscaleDelay:          o.UpscaleDelay,
		DownscaleDelay:        o.DownscaleDelay,
		NumCPUs:               o.NumCPUs,
	}
}

func nameFromRoute(route string) string {
	name := strings.Trim(route, "/")
	if name == "" {
		return "root"
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// plainOptions is Options without its JSON methods.
type plainOptions Options

// optionsJSON is Options with durations a person reads.
type optionsJSON struct {
	plainOptions
	RequestTimeout scaling.Duration `json:"request_timeout"`
	Tick           scaling.Duration `json:"tick"`
	LookBack       scaling.Duration `json:"look_back"`
	UpscaleDelay   scaling.Duration `json:"upscale_delay"`
	DownscaleDelay scaling.Duration `json:"downscale_delay"`
}

// MarshalJSON writes the options with durations as strings like "200ms".
func (o Options) MarshalJSON() ([]byte, error) {
	return json.Marshal(optionsJSON{
		plainOptions:   plainOptions(o),
		RequestTimeout: scaling.Duration(o.RequestTimeout),
		Tick:           scaling.Duration(o.Tick),
		LookBack:       scaling.Duration(o.LookBack),
		UpscaleDelay:   scaling.Duration(o.UpscaleDelay),
		DownscaleDelay: scaling.Duration(o.DownscaleDelay),
	})
}

// UnmarshalJSON reads options whose durations are strings like "200ms" (or
// numbers of nanoseconds).
func (o *Options) UnmarshalJSON(b []byte) error {
	v := optionsJSON{
		plainOptions:   plainOptions(*o),
		RequestTimeout: scaling.Duration(o.RequestTimeout),
		Tick:           scaling.Duration(o.Tick),
		LookBack:       scaling.Duration(o.LookBack),
		UpscaleDelay:   scaling.Duration(o.UpscaleDelay),
		DownscaleDelay: scaling.Duration(o.DownscaleDelay),
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*o = Options(v.plainOptions)
	o.RequestTimeout, o.Tick, o.LookBack = time.Duration(v.RequestTimeout), time.Duration(v.Tick), time.Duration(v.LookBack)
	o.UpscaleDelay, o.DownscaleDelay = time.Duration(v.UpscaleDelay), time.Duration(v.DownscaleDelay)
	return nil
}

// Option sets one of a service's options.
type Option func(*settings)

// settings is what options build: the plain options and the configuration,
// which is code.
type settings struct {
	Options
	config *configurer
}

// WithOptions replaces all options set so far with o; zero fields take
// their defaults.
func WithOptions(o Options) Option { return func(dst *settings) { dst.Options = o } }

// ManualStart keeps the service stopped when the flow starts.
func ManualStart() Option { return func(o *settings) { o.ManualStart = true } }

// RequireConfig refuses Start until a configuration was applied.
func RequireConfig() Option { return func(o *settings) { o.RequireConfig = true } }

// ServiceID sets the service's instance ID.
func ServiceID(id string) Option { return func(o *settings) { o.ServiceID = id } }

// Name sets the service's stable name.
func Name(name string) Option { return func(o *settings) { o.Name = name } }

// BaseRoute sets the route that prefixes every endpoint of the service.
func BaseRoute(route string) Option { return func(o *settings) { o.BaseRoute = route } }

// NumCPUs sets the CPU reservation of each replica against the flow's
// capacity.
func NumCPUs(n float64) Option { return func(o *settings) { o.NumCPUs = n } }

// LogLevel sets the service's log level.
func LogLevel(l slog.Level) Option { return func(o *settings) { o.LogLevel = l } }

// NumReplicas sets the number of replicas to start with (and to hold with
// the autoscaler disabled).
func NumReplicas(n int) Option { return func(o *settings) { o.NumReplicas = n } }

// MinReplicas sets the least number of replicas; 0 lets the service scale
// to zero (ScaleToZero).
func MinReplicas(n int) Option {
	return func(o *settings) { o.MinReplicas, o.ScaleToZero = n, n == 0 }
}

// MaxReplicas sets the greatest number of replicas.
func MaxReplicas(n int) Option { return func(o *settings) { o.MaxReplicas = n } }

// Replicas sets the minimum and maximum number of replicas; a minimum of 0
// lets the service scale to zero. The service starts with min unless
// NumReplicas says otherwise.
func Replicas(min, max int) Option {
	return func(o *settings) { o.MinReplicas, o.MaxReplicas, o.ScaleToZero = min, max, min == 0 }
}

// MaxConcurrentQueries sets how many requests one replica runs at once.
func MaxConcurrentQueries(n int) Option { return func(o *settings) { o.MaxConcurrentQueries = n } }

// TargetOngoingRequests sets the ongoing requests per replica that the
// autoscaler aims for.
func TargetOngoingRequests(n float64) Option {
	return func(o *settings) { o.TargetOngoingRequests = n }
}

// DisableAutoscaler holds NumReplicas instead of autoscaling.
func DisableAutoscaler() Option { return func(o *settings) { o.DisableAutoscaler = true } }

// Tick sets the period of the autoscaler's control loop.
func Tick(d time.Duration) Option { return func(o *settings) { o.Tick = d } }

// LookBack sets the window the autoscaler averages the load over.
func LookBack(d time.Duration) Option { return func(o *settings) { o.LookBack = d } }

// UpscaleDelay sets how long demand must stay high before replicas are added.
func UpscaleDelay(d time.Duration) Option { return func(o *settings) { o.UpscaleDelay = d } }

// DownscaleDelay sets how long demand must stay low before replicas are
// removed.
func DownscaleDelay(d time.Duration) Option { return func(o *settings) { o.DownscaleDelay = d } }

// MaxQueuedRequests bounds the requests waiting for a free replica; 0
// turns the queue off (DisableQueue): a request that finds no free slot is
// answered 503 at once.
func MaxQueuedRequests(n int) Option {
	return func(o *settings) { o.MaxQueuedRequests, o.DisableQueue = n, n == 0 }
}

// BodyBudget bounds the bytes of request bodies the service reads and holds
// at once, across its requests (see Options.BodyBudget); negative turns the
// bound off.
func BodyBudget(n int64) Option { return func(o *settings) { o.BodyBudget = n } }

// RequestTimeout sets how long a request may wait for a free replica.
func RequestTimeout(d time.Duration) Option { return func(o *settings) { o.RequestTimeout = d } }
