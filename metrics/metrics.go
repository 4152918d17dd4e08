package metrics

import (
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Namespace prefixes the name of every metric this package defines.
const Namespace = "replicaflow"

// Unmatched is the endpoint label of requests that matched no route.
const Unmatched = "unmatched"

// DefaultBuckets are the latency histogram's upper bounds in seconds: from
// half a millisecond (an in-process replica answers in microseconds) to ten
// seconds.
var DefaultBuckets = []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds a Prometheus registry and the HTTP metrics of a flow's
// services.
type Metrics struct {
	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inFlight *inFlight
}

// Option changes how New builds a Metrics.
type Option func(*config)

type config struct {
	buckets []float64
}

// Buckets sets the latency histogram's upper bounds, in seconds, instead of
// DefaultBuckets.
func Buckets(b ...float64) Option {
	return func(c *config) { c.buckets = append([]float64(nil), b...) }
}

// New returns a Metrics with its own registry, which already holds the Go
// runtime and process collectors and the HTTP metrics.
func New(opts ...Option) *Metrics {
	cfg := config{buckets: DefaultBuckets}
	for _, o := range opts {
		o(&cfg)
	}
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: Namespace,
			Subsystem: "http",
			Name:      "requests_total",
			Help:      "HTTP requests served, by service, endpoint (route template), method and status.",
		}, []string{"service", "endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: Namespace,
			Subsystem: "http",
			Name:      "request_duration_seconds",
			Help:      "Time to serve an HTTP request, by service, endpoint (route template) and method.",
			Buckets:   cfg.buckets,
		}, []string{"service", "endpoint", "method"}),
		inFlight: &inFlight{
			desc: prometheus.NewDesc(prometheus.BuildFQName(Namespace, "http", "requests_in_flight"),
				"HTTP requests being served, by service.", []string{"service"}, nil),
			counts: map[string]*atomic.Int64{},
		},
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests, m.duration, m.inFlight,
	)
	return m
}

// Registry returns the registry the metrics live in; register more
// collectors on it to have Handler serve them too.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Handler serves every metric of the registry in the Prometheus text (or
// OpenMetrics, when asked) exposition format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry:          m.reg, // counts its own errors as promhttp_metric_handler_errors_total
		EnableOpenMetrics: true,
	})
}

// Forget drops every series of service: call it when a service is removed
// from the flow, so its series stop being exported.
func (m *Metrics) Forget(service string) {
	m.requests.DeletePartialMatch(prometheus.Labels{"service": service})
	m.duration.DeletePartialMatch(prometheus.Labels{"service": service})
	m.inFlight.forget(service)
}

// inFlight is the requests_in_flight gauge: a plain atomic count per
// service that the middleware adds to and subtracts from, read when the
// registry is gathered.
type inFlight struct {
	desc   *prometheus.Desc
	mu     sync.Mutex
	counts map[string]*atomic.Int64
}

// count returns the count of service, making it the first time.
func (g *inFlight) count(service string) *atomic.Int64 {
	g.mu.Lock()
	defer g.mu.Unlock()
	n, ok := g.counts[service]
	if !ok {
		n = new(atomic.Int64)
		g.counts[service] = n
	}
	return n
}

// forget drops the count of service; middleware still holding it counts
// into nothing.
func (g *inFlight) forget(service string) {
	g.mu.Lock()
	defer g.mu.Unlock()
	delete(g.counts, service)
}

// Describe implements prometheus.Collector.
func (g *inFlight) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

// Collect implements prometheus.Collector.
func (g *inFlight) Collect(ch chan<- prometheus.Metric) {
	g.mu.Lock()
	defer g.mu.Unlock()
	for service, n := range g.counts {
		ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, float64(n.Load()), service)
	}
}
