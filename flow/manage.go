package flow

import (
	"context"

	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// Management configures the management API (package manage: ProcessPype's
// paths for listing, registering, starting, stopping, configuring and
// removing services), served under o.Prefix, "/admin" by default. It is on
// by default; o.Disabled turns it off. It needs a bearer token when o.Token
// or REPLICAFLOW_ADMIN_TOKEN is set, and answers loopback clients only when
// neither is. New panics like Mount when the prefix is taken.
func Management(o manage.Options) Option {
	return func(c *options) { c.management = &o }
}

// Manager returns the flow's management API (nil when it is off), through
// which Go code can also register, start, stop and remove services, and
// packages that plug into the flow read its token or add remote discovery.
func (f *Flow) Manager() *manage.Manager { return f.manager }

// mountManagement mounts the management API the options ask for.
func (f *Flow) mountManagement() {
	o := f.cfg.management
	if o == nil || o.Disabled {
		return
	}
	m := manage.New(manageHost{f}, *o)
	f.Mount(m.Prefix(), m.Handler())
	f.manager = m
}

// manageHost lets the management API reach the flow without importing
// package flow.
type manageHost struct{ f *Flow }

func (h manageHost) AddService(svc *service.Service) error { return h.f.addService(svc) }

func (h manageHost) RemoveService(ctx context.Context, name string) error {
	return h.f.RemoveService(ctx, name)
}

func (h manageHost) Lookup(name string) *service.Service { return h.f.Lookup(name) }
func (h manageHost) Services() []*service.Service        { return h.f.Services() }
func (h manageHost) Version() string                     { return h.f.Info().Version }
func (h manageHost) State() string                       { return h.f.state() }

// state is the flow's state as the management API reports it.
func (f *Flow) state() string { return string(f.State()) }
