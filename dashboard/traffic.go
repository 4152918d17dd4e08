package dashboard

import (
	"math"
	"time"
)

// Traffic is what a service served over the dashboard's window.
type Traffic struct {
	Seconds   float64  `json:"seconds"`    // the span the figures cover
	Requests  float64  `json:"requests"`   // requests answered in it
	RPS       float64  `json:"rps"`        // requests per second
	ErrorRate *float64 `json:"error_rate"` // share answered 5xx; null with no requests
	P50       *float64 `json:"p50_ms"`     // median latency in milliseconds; null with no requests
	P99       *float64 `json:"p99_ms"`     // 99th percentile latency in milliseconds; null with no requests
}

// traffic computes the figures between the latest point and the point one
// window earlier (or the oldest one); nil without two points with figures.
func (t *track) traffic(window time.Duration) *Traffic {
	n := len(t.points)
	if n < 2 || !t.points[n-1].c.ok {
		return nil
	}
	last := t.points[n-1]
	cutoff := last.at.Add(-window)
	base := t.points[0]
	for i := n - 2; i >= 0; i-- {
		if !t.points[i].at.After(cutoff) {
			base = t.points[i]
			break
		}
	}
	dt := last.at.Sub(base.at).Seconds()
	if dt <= 0 {
		return nil
	}
	d := delta(base.c, last.c)
	tr := &Traffic{Seconds: dt, Requests: d.total, RPS: d.total / dt}
	if d.total > 0 {
		tr.ErrorRate = ptr(d.errors / d.total)
	}
	if len(d.cum) > 0 && d.cum[len(d.cum)-1] > 0 {
		tr.P50 = ptr(1000 * quantile(0.5, d.bounds, d.cum))
		tr.P99 = ptr(1000 * quantile(0.99, d.bounds, d.cum))
	}
	return tr
}

// rate is the requests per second between two points, nil without figures.
func rate(prev, cur point) *float64 {
	dt := cur.at.Sub(prev.at).Seconds()
	if !cur.c.ok || dt <= 0 {
		return nil
	}
	return ptr(delta(prev.c, cur.c).total / dt)
}

// delta is what happened between two samples. A counter that went down was
// reset (the service was removed and added again): then it counts from zero.
func delta(from, to counters) counters {
	if !from.ok || to.total < from.total || len(from.cum) != len(to.cum) {
		from = counters{cum: make([]float64, len(to.cum))}
	}
	d := counters{ok: true, total: to.total - from.total, errors: max(0, to.errors-from.errors), bounds: to.bounds}
	d.cum = make([]float64, len(to.cum))
	for i := range to.cum {
		d.cum[i] = max(0, to.cum[i]-from.cum[i])
	}
	return d
}

// quantile estimates the q-quantile from cumulative bucket counts the way
// Prometheus's histogram_quantile does: linear within the bucket that holds
// the rank, the first bucket starting at 0, and the +Inf bucket answered by
// the highest finite bound.
func quantile(q float64, bounds, cum []float64) float64 {
	n := len(cum)
	if n == 0 || cum[n-1] <= 0 {
		return math.NaN()
	}
	rank := q * cum[n-1]
	i := 0
	for i < n-1 && cum[i] < rank {
		i++
	}
	if math.IsInf(bounds[i], 1) {
		if i == 0 {
			return math.NaN()
		}
		return bounds[i-1]
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = bounds[i-1], cum[i-1]
	}
	in := cum[i] - below
	if in <= 0 {
		return bounds[i]
	}
	return lower + (bounds[i]-lower)*(rank-below)/in
}

func ptr(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}
