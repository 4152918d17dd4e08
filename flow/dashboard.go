package flow

import (
	"context"
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/replicaflow/replicaflow/dashboard"
)

// Dashboard serves the live dashboard (package dashboard: services,
// replicas, load, latency and the autoscaler's decisions, with start and
// stop buttons) at /dashboard when the flow starts, and runs its sampler
// until the flow shuts down. It follows the management API's protection:
// a bearer token when REPLICAFLOW_ADMIN_TOKEN (or dashboard.Token) is set,
// else loopback clients only. Its buttons call the management API, so add
// Management too; pass dashboard.Admin when that is not under "/admin".
//
// For an app served through Handler without Start, call the flow's
// MountDashboard method instead.
func Dashboard(opts ...dashboard.Option) Option {
	var boards sync.Map // *Flow → *dashboard.Dashboard: a flow started again keeps its mount
	return func(c *options) {
		c.onStart = append(c.onStart, func(ctx context.Context, f *Flow) error {
			if d, ok := boards.Load(f); ok {
				d.(*dashboard.Dashboard).Start()
				return nil
			}
			d := f.newDashboard(opts)
			if err := f.mount(d.Path(), d.Handler()); err != nil {
				return err
			}
			boards.Store(f, d)
			d.Start()
			return nil
		})
		c.onShutdown = append(c.onShutdown, func(ctx context.Context, f *Flow) error {
			if d, ok := boards.Load(f); ok {
				d.(*dashboard.Dashboard).Close()
			}
			return nil
		})
	}
}

// MountDashboard mounts the dashboard on the flow at once (see Dashboard),
// starts its sampler and returns it; Close the dashboard when done with the
// flow. It panics like Mount when the path is taken.
func (f *Flow) MountDashboard(opts ...dashboard.Option) *dashboard.Dashboard {
	d := f.newDashboard(opts)
	f.Mount(d.Path(), d.Handler())
	d.Start()
	return d
}

func (f *Flow) newDashboard(opts []dashboard.Option) *dashboard.Dashboard {
	var base []dashboard.Option
	if f.metrics != nil {
		base = append(base, dashboard.Metrics(prometheus.Gatherer(f.metrics.Registry())))
	}
	if f.cfg.info.Title != "" {
		base = append(base, dashboard.Title(f.cfg.info.Title))
	}
	return dashboard.New(f, append(base, opts...)...)
}
