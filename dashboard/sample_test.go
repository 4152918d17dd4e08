package dashboard

import (
	"math"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/replicaflow/replicaflow/metrics"
	"github.com/replicaflow/replicaflow/service"
)

// services is a Source over a list a test can change.
type services []*service.Service

// registry holds the two families the dashboard reads, as the flow's
// metrics define them, so a test controls every count and latency.
type registry struct {
	*prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newRegistry() *registry {
	r := &registry{
		Registry: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: requestsName},
			[]string{"service", "endpoint", "method", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: durationName, Buckets: metrics.DefaultBuckets},
			[]string{"service", "endpoint", "method"}),
	}
	r.MustRegister(r.requests, r.duration)
	return r
}

// serve records n requests of service svc that took d and answered status.
func (r *registry) serve(svc string, n int, d time.Duration, status string) {
	for range n {
		r.requests.WithLabelValues(svc, "/", "GET", status).Inc()
		r.duration.WithLabelValues(svc, "/", "GET").Observe(d.Seconds())
	}
}

func approx(t *testing.T, what string, got *float64, want, tol float64) {
	t.Helper()
	if got == nil {
		t.Fatalf("%s is null, want %g", what, want)
	}
	if math.Abs(*got-want) > tol {
		t.Errorf("%s = %g, want %g ± %g", what, *got, want, tol)
	}
}

func TestQuantile(t *testing.T) {
	inf := math.Inf(1)
	tests := []struct {
		name   string
		q      float64
		bounds []float64
		cum    []float64
		want   float64
	}{
		{"middle of the first bucket starts at zero", 0.5, []float64{1, 2, inf}, []float64{10, 10, 10}, 0.5},
		{"interpolated in the second bucket", 0.5, []float64{1, 2, inf}, []float64{0, 10, 10}, 1.5},
		{"rank across buckets", 0.75, []float64{1, 2, inf}, []float64{5, 10, 10}, 1.5},
		{"top of a bucket", 0.5, []float64{1, 2, inf}, []float64{5, 10, 10}, 1},
		{"+Inf bucket answers the highest finite bound", 0.99, []float64{1, 2, inf}, []float64{0, 0, 10}, 2},
		{"no observations", 0.5, []float64{1, inf}, []float64{0, 0}, math.NaN()},
		{"only +Inf", 0.5, []float64{inf}, []float64{3}, math.NaN()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := quantile(tt.q, tt.bounds, tt.cum)
			if math.IsNaN(tt.want) != math.IsNaN(got) || (!math.IsNaN(got) && math.Abs(got-tt.want) > 1e-9) {
				t.Errorf("quantile = %g, want %g", got, tt.want)
			}
		})
	}
}

func TestTrafficFromDeltas(t *testing.T) {
	reg := newRegistry()
	svc := service.New(service.Name("api"), service.BaseRoute("/api"))
	d := New(&services{svc}, Metrics(reg), Window(10*time.Second), Token(""))
	t0 := time.Unix(1_700_000_000, 0)

	reg.serve("api", 500, 3*time.Millisecond, "200") // before the window: must not count
	d.sample(t0)
	reg.serve("api", 90, 7*time.Millisecond, "200")
	reg.serve("api", 10, 300*time.Millisecond, "503")
	reg.serve("other", 1000, time.Second, "500") // another service's figures stay apart
	d.sample(t0.Add(10 * time.Second))

	st := d.Status()
	if len(st.Services) != 1 || !st.Metrics {
		t.Fatalf("status = %+v", st)
	}
	tr := st.Services[0].Traffic
	if tr == nil {
		t.Fatal("no traffic figures")
	}
	if tr.Requests != 100 || tr.RPS != 10 || tr.Seconds != 10 {
		t.Errorf("requests %g, rps %g over %gs; want 100, 10 over 10s", tr.Requests, tr.RPS, tr.Seconds)
	}
	approx(t, "error rate", tr.ErrorRate, 0.1, 1e-9)
	// 90 in (5ms, 10ms], 10 in (250ms, 500ms]: the median is interpolated
	// in the first, the 99th percentile in the second.
	approx(t, "p50", tr.P50, 5+5*50.0/90, 1e-6)
	approx(t, "p99", tr.P99, 250+250*(99.0-90)/10, 1e-6)
}

func TestTrafficWindowAndReset(t *testing.T) {
	reg := newRegistry()
	svc := service.New(service.Name("api"), service.BaseRoute("/api"))
	d := New(&services{svc}, Metrics(reg), Window(5*time.Second), Interval(time.Second), Token(""))
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 20 {
		reg.serve("api", 10*i, time.Millisecond, "200") // rising load: 10 × i requests in second i
		d.sample(t0.Add(time.Duration(i) * time.Second))
	}
	tr := d.Status().Services[0].Traffic
	// The last 5 seconds hold seconds 15..19: 10 × (15+...+19) = 850.
	if tr.Requests != 850 || tr.RPS != 170 {
		t.Errorf("window figures: %g requests, %g rps; want 850, 170", tr.Requests, tr.RPS)
	}

	// The service is removed and added again: its counters restart lower.
	reg.requests.Reset()
	reg.duration.Reset()
	reg.serve("api", 7, time.Millisecond, "500")
	d.sample(t0.Add(25 * time.Second))
	tr = d.Status().Services[0].Traffic
	if tr.Requests != 7 {
		t.Errorf("after a counter reset: %g requests, want 7", tr.Requests)
	}
	approx(t, "error rate", tr.ErrorRate, 1, 0)
}

func TestHistory(t *testing.T) {
	a := service.New(service.Name("a"), service.BaseRoute("/a"), service.Replicas(2, 5))
	b := service.New(service.Name("b"), service.BaseRoute("/b"))
	src := services{a, b}
	d := New(&src, History(3*time.Second), Interval(time.Second), Token(""))
	t0 := time.Unix(1_700_000_000, 0)
	for i := range 10 {
		d.sample(t0.Add(time.Duration(i) * time.Second))
	}
	st := d.Status()
	if st.Seq != 10 || st.Metrics {
		t.Fatalf("seq %d, metrics %v; want 10, false", st.Seq, st.Metrics)
	}
	h := st.Services[0].History
	if len(h) != 4 || h[0].Seq != 7 || h[3].Seq != 10 || h[3].T != t0.Add(9*time.Second).UnixMilli() {
		t.Fatalf("history keeps %+v; want the 4 points of the last 3s (seqs 7..10)", h)
	}
	if h[0].RPS != nil || st.Services[0].Traffic != nil {
		t.Error("without metrics there must be no traffic figures")
	}
	if r := st.Services[0].Replicas; r.Min != 2 || r.Max != 5 {
		t.Errorf("replicas %+v: want min 2, max 5", r)
	}
	if got := d.status(8).Services[0].History; len(got) != 2 || got[0].Seq != 9 {
		t.Errorf("since=8 gives %+v, want seqs 9 and 10", got)
	}

	src = services{b} // a leaves: its history goes with it
	d.sample(t0.Add(10 * time.Second))
	st = d.Status()
	if len(st.Services) != 1 || st.Services[0].Name != "b" || len(d.tracks) != 1 {
		t.Fatalf("after a left: services %+v, %d tracks", st.Services, len(d.tracks))
	}
}

// Services returns the list.
func (s *services) Services() []*service.Service { return *s }
