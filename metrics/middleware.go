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

// seriesKey identifies the label children of a request: the method is an
// index into methods, so that the lookup hashes one string, not two.
type seriesKey struct {
	endpoint string
	method   uint8
	status   uint16
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
		k := seriesKey{endpoint: c.FullPath(), method: methodIndex(c.Request.Method), status: uint16(c.Writer.Status())}
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
		requests: r.m.requests.WithLabelValues(r.service, k.endpoint, methods[k.method], strconv.Itoa(int(k.status))),
		duration: r.m.duration.WithLabelValues(r.service, k.endpoint, methods[k.method]),
	}
	next := make(map[seriesKey]series, len(old)+1)
	for key, v := range old {
		next[key] = v
	}
	next[k] = s
	r.series.Store(&next)
	return s
}

// methods are the values of the method label. It is bounded: a client can
// send any token as a method, and each would otherwise become a series; the
// last, "OTHER", stands for every method not listed.
var methods = [...]string{
	http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
	http.MethodDelete, http.MethodOptions, http.MethodConnect, http.MethodTrace, "OTHER",
}

// methodIndex returns the index in methods of the method label of m.
func methodIndex(m string) uint8 {
	for i, name := range methods[:len(methods)-1] {
		if m == name {
			return uint8(i)
		}
	}
	return uint8(len(methods) - 1)
}
