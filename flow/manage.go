package flow

import (
	"context"
	"errors"
	"fmt"

	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/service"
)

// Management configures the management API (package manage: ProcessPype's
// paths for listing, registering, starting, stopping, configuring and
// removing services), served under o.Prefix, "/admin" by default. It is on
// by default; o.Disabled turns it off. It needs a bearer token when o.Token
// or REPLICAFLOW_ADMIN_TOKEN is set, and answers loopback clients only when
// neither is.
func Management(o manage.Options) Option {
	return func(c *options) { c.management = &o }
}

// Manager returns the flow's management API (nil when it is off), through
// which Go code can also register, start, stop and remove services.
func (f *Flow) Manager() *manage.Manager { return f.manager }

// Manage replaces the flow's management API with one configured by o,
// mounted at once, and returns its Manager. With o.Disabled the flow has no
// management API. It panics like Mount when the prefix is taken.
func (f *Flow) Manage(o manage.Options) *manage.Manager {
	if old := f.manager; old != nil && old.Enabled() {
		f.unmount(old.Prefix())
	}
	f.manager = nil
	m := f.newManager(o)
	if m.Enabled() {
		f.Mount(m.Prefix(), m.Handler())
		f.manager = m
	}
	return m
}

func (f *Flow) newManager(o manage.Options) *manage.Manager {
	if o.Version == "" {
		o.Version = openapi.InfoFromEnv(f.cfg.info).Version
	}
	if o.State == nil {
		o.State = f.state
	}
	if o.Remote == nil && f.cfg.nats != nil {
		o.Remote = func(ctx context.Context) (any, error) {
			if f.nats.Load() == nil {
				return []any{}, nil // not connected yet
			}
			return f.RemoteInstances(ctx)
		}
	}
	return manage.New(manageHost{f}, o)
}

// state is the flow's state as the management API reports it.
func (f *Flow) state() string { return string(f.State()) }

// manageHost lets the management API add and remove the flow's services
// without importing package flow.
type manageHost struct{ f *Flow }

func (h manageHost) AddService(svc *service.Service) error { return h.f.addService(svc) }

func (h manageHost) RemoveService(ctx context.Context, name string) error {
	err := h.f.RemoveService(ctx, name)
	if errors.Is(err, service.ErrNoService) {
		return fmt.Errorf("%w: %q", manage.ErrNoService, name)
	}
	return err
}

func (h manageHost) Lookup(name string) *service.Service { return h.f.Lookup(name) }
func (h manageHost) Services() []*service.Service        { return h.f.Services() }
