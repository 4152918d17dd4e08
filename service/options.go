package service

import (
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/scaling"
)

// Options are a service's settings, as a plain struct for configuration files
// and status output. Start from DefaultOptions; zero numeric fields take their
// defaults when the service is made.
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
	// NumCPUs is what each replica reserves of the flow's CPU capacity.
	// Default 1.
	NumCPUs float64 `json:"num_cpus"`
	// LogLevel is the service's own log level. Default info.
	LogLevel slog.Level `json:"log_level"`
	// NumReplicas is the number of replicas to start with. Default: the
	// minimum.
	NumReplicas int `json:"num_replicas"`
	// MinReplicas and MaxReplicas bound the autoscaler. Default 1 and 1.
	MinReplicas int `json:"min_replicas"`
	MaxReplicas int `json:"max_replicas"`
	// MaxConcurrentQueries is how many requests one replica runs at once.
	// Default 100.
	MaxConcurrentQueries int `json:"max_concurrent_queries"`
	// TargetOngoingRequests is the number of ongoing requests per replica
	// the autoscaler aims for. Default 1.
	TargetOngoingRequests float64 `json:"target_num_ongoing_requests_per_replica"`
	// EnableAutoscaler lets the replica count move between min and max;
	// when false the service holds NumReplicas. Default true.
	EnableAutoscaler bool `json:"enable_autoscaler"`
	// UpscaleDelay and DownscaleDelay are how long demand must hold before
	// the autoscaler adds or removes replicas. Zero means the replica
	// pool's defaults.
	UpscaleDelay   time.Duration `json:"upscale_delay"`
	DownscaleDelay time.Duration `json:"downscale_delay"`
	// MaxQueuedRequests bounds the requests waiting for a free replica;
	// past it a request is answered 503. Zero means the pool's default
	// (2 × max replicas × max concurrent queries, within [100, 10000]);
	// negative means no queue: a request that finds no free slot is
	// answered 503 at once.
	MaxQueuedRequests int `json:"max_queued_requests"`
	// RequestTimeout is how long a request may wait for a free replica
	// before it is answered 503. Zero means the pool's default.
	RequestTimeout time.Duration `json:"request_timeout"`
	// ManualStart keeps the service stopped when the flow starts; start it
	// through the management API or Start. Default false: it autostarts.
	ManualStart bool `json:"manual_start"`
	// RequireConfig refuses Start until a configuration was applied.
	RequireConfig bool `json:"require_config"`
}

// DefaultOptions returns BuildFlow's defaults (with a fresh service ID).
func DefaultOptions() Options {
	return Options{
		ServiceID:             uuid.NewString(),
		BaseRoute:             "/",
		NumCPUs:               1,
		LogLevel:              slog.LevelInfo,
		MinReplicas:           1,
		MaxReplicas:           1,
		MaxConcurrentQueries:  100,
		TargetOngoingRequests: 1,
		EnableAutoscaler:      true,
	}
}

// Option sets one of a service's options.
type Option func(*settings)

// settings is what options build: the plain options and the parts that are
// code (configuration, pool tuning).
type settings struct {
	Options
	config *configurer
	tune   func(*scaling.Config)
}

// WithOptions replaces all options with o; zero numeric fields take their
// defaults.
func WithOptions(o Options) Option { return func(dst *settings) { dst.Options = o } }

// Pool adjusts the replica pool's configuration after the options are
// applied: the control tick, the look-back window, a test clock.
func Pool(tune func(*scaling.Config)) Option { return func(st *settings) { st.tune = tune } }

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

// NumCPUs sets the CPU reservation of each replica.
func NumCPUs(n float64) Option { return func(o *settings) { o.NumCPUs = n } }

// LogLevel sets the service's log level.
func LogLevel(l slog.Level) Option { return func(o *settings) { o.LogLevel = l } }

// NumReplicas sets the number of replicas to start with.
func NumReplicas(n int) Option { return func(o *settings) { o.NumReplicas = n } }

// MinReplicas sets the least number of replicas.
func MinReplicas(n int) Option { return func(o *settings) { o.MinReplicas = n } }

// MaxReplicas sets the greatest number of replicas.
func MaxReplicas(n int) Option { return func(o *settings) { o.MaxReplicas = n } }

// Replicas sets the minimum and maximum number of replicas; the service
// starts with min unless NumReplicas says otherwise.
func Replicas(min, max int) Option {
	return func(o *settings) { o.MinReplicas, o.MaxReplicas = min, max }
}

// MaxConcurrentQueries sets how many requests one replica runs at once.
func MaxConcurrentQueries(n int) Option { return func(o *settings) { o.MaxConcurrentQueries = n } }

// TargetOngoingRequests sets the ongoing requests per replica that the
// autoscaler aims for.
func TargetOngoingRequests(n float64) Option {
	return func(o *settings) { o.TargetOngoingRequests = n }
}

// EnableAutoscaler turns the autoscaler on or off; off holds NumReplicas.
func EnableAutoscaler(on bool) Option { return func(o *settings) { o.EnableAutoscaler = on } }

// UpscaleDelay sets how long demand must stay high before replicas are added.
func UpscaleDelay(d time.Duration) Option { return func(o *settings) { o.UpscaleDelay = d } }

// DownscaleDelay sets how long demand must stay low before replicas are
// removed.
func DownscaleDelay(d time.Duration) Option { return func(o *settings) { o.DownscaleDelay = d } }

// MaxQueuedRequests bounds the requests waiting for a free replica.
func MaxQueuedRequests(n int) Option { return func(o *settings) { o.MaxQueuedRequests = n } }

// RequestTimeout sets how long a request may wait for a free replica.
func RequestTimeout(d time.Duration) Option { return func(o *settings) { o.RequestTimeout = d } }
