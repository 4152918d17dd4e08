package metrics_test

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/replicaflow/replicaflow/metrics"
)

func init() { gin.SetMode(gin.TestMode) }

// newEngine returns a gin engine for service "users" with the metrics
// middleware first, a recovery after it, and a few routes.
func newEngine(m *metrics.Metrics) *gin.Engine {
	e := gin.New()
	e.Use(m.Middleware("users"), gin.CustomRecoveryWithWriter(io.Discard, func(c *gin.Context, _ any) {
		c.AbortWithStatus(http.StatusInternalServerError)
	}))
	e.GET("/users/:id", func(c *gin.Context) { c.String(http.StatusOK, c.Param("id")) })
	e.POST("/users", func(c *gin.Context) {
		c.AbortWithStatusJSON(http.StatusUnprocessableEntity, gin.H{"status": 422})
	})
	e.GET("/boom", func(c *gin.Context) { panic(errors.New("boom")) })
	e.GET("/fail", func(c *gin.Context) { c.Status(http.StatusInternalServerError) })
	return e
}

func do(t *testing.T, h http.Handler, method, path string) int {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(method, path, nil))
	return w.Code
}

func TestMiddlewareCounts(t *testing.T) {
	m := metrics.New()
	e := newEngine(m)
	reqs := []struct {
		method, path string
		want         int
	}{
		{"GET", "/users/1", 200},
		{"GET", "/users/2", 200},
		{"GET", "/users/3", 200},
		{"POST", "/users", 422},
		{"GET", "/boom", 500},
		{"GET", "/fail", 500},
		{"GET", "/nowhere", 404},
		{"BREW", "/users/1", 404},
	}
	for _, r := range reqs {
		if got := do(t, e, r.method, r.path); got != r.want {
			t.Fatalf("%s %s: status %d, want %d", r.method, r.path, got, r.want)
		}
	}

	want := `
# HELP replicaflow_http_requests_total HTTP requests served, by service, endpoint (route template), method and status.
# TYPE replicaflow_http_requests_total counter
replicaflow_http_requests_total{endpoint="/boom",method="GET",service="users",status="500"} 1
replicaflow_http_requests_total{endpoint="/fail",method="GET",service="users",status="500"} 1
replicaflow_http_requests_total{endpoint="/users",method="POST",service="users",status="422"} 1
replicaflow_http_requests_total{endpoint="/users/:id",method="GET",service="users",status="200"} 3
replicaflow_http_requests_total{endpoint="unmatched",method="GET",service="users",status="404"} 1
replicaflow_http_requests_total{endpoint="unmatched",method="OTHER",service="users",status="404"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "replicaflow_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.Registry(), "replicaflow_http_request_duration_seconds"); n != 6 {
		t.Errorf("duration series = %d, want 6 (one per endpoint and method)", n)
	}
	if got := inFlight(t, m, "users"); got != 0 {
		t.Errorf("in flight after the requests = %v, want 0", got)
	}
}

// Concurrent requests that answer several statuses on the same endpoint
// and method, and the same status on several methods, each land in their
// own series, however their first appearances interleave.
func TestMiddlewareCountsConcurrentStatuses(t *testing.T) {
	m := metrics.New()
	e := gin.New()
	e.Use(m.Middleware("s"))
	e.Any("/status/:code", func(c *gin.Context) {
		code, _ := strconv.Atoi(c.Param("code"))
		c.Status(code)
	})
	codes := []int{200, 201, 202, 204, 400, 404, 409, 422, 500, 503}
	verbs := []string{"GET", "POST", "PUT"}
	const rounds = 20
	var wg sync.WaitGroup
	for _, v := range verbs {
		for _, code := range codes {
			wg.Go(func() {
				for range rounds {
					w := httptest.NewRecorder()
					e.ServeHTTP(w, httptest.NewRequest(v, "/status/"+strconv.Itoa(code), nil))
				}
			})
		}
	}
	wg.Wait()
	var want strings.Builder
	want.WriteString("# HELP replicaflow_http_requests_total HTTP requests served, by service, endpoint (route template), method and status.\n")
	want.WriteString("# TYPE replicaflow_http_requests_total counter\n")
	for _, v := range verbs {
		for _, code := range codes {
			fmt.Fprintf(&want, "replicaflow_http_requests_total{endpoint=\"/status/:code\",method=%q,service=\"s\",status=\"%d\"} %d\n", v, code, rounds)
		}
	}
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want.String()), "replicaflow_http_requests_total"); err != nil {
		t.Fatal(err)
	}
}

// inFlight reads the in-flight gauge of service through the registry.
func inFlight(t *testing.T, m *metrics.Metrics, service string) float64 {
	t.Helper()
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != "replicaflow_http_requests_in_flight" {
			continue
		}
		for _, mm := range mf.GetMetric() {
			for _, l := range mm.GetLabel() {
				if l.GetName() == "service" && l.GetValue() == service {
					return mm.GetGauge().GetValue()
				}
			}
		}
	}
	t.Fatalf("no in-flight gauge for %q", service)
	return 0
}

func TestInFlight(t *testing.T) {
	m := metrics.New()
	e := gin.New()
	e.Use(m.Middleware("slow"))
	entered, release := make(chan struct{}), make(chan struct{})
	e.GET("/wait", func(c *gin.Context) {
		entered <- struct{}{}
		<-release
		c.Status(http.StatusNoContent)
	})
	done := make(chan struct{})
	for range 2 {
		go func() {
			e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/wait", nil))
			done <- struct{}{}
		}()
	}
	<-entered
	<-entered
	if got := inFlight(t, m, "slow"); got != 2 {
		t.Errorf("in flight = %v, want 2", got)
	}
	close(release)
	<-done
	<-done
	if got := inFlight(t, m, "slow"); got != 0 {
		t.Errorf("in flight after = %v, want 0", got)
	}
}

func TestUnrecoveredPanicCountsAs500(t *testing.T) {
	m := metrics.New()
	e := gin.New()
	e.Use(m.Middleware("p"))
	e.GET("/p", func(c *gin.Context) { panic("no recovery below") })
	func() {
		defer func() {
			if recover() == nil {
				t.Error("the panic did not propagate")
			}
		}()
		e.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/p", nil))
	}()
	want := `
# HELP replicaflow_http_requests_total HTTP requests served, by service, endpoint (route template), method and status.
# TYPE replicaflow_http_requests_total counter
replicaflow_http_requests_total{endpoint="/p",method="GET",service="p",status="500"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "replicaflow_http_requests_total"); err != nil {
		t.Fatal(err)
	}
	if got := inFlight(t, m, "p"); got != 0 {
		t.Errorf("in flight = %v, want 0", got)
	}
}

func TestHandlerScrape(t *testing.T) {
	m := metrics.New()
	e := newEngine(m)
	do(t, e, "GET", "/users/7")
	do(t, e, "POST", "/users")
	srv := httptest.NewServer(m.Handler())
	defer srv.Close()
	res, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("status %d", res.StatusCode)
	}
	text := string(body)
	for _, want := range []string{
		`replicaflow_http_requests_total{endpoint="/users/:id",method="GET",service="users",status="200"} 1`,
		`replicaflow_http_requests_total{endpoint="/users",method="POST",service="users",status="422"} 1`,
		`replicaflow_http_request_duration_seconds_count{endpoint="/users/:id",method="GET",service="users"} 1`,
		`replicaflow_http_requests_in_flight{service="users"} 0`,
		"go_goroutines ",
		"process_cpu_seconds_total ",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("scrape lacks %q", want)
		}
	}
}

func TestRegistryOpenAndForget(t *testing.T) {
	m := metrics.New(metrics.Buckets(0.1, 1))
	extra := prometheus.NewGauge(prometheus.GaugeOpts{Name: "replicaflow_pool_replicas", Help: "test"})
	m.Registry().MustRegister(extra)
	extra.Set(3)
	e := newEngine(m)
	do(t, e, "GET", "/users/1")
	if n := testutil.CollectAndCount(m.Registry(), "replicaflow_pool_replicas"); n != 1 {
		t.Errorf("extra collector series = %d, want 1", n)
	}
	m.Forget("users")
	for _, name := range []string{"replicaflow_http_requests_total", "replicaflow_http_request_duration_seconds", "replicaflow_http_requests_in_flight"} {
		if n := testutil.CollectAndCount(m.Registry(), name); n != 0 {
			t.Errorf("%s has %d series after Forget, want 0", name, n)
		}
	}
}

func BenchmarkMiddleware(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, withMetrics := range []bool{false, true} {
		name := "without"
		if withMetrics {
			name = "with"
		}
		b.Run(name, func(b *testing.B) {
			e := gin.New()
			if withMetrics {
				e.Use(metrics.New().Middleware("bench"))
			}
			e.GET("/users/:id", func(c *gin.Context) { c.Status(http.StatusNoContent) })
			req := httptest.NewRequest("GET", "/users/42", nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				e.ServeHTTP(w, req)
			}
		})
	}
}

// discard is a ResponseWriter that allocates nothing.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}
