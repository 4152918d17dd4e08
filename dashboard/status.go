package dashboard

import (
	"slices"
	"time"

	"github.com/replicaflow/replicaflow/scaling"
)

// Status is the document the status endpoint serves: every service as it is
// now, with its recent history.
type Status struct {
	Title    string          `json:"title"`
	Time     time.Time       `json:"time"`
	Seq      uint64          `json:"seq"`              // the latest sample; pass it back as ?since= to get only newer history
	Interval float64         `json:"interval_seconds"` // time between samples
	Window   float64         `json:"window_seconds"`   // span of the traffic figures
	History  float64         `json:"history_seconds"`  // span of the history kept
	Admin    string          `json:"admin"`            // the management API's prefix, "" when the page has no buttons
	Metrics  bool            `json:"metrics"`          // whether traffic figures are available
	Services []ServiceStatus `json:"services"`
}

// ServiceStatus is one service in a Status.
type ServiceStatus struct {
	Name         string     `json:"name"`
	ID           string     `json:"service_id"`
	BaseRoute    string     `json:"base_route"`
	State        string     `json:"state"`
	Error        string     `json:"error,omitempty"`
	IsConfigured bool       `json:"is_configured"`
	Replicas     Replicas   `json:"replicas"`
	Traffic      *Traffic   `json:"traffic"`       // null until two samples with figures exist
	LastDecision *Decision  `json:"last_decision"` // the autoscaler's latest answer, changed or not
	Decisions    []Decision `json:"decisions"`     // its latest changes, newest first
	History      []Point    `json:"history"`       // samples, oldest first
}

// Replicas is a service's replica pool now.
type Replicas struct {
	Running    int  `json:"running"`
	Starting   int  `json:"starting"`
	Stopping   int  `json:"stopping"`
	Pending    int  `json:"pending"`
	Desired    int  `json:"desired"`
	Min        int  `json:"min"`
	Max        int  `json:"max"`
	Autoscaler bool `json:"autoscaler"`
	InFlight   int  `json:"in_flight"`
	Queued     int  `json:"queued"`
	Capacity   int  `json:"capacity"`
}

// Decision is one answer of the autoscaler.
type Decision struct {
	At      time.Time `json:"at"`
	From    int       `json:"from"`
	Desired int       `json:"desired"`
	Average float64   `json:"average"` // mean ongoing requests over the look-back window
	Reason  string    `json:"reason"`
}

// Point is one sample of a service.
type Point struct {
	Seq      uint64   `json:"seq"`
	T        int64    `json:"t"` // Unix milliseconds
	Running  int      `json:"running"`
	Pending  int      `json:"pending"`
	Desired  int      `json:"desired"`
	InFlight int      `json:"in_flight"`
	Queued   int      `json:"queued"`
	RPS      *float64 `json:"rps"` // null without figures
}

// Status returns every service as it is now, with its whole history.
func (d *Dashboard) Status() Status { return d.status(0) }

// status is Status with only the history points newer than since.
func (d *Dashboard) status(since uint64) Status {
	services := d.src.Services()
	st := Status{
		Title:    d.cfg.title,
		Time:     time.Now().UTC(),
		Interval: d.cfg.interval.Seconds(),
		Window:   d.cfg.window.Seconds(),
		History:  d.cfg.history.Seconds(),
		Admin:    d.cfg.admin,
		Metrics:  d.cfg.gatherer != nil,
		Services: make([]ServiceStatus, 0, len(services)),
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	st.Seq = d.seq
	for _, s := range services {
		ss := s.Status()
		r := ss.Replicas
		out := ServiceStatus{
			Name:         ss.Name,
			ID:           ss.ID,
			BaseRoute:    s.BaseRoute(),
			State:        string(ss.State),
			Error:        ss.Error,
			IsConfigured: ss.IsConfigured,
			Replicas: Replicas{
				Running: r.Running, Starting: r.Starting, Stopping: r.Stopping, Pending: r.Pending,
				Desired: r.Desired, Min: r.Min, Max: r.Max, Autoscaler: r.Autoscaler,
				InFlight: r.InFlight, Queued: r.Queued, Capacity: r.Capacity,
			},
			Decisions: make([]Decision, 0, len(r.Decisions)),
			History:   []Point{},
		}
		if !r.LastDecision.At.IsZero() {
			out.LastDecision = ptrTo(decision(r.LastDecision))
		}
		for _, dc := range slices.Backward(r.Decisions) {
			out.Decisions = append(out.Decisions, decision(dc))
		}
		if tr := d.tracks[ss.Name]; tr != nil && tr.id == ss.ID {
			out.Traffic = tr.traffic(d.cfg.window)
			for i, p := range tr.points {
				if p.seq <= since {
					continue
				}
				pt := Point{
					Seq: p.seq, T: p.at.UnixMilli(), Running: p.running, Pending: p.pending,
					Desired: p.desired, InFlight: p.inFlight, Queued: p.queued,
				}
				if i > 0 {
					pt.RPS = rate(tr.points[i-1], p)
				}
				out.History = append(out.History, pt)
			}
		}
		st.Services = append(st.Services, out)
	}
	return st
}

func decision(d scaling.Decision) Decision {
	return Decision{At: d.At.UTC(), From: d.From, Desired: d.Desired, Average: d.Average, Reason: d.Reason}
}

func ptrTo[T any](v T) *T { return &v }
