// Package service holds Services: a named group of endpoints under one base
// route, with its resource options, middleware and replicas.
package service

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/hub"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/scaling"
)

// Service is a group of endpoints that share a base route, options, a
// middleware chain and a pool of replicas. Make one with New (or a flow's
// Service method), add endpoints with Handle or WebSocket, and attach it to
// a flow.
type Service struct {
	opts   Options // with defaults
	config *configurer
	cpus   *scaling.CPUs
	budget *endpoint.Budget // nil when the options turn it off

	mu         sync.Mutex
	endpoints  []*endpoint.Endpoint
	middleware []gin.HandlerFunc
	outer      []gin.HandlerFunc // the flow's middleware, set when attached
	changed    func()            // tells the flow the endpoints changed
	attached   bool

	engine  atomic.Pointer[gin.Engine]
	logger  atomic.Pointer[slog.Logger]
	poolLog atomic.Pointer[slog.Logger] // the logger without the service attribute, which the pool adds

	lc         sync.Mutex // serializes lifecycle transitions; writers of what follows hold it
	info       sync.Mutex // guards err, configured and current for readers: never held across I/O
	state      atomic.Pointer[State]
	err        error
	configured bool
	current    any
	deps       []dep
	pool       atomic.Pointer[scaling.Pool]
}

// ErrNoService is returned for a service name that is not known.
var ErrNoService = errors.New("no such service")

func init() { hub.AttachService = attach }

// New makes a detached service from options; attach it to a flow with the
// flow's AddService, which panics naming the rule when the options break
// one (see Options.Check).
func New(opts ...Option) *Service {
	var st settings
	for _, opt := range opts {
		opt(&st)
	}
	s := &Service{opts: st.Options.withDefaults(), config: st.config}
	if s.opts.BodyBudget > 0 {
		s.budget = endpoint.NewBudget(s.opts.BodyBudget)
	}
	s.setLogger(slog.Default())
	init := Initialized
	s.state.Store(&init)
	return s
}

// attach joins svc (a *Service) to a flow: the flow's middleware runs
// before the service's own, its logger receives the service's logs, and
// replicas reserve from its CPUs.
func attach(svc any, a hub.Attachment) {
	s := svc.(*Service)
	s.mu.Lock()
	defer s.mu.Unlock()
	if a.Logger != nil {
		s.setLogger(a.Logger)
	}
	s.cpus, s.changed = a.CPUs, a.Changed
	s.outer = append([]gin.HandlerFunc(nil), a.Middleware...)
	s.attached = true
	s.rebuildLocked()
}

// setLogger makes the service log through l's handler, filtered at the
// service's own level.
func (s *Service) setLogger(l *slog.Logger) {
	pl := slog.New(levelHandler{l.Handler(), s.opts.LogLevel})
	s.poolLog.Store(pl)
	s.logger.Store(pl.With("service", s.opts.Name))
}

// ID returns the service's instance ID.
func (s *Service) ID() string { return s.opts.ServiceID }

// Name returns the service's stable name.
func (s *Service) Name() string { return s.opts.Name }

// BaseRoute returns the route that prefixes the service's endpoints.
func (s *Service) BaseRoute() string { return s.opts.BaseRoute }

// Options returns the service's options, with their defaults applied.
func (s *Service) Options() Options { return s.opts }

// String returns the service's name and base route.
func (s *Service) String() string {
	return fmt.Sprintf("service %q (%s)", s.opts.Name, s.opts.BaseRoute)
}

// Logger returns the service's logger, which logs at the service's level.
func (s *Service) Logger() *slog.Logger { return s.logger.Load() }

// AddEndpoint adds an endpoint to the service. It panics when the service
// already has an endpoint with the same method and route. Endpoints may be
// added while the service serves.
func (s *Service) AddEndpoint(ep *endpoint.Endpoint) {
	if ep == nil {
		panic("replicaflow: " + s.String() + ": nil endpoint")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range s.endpoints {
		if e.Method == ep.Method && e.Route == ep.Route {
			panic(fmt.Sprintf("replicaflow: %s: endpoint %s is already registered", s, ep))
		}
	}
	s.endpoints = append(s.endpoints, ep)
	if s.attached {
		s.rebuildLocked()
		if s.changed != nil {
			s.changed()
		}
	}
}

// Endpoints returns the service's endpoints, in the order they were added.
func (s *Service) Endpoints() []*endpoint.Endpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*endpoint.Endpoint(nil), s.endpoints...)
}

// Use adds middleware to the service's chain; it runs for every request to
// the service, after the flow's middleware, before binding.
func (s *Service) Use(mw ...gin.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.middleware = append(s.middleware, mw...)
	if s.attached {
		s.rebuildLocked()
	}
}

// ServeHTTP serves a request whose path is under the service's base route.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if e := s.engine.Load(); e != nil {
		e.ServeHTTP(w, r)
		return
	}
	http.Error(w, "service not attached to a flow", http.StatusServiceUnavailable)
}

// rebuildLocked builds a new gin engine from the endpoints and middleware
// and swaps it in: gin cannot change routes while it serves.
func (s *Service) rebuildLocked() {
	e := gin.New()
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	e.RedirectTrailingSlash = false
	e.RedirectFixedPath = false
	e.Use(s.recoverPanics)
	e.Use(s.outer...)
	if s.opts.LogLevel <= slog.LevelDebug {
		e.Use(s.accessLog)
	}
	e.Use(s.middleware...)
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)
	for _, r := range s.routesLocked() {
		e.Handle(r.method, r.path, r.handler)
	}
	s.engine.Store(e)
}

// route is one route of the service's engine.
type route struct {
	method, path string
	handler      gin.HandlerFunc
}

// routesLocked returns the routes of the engine: each endpoint's; a HEAD
// beside every GET that has none of its own, which runs the GET handler
// (the server sends its status and headers, not its body, as net/http and
// Starlette do); and, for each route that is not a catch-all, the same path
// with the other trailing slash, which answers 404 problem details naming
// the route (gin would answer an HTML 301 redirect). A catch-all route
// ("/files/*path") gets the path without it ("/files") in the same way.
func (s *Service) routesLocked() []route {
	var routes []route
	taken := map[string]bool{}
	for _, ep := range s.endpoints {
		taken[ep.Method+" "+s.Path(ep.Route)] = true
	}
	add := func(method, path string, h gin.HandlerFunc) {
		if !taken[method+" "+path] {
			taken[method+" "+path] = true
			routes = append(routes, route{method, path, h})
		}
	}
	for _, ep := range s.endpoints {
		path, h := s.Path(ep.Route), ep.Handler((*host)(s))
		routes = append(routes, route{ep.Method, path, h})
		if ep.Method == http.MethodGet && !ep.WebSocket {
			add(http.MethodHead, path, h)
		}
	}
	for _, r := range slices.Clone(routes) {
		other, ok := otherSlash(r.path)
		if !ok || slices.ContainsFunc(routes, func(o route) bool {
			return o.method == r.method && strings.HasPrefix(o.path, other+"*")
		}) {
			continue
		}
		add(r.method, other, slashMismatch(r.path))
	}
	return routes
}

// otherSlash returns path with its trailing slash added or removed; a
// catch-all route ("/files/*path") gives the path without the catch-all
// ("/files"), and the root gives none.
func otherSlash(path string) (string, bool) {
	if i := strings.Index(path, "/*"); i >= 0 {
		return path[:i], i > 0
	}
	if path == "/" {
		return "", false
	}
	if strings.HasSuffix(path, "/") {
		return strings.TrimSuffix(path, "/"), true
	}
	return path + "/", true
}

// slashMismatch answers a request whose path differs from route only by
// its trailing slash.
func slashMismatch(route string) gin.HandlerFunc {
	return func(c *gin.Context) {
		responses.AbortWithProblem(c, responses.NewProblem(http.StatusNotFound,
			"no endpoint at "+c.Request.URL.Path+"; the route is "+route+" (mind the trailing slash)", nil), nil)
	}
}

func join(base, route string) string {
	if base == "/" {
		return route
	}
	if route == "/" {
		return base
	}
	return base + route
}

// Path returns the full path of an endpoint route of the service.
func (s *Service) Path(route string) string { return join(s.opts.BaseRoute, route) }

func (s *Service) accessLog(c *gin.Context) {
	c.Next()
	if s.Logger().Enabled(c, slog.LevelDebug) {
		s.Logger().LogAttrs(c, slog.LevelDebug, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.String("request_id", c.Writer.Header().Get(responses.RequestIDHeader)))
	}
}

// recoverPanics answers 500 problem details when middleware panics (the endpoint
// adapter recovers its own panics): the server keeps serving and the client
// gets an answer.
func (s *Service) recoverPanics(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			responses.HandlePanic(c, s.Logger(), p)
		}
	}()
	c.Next()
}

func notFound(c *gin.Context) {
	responses.AbortWithProblem(c, responses.NewProblem(http.StatusNotFound, "no endpoint at "+c.Request.URL.Path, nil), nil)
}

func methodNotAllowed(c *gin.Context) {
	responses.AbortWithProblem(c, responses.NewProblem(http.StatusMethodNotAllowed,
		c.Request.Method+" is not allowed here; allowed: "+c.Writer.Header().Get("Allow"), nil), nil)
}
