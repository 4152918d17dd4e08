package metrics

import (
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// Middleware returns a gin middleware that counts, times and tracks the
// requests of service. Put it first in the service's chain so that it sees
// every answer, including binding errors (4xx) and panics recovered further
// down (5xx). A panic that crosses it unrecovered counts as a 500.
//
// The endpoint label is c.FullPath(), or Unmatched. The label children are
// resolved once per (endpoint, method, status) and kept in a copy-on-write
// map, so a request in the steady state takes no lock and allocates nothing.
func (m *Metrics) Middleware(service string) gin.HandlerFunc {
	r := &recorder{
		m:        m,
		service:  service,
		inFlight: m.inFlight.count(service),
	}
	r.series.Store(&map[seriesKey]series{})
	return r.handle
}

type seriesKey struct {
	endpoint, method string
	status           int
}

// series are the label children one (endpoint, method, status) updates.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// recorder is the state of one service's middleware.
type recorder struct {
	m        *Metrics
	service  string
	inFlight *atomic.Int64

	mu     sync.Mutex // serialises the writers of series
	series atomic.Pointer[map[seriesKey]series]
}

// epoch is the origin of the middleware's clock: a duration since it reads
// only the monotonic clock, which is cheaper than time.Now.
var epoch = time.Now()

func (r *recorder) handle(c *gin.Context) {
	start := time.Since(epoch)
	r.inFlight.Add(1)
	completed := false
	defer func() {
		r.inFlight.Add(-1)
		k := seriesKey{endpoint: c.FullPath(), method: methodLabel(c.Request.Method), status: c.Writer.Status()}
		if !completed {
			k.status = http.StatusInternalServerError // a panic is on its way up
		}
		if k.endpoint == "" {
			k.endpoint = Unmatched
		}
		s := r.lookup(k)
		s.duration.Observe((time.Since(epoch) - start).Seconds())
		s.requests.Inc()
	}()
	c.Next()
	completed = true
}

// lookup returns the label children of k, resolving them the first time k
// is seen. Readers go through an immutable map; a new key copies it.
func (r *recorder) lookup(k seriesKey) series {
	if s, ok := (*r.series.Load())[k]; ok {
		return s
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.series.Load()
	if s, ok := old[k]; ok {
		return s
	}
	s := series{
		requests: r.m.requests.WithLabelValues(r.service, k.endpoint, k.method, strconv.Itoa(k.status)),
		duration: r.m.duration.WithLabelValues(r.service, k.endpoint, k.method),
	}
	next := make(map[seriesKey]series, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	r.series.Store(&next)
	return s
}

// methodLabel bounds the method label: a client can send any token as a
// method, and each would otherwise become a series.
func methodLabel(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace:
		return m
	}
	return "OTHER"
}
