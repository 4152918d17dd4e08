package flow

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/replicaflow/replicaflow/metrics"
)

// poolCollector exports every service's replica pool as gauges, read at
// scrape time.
type poolCollector struct {
	f                                *Flow
	replicas, inflight, queued, caps *prometheus.Desc
}

func newPoolCollector(f *Flow) *poolCollector {
	ns := metrics.Namespace
	return &poolCollector{
		f: f,
		replicas: prometheus.NewDesc(ns+"_replicas", "Replicas of a service by state (running, starting, stopping, pending, desired, min, max).",
			[]string{"service", "state"}, nil),
		inflight: prometheus.NewDesc(ns+"_pool_requests_running", "Requests holding a replica slot.", []string{"service"}, nil),
		queued:   prometheus.NewDesc(ns+"_pool_requests_queued", "Requests waiting for a replica slot.", []string{"service"}, nil),
		caps:     prometheus.NewDesc(ns+"_pool_capacity", "Slots of the running replicas.", []string{"service"}, nil),
	}
}

func (c *poolCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.replicas
	ch <- c.inflight
	ch <- c.queued
	ch <- c.caps
}

func (c *poolCollector) Collect(ch chan<- prometheus.Metric) {
	for _, s := range c.f.Services() {
		st := s.Status().Replicas
		name := s.Name()
		for state, n := range map[string]int{
			"running": st.Running, "starting": st.Starting, "stopping": st.Stopping,
			"pending": st.Pending, "desired": st.Desired, "min": st.Min, "max": st.Max,
		} {
			ch <- prometheus.MustNewConstMetric(c.replicas, prometheus.GaugeValue, float64(n), name, state)
		}
		ch <- prometheus.MustNewConstMetric(c.inflight, prometheus.GaugeValue, float64(st.InFlight), name)
		ch <- prometheus.MustNewConstMetric(c.queued, prometheus.GaugeValue, float64(st.Queued), name)
		ch <- prometheus.MustNewConstMetric(c.caps, prometheus.GaugeValue, float64(st.Capacity), name)
	}
}
