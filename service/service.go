// Package service holds Services: a named group of endpoints under one base
// route, with its resource options, middleware and replicas.
package service

import (
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/scaling"
)

// Service is a group of endpoints that share a base route, options, a
// middleware chain and a pool of replicas. Make one with New (or a flow's
// Service method), add endpoints, and attach it to a flow.
type Service struct {
	opts   Options
	config *configurer
	tune   func(*scaling.Config)
	cpus   *scaling.CPUs

	mu         sync.Mutex
	endpoints  []*endpoint.Endpoint
	middleware []gin.HandlerFunc
	outer      []gin.HandlerFunc // the flow's middleware, set when attached
	changed    func()            // tells the flow the endpoints changed
	attached   bool

	engine  atomic.Pointer[gin.Engine]
	logger  *slog.Logger
	poolLog *slog.Logger // the logger without the service attribute, which the pool adds
	level   slog.Level

	lc         sync.Mutex // serializes lifecycle transitions; writers of what follows hold it
	info       sync.Mutex // guards err, configured and current for readers: never held across I/O
	state      atomic.Pointer[State]
	err        error
	configured bool
	current    any
	deps       []dep
	pool       atomic.Pointer[scaling.Pool]
}

var nameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]*$`)

// New makes a detached service from options; attach it to a flow with the
// flow's AddService. It panics when an option cannot be honoured (see
// Options.Check for the rules checked when it is attached).
func New(opts ...Option) *Service {
	st := settings{Options: DefaultOptions()}
	for _, opt := range opts {
		opt(&st)
	}
	o := st.Options.withDefaults()
	s := &Service{opts: o, config: st.config, tune: st.tune, level: o.LogLevel}
	s.SetLogger(slog.Default())
	init := Initialized
	s.state.Store(&init)
	return s
}

func (o Options) withDefaults() Options {
	if o.ServiceID == "" {
		o.ServiceID = uuid.NewString()
	}
	if o.BaseRoute == "" {
		o.BaseRoute = "/"
	}
	if !strings.HasPrefix(o.BaseRoute, "/") {
		o.BaseRoute = "/" + o.BaseRoute
	}
	if len(o.BaseRoute) > 1 {
		o.BaseRoute = strings.TrimRight(o.BaseRoute, "/")
	}
	if o.Name == "" {
		o.Name = nameFromRoute(o.BaseRoute)
	}
	if o.NumCPUs == 0 {
		o.NumCPUs = 1
	}
	if o.MaxReplicas == 0 {
		o.MaxReplicas = max(1, o.MinReplicas)
	}
	if o.NumReplicas == 0 {
		o.NumReplicas = o.MinReplicas
	}
	if o.MaxConcurrentQueries == 0 {
		o.MaxConcurrentQueries = 100
	}
	if o.TargetOngoingRequests == 0 {
		o.TargetOngoingRequests = 1
	}
	return o
}

func nameFromRoute(route string) string {
	name := strings.Trim(route, "/")
	if name == "" {
		return "root"
	}
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
	}
	return b.String()
}

// Check returns an error naming the rule an option set breaks: num replicas
// outside [min, max], min above max, a target above max concurrent queries,
// a negative or zero value where one is needed, a malformed name or route.
func (o Options) Check() error {
	switch {
	case !nameRE.MatchString(o.Name):
		return fmt.Errorf("name %q must be letters, digits, '-', '_' or '.', starting with a letter or digit", o.Name)
	case strings.ContainsAny(o.BaseRoute, ":*{}?#"):
		return fmt.Errorf("base route %q must be a plain path (no parameters, wildcards or query)", o.BaseRoute)
	case o.MinReplicas < 0:
		return fmt.Errorf("min replicas %d is negative", o.MinReplicas)
	case o.MaxReplicas < 1:
		return fmt.Errorf("max replicas %d must be at least 1", o.MaxReplicas)
	case o.MinReplicas > o.MaxReplicas:
		return fmt.Errorf("min replicas %d is above max replicas %d", o.MinReplicas, o.MaxReplicas)
	case o.NumReplicas < o.MinReplicas || o.NumReplicas > o.MaxReplicas:
		return fmt.Errorf("num replicas %d is outside [min replicas %d, max replicas %d]", o.NumReplicas, o.MinReplicas, o.MaxReplicas)
	case o.MaxConcurrentQueries < 1:
		return fmt.Errorf("max concurrent queries %d must be at least 1", o.MaxConcurrentQueries)
	case o.TargetOngoingRequests <= 0:
		return fmt.Errorf("target ongoing requests per replica %g must be above 0", o.TargetOngoingRequests)
	case o.TargetOngoingRequests > float64(o.MaxConcurrentQueries):
		return fmt.Errorf("target ongoing requests per replica %g is above max concurrent queries %d", o.TargetOngoingRequests, o.MaxConcurrentQueries)
	case o.NumCPUs < 0:
		return fmt.Errorf("num CPUs %g is negative", o.NumCPUs)
	case o.UpscaleDelay < 0 || o.DownscaleDelay < 0 || o.RequestTimeout < 0:
		return fmt.Errorf("delays and timeouts must not be negative")
	}
	return nil
}

// ID returns the service's instance ID.
func (s *Service) ID() string { return s.opts.ServiceID }

// Name returns the service's stable name.
func (s *Service) Name() string { return s.opts.Name }

// BaseRoute returns the route that prefixes the service's endpoints.
func (s *Service) BaseRoute() string { return s.opts.BaseRoute }

// Options returns the service's options.
func (s *Service) Options() Options { return s.opts }

// String returns the service's name and base route.
func (s *Service) String() string {
	return fmt.Sprintf("service %q (%s)", s.opts.Name, s.opts.BaseRoute)
}

// Logger returns the service's logger, which logs at the service's level.
func (s *Service) Logger() *slog.Logger { return s.logger }

// SetLogger makes the service log through l's handler, filtered at the
// service's own level. The flow calls it when the service is attached.
func (s *Service) SetLogger(l *slog.Logger) {
	s.poolLog = slog.New(levelHandler{l.Handler(), s.level})
	s.logger = s.poolLog.With("service", s.opts.Name)
}

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

// Attach is called by the flow when the service joins it: outer is the
// flow's middleware, which runs before the service's own, and cpus the
// flow's CPU capacity that replicas reserve from (nil: no limit).
func (s *Service) Attach(outer []gin.HandlerFunc, cpus *scaling.CPUs, changed func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cpus, s.changed = cpus, changed
	s.outer = append([]gin.HandlerFunc(nil), outer...)
	s.attached = true
	s.rebuildLocked()
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
	e.Use(s.recover)
	e.Use(s.outer...)
	if s.opts.LogLevel <= slog.LevelDebug {
		e.Use(s.accessLog)
	}
	e.Use(s.middleware...)
	e.NoRoute(notFound)
	e.NoMethod(methodNotAllowed)
	for _, ep := range s.endpoints {
		e.Handle(ep.Method, join(s.opts.BaseRoute, ep.Route), ep.Handler(s))
	}
	s.engine.Store(e)
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
	if s.logger.Enabled(c, slog.LevelDebug) {
		s.logger.LogAttrs(c, slog.LevelDebug, "request",
			slog.String("method", c.Request.Method),
			slog.String("path", c.Request.URL.Path),
			slog.Int("status", c.Writer.Status()),
			slog.String("request_id", c.Writer.Header().Get(responses.RequestIDHeader)))
	}
}

// recover answers 500 problem details when middleware panics (the endpoint
// adapter recovers its own panics): the server keeps serving and the client
// gets an answer.
func (s *Service) recover(c *gin.Context) {
	defer func() {
		if p := recover(); p != nil {
			responses.HandlePanic(c, s.logger, p)
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
