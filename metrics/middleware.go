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
// resolved once per (endpoint, method, status) and kept in copy-on-write
// tables, so a request in the steady state takes no lock and allocates
// nothing.
func (m *Metrics) Middleware(service string) gin.HandlerFunc {
	r := &recorder{
		m:        m,
		service:  service,
		inFlight: m.inFlight.count(service),
	}
	r.endpoints.Store(&map[string]*endpointSeries{})
	return r.handle
}

// series are the label children one (endpoint, method, status) updates.
type series struct {
	requests prometheus.Counter
	duration prometheus.Observer
}

// endpointSeries holds the label children of one endpoint: by method (an
// index into methods), a short copy-on-write list by status.
type endpointSeries struct {
	byMethod [len(methods)]atomic.Pointer[[]statusSeries]
}

type statusSeries struct {
	status uint16
	series
}

// recorder is the state of one service's middleware.
type recorder struct {
	m        *Metrics
	service  string
	inFlight *atomic.Int64

	mu        sync.Mutex                                 // serialises the writers of endpoints
	endpoints atomic.Pointer[map[string]*endpointSeries] // by endpoint label
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
		endpoint, status := c.FullPath(), uint16(c.Writer.Status())
		if !completed {
			status = http.StatusInternalServerError // a panic is on its way up
		}
		if endpoint == "" {
			endpoint = Unmatched
		}
		s := r.lookup(endpoint, methodIndex(c.Request.Method), status)
		s.duration.Observe((time.Since(epoch) - start).Seconds())
		s.requests.Inc()
	}()
	c.Next()
	completed = true
}

// lookup returns the label children of (endpoint, method, status),
// resolving them the first time they are seen. Readers go through immutable
// tables; a new endpoint or status copies the one it joins.
func (r *recorder) lookup(endpoint string, method uint8, status uint16) series {
	if e := (*r.endpoints.Load())[endpoint]; e != nil {
		if list := e.byMethod[method].Load(); list != nil {
			for i := range *list {
				if (*list)[i].status == status {
					return (*list)[i].series
				}
			}
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	old := *r.endpoints.Load()
	e := old[endpoint]
	if e == nil {
		e = &endpointSeries{}
		next := make(map[string]*endpointSeries, len(old)+1)
		for k, v := range old {
			next[k] = v
		}
		next[endpoint] = e
		r.endpoints.Store(&next)
	}
	var list []statusSeries
	if p := e.byMethod[method].Load(); p != nil {
		list = *p
	}
	for _, s := range list {
		if s.status == status {
			return s.series
		}
	}
	s := series{
		requests: r.m.requests.WithLabelValues(r.service, endpoint, methods[method], strconv.Itoa(int(status))),
		duration: r.m.duration.WithLabelValues(r.service, endpoint, methods[method]),
	}
	list = append(list[:len(list):len(list)], statusSeries{status, s})
	e.byMethod[method].Store(&list)
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
