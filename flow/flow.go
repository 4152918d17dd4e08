package flow

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/hub"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/metrics"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/scaling"
	"github.com/replicaflow/replicaflow/service"
)

// Flow is an app: a set of services served over HTTP. Make one with New.
type Flow struct {
	cfg     options
	cpus    *scaling.CPUs
	spec    *openapi.Spec
	metrics *metrics.Metrics
	manager *manage.Manager

	mu         sync.Mutex
	services   []*service.Service
	system     []mount // the flow's own routes: health, docs, metrics, ...
	middleware []gin.HandlerFunc

	table  atomic.Pointer[table]
	bodies bodies

	run lifecycle
}

// New makes a Flow. Unless GIN_MODE is set, it puts gin in release mode, so
// that the engines the flow builds do not print gin's debug lines.
func New(opts ...Option) *Flow {
	if os.Getenv(gin.EnvGinMode) == "" && gin.Mode() == gin.DebugMode {
		gin.SetMode(gin.ReleaseMode)
	}
	f := &Flow{cfg: defaultConfig()}
	for _, o := range opts {
		o(&f.cfg)
	}
	f.cpus = scaling.NewCPUs(f.cfg.cpus)
	if f.cfg.health {
		f.mountHealth()
	}
	f.mountObservers()
	f.mountManagement()
	f.rebuildLocked()
	for _, fn := range f.cfg.setup {
		fn(f)
	}
	return f
}

// Service makes a service with opts, attaches it to the flow and returns it.
// It panics like AddService.
func (f *Flow) Service(opts ...service.Option) *service.Service {
	svc := service.New(opts...)
	f.AddService(svc)
	return svc
}

// AddService attaches a service built apart. It panics, naming the service
// and the rule, when the service's options break a rule (see
// service.Options.Check) or its base route, ID or name is already taken. A
// service may be added while the flow serves; it is started at once, and
// one that fails to start stays attached in the error state (logged, shown
// by its status and /readyz) rather than failing the caller.
func (f *Flow) AddService(svc *service.Service) {
	if err := f.addService(svc); err != nil {
		panic("replicaflow: " + err.Error())
	}
}

func (f *Flow) addService(svc *service.Service) error {
	if svc == nil {
		return fmt.Errorf("nil service")
	}
	o := svc.Options()
	if err := o.Check(); err != nil {
		return fmt.Errorf("%s: %w", svc, err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		switch {
		case s == svc:
			return fmt.Errorf("%s is already attached", svc)
		case s.BaseRoute() == o.BaseRoute:
			return fmt.Errorf("%s: base route %s is already used by %s", svc, o.BaseRoute, s)
		case s.ID() == o.ServiceID:
			return fmt.Errorf("%s: service ID %s is already used by %s", svc, o.ServiceID, s)
		case s.Name() == o.Name:
			return fmt.Errorf("%s: name %q is already used by %s; set service.Name", svc, o.Name, s)
		}
	}
	for _, m := range f.system {
		if overlaps(m.prefix, o.BaseRoute) {
			return fmt.Errorf("%s: base route %s collides with the flow's own route %s", svc, o.BaseRoute, m.prefix)
		}
	}
	f.attachLocked(svc)
	if st := f.run.load(); (st == Starting || st == Running) && !o.ManualStart {
		if err := ignoreIdle(svc.Start(context.Background())); err != nil {
			f.cfg.logger.Error("replicaflow: a service added to the running flow failed to start", "service", svc.Name(), "error", err)
		}
	}
	f.services = append(f.services, svc)
	f.rebuildLocked()
	f.refreshDocs()
	return nil
}

// refreshDocs marks the OpenAPI document stale: services or endpoints
// changed.
func (f *Flow) refreshDocs() {
	if f.spec != nil {
		f.spec.Invalidate()
	}
}

// RemoveService detaches the service with the given name: its routes leave
// the dispatcher at once, then it stops, letting the requests in flight
// finish until ctx ends. It returns service.ErrNoService when no service has that
// name, and the service's stop error, if any.
func (f *Flow) RemoveService(ctx context.Context, name string) error {
	f.mu.Lock()
	var svc *service.Service
	for i, s := range f.services {
		if s.Name() == name {
			svc = s
			f.services = append(f.services[:i:i], f.services[i+1:]...)
			f.rebuildLocked()
			break
		}
	}
	f.mu.Unlock()
	if svc == nil {
		return fmt.Errorf("%w: %q", service.ErrNoService, name)
	}
	f.serviceRemoved(svc)
	return ignoreIdle(svc.Stop(ctx))
}

// serviceMiddlewareLocked is the chain that runs before a service's own
// middleware: the flow's observers, then the flow's middleware.
func (f *Flow) serviceMiddlewareLocked(svc *service.Service) []gin.HandlerFunc {
	var mw []gin.HandlerFunc
	if f.metrics != nil {
		mw = append(mw, f.metrics.Middleware(svc.Name()))
	}
	return append(mw, f.middleware...)
}

// attachLocked gives svc the flow's middleware, CPUs and logger.
func (f *Flow) attachLocked(svc *service.Service) {
	hub.AttachService(svc, hub.Attachment{
		Middleware: f.serviceMiddlewareLocked(svc),
		CPUs:       f.cpus,
		Changed:    f.refreshDocs,
		Logger:     f.cfg.logger,
	})
}

// Services returns the attached services, in the order they were added.
func (f *Flow) Services() []*service.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*service.Service(nil), f.services...)
}

// Lookup returns the attached service with the given name, or nil.
func (f *Flow) Lookup(name string) *service.Service {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.services {
		if s.Name() == name {
			return s
		}
	}
	return nil
}

// Use adds middleware that runs for every request to every service, before
// the service's own middleware.
func (f *Flow) Use(mw ...gin.HandlerFunc) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.middleware = append(f.middleware, mw...)
	for _, s := range f.services {
		f.attachLocked(s)
	}
	f.rebuildLocked()
}

// Logger returns the flow's logger.
func (f *Flow) Logger() *slog.Logger { return f.cfg.logger }

// Handler returns the app as an http.Handler, to serve with any server or
// from httptest. It is the Flow itself.
func (f *Flow) Handler() http.Handler { return f }

// ServeHTTP dispatches a request to the service with the longest base route
// that contains its path.
func (f *Flow) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.run.load() == Initialized {
		f.startOnFirstRequest()
	}
	if b := f.watchBody(w, r); b != nil {
		defer b.finish() // a body left unread stays bounded while net/http drains it
	}
	f.table.Load().lookup(r.URL.Path).ServeHTTP(w, r)
}

// Endpoint adds a typed endpoint to a service: h gets the request bound into
// Req and its result is rendered (see packages requests and responses). It
// panics when the route is malformed, the request type cannot bind, or the
// service already has the method and route.
func Endpoint[Req, Resp any](svc *service.Service, method, route string, h func(context.Context, Req) (Resp, error), opts ...endpoint.Option) *endpoint.Endpoint {
	return service.Handle(svc, method, route, h, opts...)
}
