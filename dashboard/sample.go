package dashboard

import (
	"math"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/replicaflow/replicaflow/metrics"
)

// counters are one service's cumulative request figures at one sample.
type counters struct {
	ok     bool      // the registry had figures for the service
	total  float64   // requests served
	errors float64   // of which answered 5xx
	bounds []float64 // latency buckets' upper bounds, +Inf last
	cum    []float64 // cumulative count per bucket
}

// point is one sample of one service.
type point struct {
	seq                                                             uint64
	at                                                              time.Time
	running, starting, stopping, pending, desired, inFlight, queued int
	c                                                               counters
}

// track is the history of one service: its samples, oldest first.
type track struct {
	id     string
	points []point
}

func (t *track) add(p point, max int) {
	if len(t.points) >= max {
		n := copy(t.points, t.points[len(t.points)-max+1:])
		clear(t.points[n:])
		t.points = t.points[:n]
	}
	t.points = append(t.points, p)
}

var (
	requestsName = metrics.Namespace + "_http_requests_total"
	durationName = metrics.Namespace + "_http_request_duration_seconds"
)

// sample reads every service and the registry once and records a point per
// service; services that left the source lose their history.
func (d *Dashboard) sample(now time.Time) {
	figures := d.gather()
	services := d.src.Services()
	max := int(d.cfg.history/d.cfg.interval) + 1

	d.mu.Lock()
	defer d.mu.Unlock()
	d.seq++
	seen := make(map[string]bool, len(services))
	for _, s := range services {
		name := s.Name()
		seen[name] = true
		st := s.Status().Replicas
		tr := d.tracks[name]
		if tr == nil || tr.id != s.ID() {
			tr = &track{id: s.ID()}
			d.tracks[name] = tr
		}
		p := point{
			seq: d.seq, at: now,
			running: st.Running, starting: st.Starting, stopping: st.Stopping, pending: st.Pending,
			desired: st.Desired, inFlight: st.InFlight, queued: st.Queued,
		}
		if c := figures[name]; c != nil {
			p.c = *c
		} else if figures != nil {
			p.c.ok = true // metrics are on and the service has served nothing yet
		}
		tr.add(p, max)
	}
	for name := range d.tracks {
		if !seen[name] {
			delete(d.tracks, name)
		}
	}
}

// gather reads the request counters and latency histograms of every service
// from the registry, summed over endpoints, methods and statuses.
func (d *Dashboard) gather() map[string]*counters {
	if d.cfg.gatherer == nil {
		return nil
	}
	families, _ := d.cfg.gatherer.Gather() // on a partial failure, use what came
	out := map[string]*counters{}
	get := func(m *dto.Metric) *counters {
		name := label(m, "service")
		c := out[name]
		if c == nil {
			c = &counters{ok: true}
			out[name] = c
		}
		return c
	}
	for _, mf := range families {
		switch mf.GetName() {
		case requestsName:
			for _, m := range mf.GetMetric() {
				c, v := get(m), m.GetCounter().GetValue()
				c.total += v
				if strings.HasPrefix(label(m, "status"), "5") {
					c.errors += v
				}
			}
		case durationName:
			for _, m := range mf.GetMetric() {
				addHistogram(get(m), m.GetHistogram())
			}
		}
	}
	return out
}

// addHistogram adds h's buckets to c's, matching them by upper bound.
func addHistogram(c *counters, h *dto.Histogram) {
	bs := h.GetBucket()
	if c.bounds == nil {
		c.bounds = make([]float64, 0, len(bs)+1)
		for _, b := range bs {
			c.bounds = append(c.bounds, b.GetUpperBound())
		}
		if len(c.bounds) == 0 || !math.IsInf(c.bounds[len(c.bounds)-1], 1) {
			c.bounds = append(c.bounds, math.Inf(1))
		}
		c.cum = make([]float64, len(c.bounds))
	}
	for i, b := range bs {
		if i < len(c.bounds) && c.bounds[i] == b.GetUpperBound() {
			c.cum[i] += float64(b.GetCumulativeCount())
		}
	}
	if len(bs) == 0 || !math.IsInf(bs[len(bs)-1].GetUpperBound(), 1) {
		c.cum[len(c.cum)-1] += float64(h.GetSampleCount()) // the implicit +Inf bucket
	}
}

func label(m *dto.Metric, name string) string {
	for _, l := range m.GetLabel() {
		if l.GetName() == name {
			return l.GetValue()
		}
	}
	return ""
}
