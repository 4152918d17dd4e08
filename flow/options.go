package flow

import (
	"context"
	"log/slog"
	"time"

	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/openapi"
)

// Option configures a Flow.
type Option func(*options)

type options struct {
	onStart         []func(context.Context, *Flow) error
	onShutdown      []func(context.Context, *Flow) error
	afterShutdown   []func(context.Context, *Flow) error
	setup           []func(*Flow)
	addr            string
	logger          *slog.Logger
	shutdownTimeout time.Duration
	timeouts        Timeouts
	health          bool
	cpus            float64
	metrics         bool
	metricsPath     string
	docs            bool
	docsPath        string
	specPath        string
	info            openapi.Info
	documentOwn     bool
	management      *manage.Options // nil: off
}

func defaultConfig() options {
	return options{
		logger:          slog.Default(),
		shutdownTimeout: 30 * time.Second,
		timeouts:        Timeouts{}.withDefaults(),
		health:          true,
		metrics:         true,
		metricsPath:     "/metrics",
		docs:            true,
		docsPath:        "/docs",
		specPath:        "/openapi.json",
		management:      &manage.Options{},
	}
}

// Address sets the address Run and Start listen on, like ":8000" or
// "127.0.0.1:0". Without it the flow listens on API_PORT or PORT from the
// environment, else ":8000".
func Address(addr string) Option { return func(c *options) { c.addr = addr } }

// Logger sets the logger of the flow and, filtered at their own levels, of
// its services. Default slog.Default().
func Logger(l *slog.Logger) Option {
	if l == nil {
		panic("replicaflow: flow.Logger: nil logger")
	}
	return func(c *options) { c.logger = l }
}

// ShutdownTimeout bounds how long Run waits for in-flight requests to finish
// after SIGINT or SIGTERM. Default 30s.
func ShutdownTimeout(d time.Duration) Option {
	return func(c *options) { c.shutdownTimeout = d }
}

// Health turns /healthz and /readyz on or off. Default on.
func Health(on bool) Option { return func(c *options) { c.health = on } }

// OnStart adds a function that Start runs once the listener is open (so
// Addr is known) and the services are running; an error stops the flow and
// is returned by Start. Hooks run in the order they were added.
func OnStart(fn func(ctx context.Context, app *Flow) error) Option {
	return func(c *options) { c.onStart = append(c.onStart, fn) }
}

// OnShutdown adds a function that Shutdown runs first, while the flow still
// serves (to deregister from a supervisor, say). Its error is returned by
// Shutdown, which goes on regardless. Hooks run in reverse order.
func OnShutdown(fn func(ctx context.Context, app *Flow) error) Option {
	return func(c *options) { c.onShutdown = append(c.onShutdown, fn) }
}

// CPUs sets the flow's CPU capacity, which replicas reserve their service's
// NumCPUs from; replicas that do not fit stay pending. Default: the
// machine's cores.
func CPUs(n float64) Option { return func(c *options) { c.cpus = n } }

// Metrics serves Prometheus metrics at path ("" turns metrics off). Default
// "/metrics".
func Metrics(path string) Option {
	return func(c *options) { c.metrics, c.metricsPath = path != "", path }
}

// Docs serves the OpenAPI document at specPath and Swagger UI at docsPath
// ("" turns both off). Defaults "/openapi.json" and "/docs".
func Docs(docsPath, specPath string) Option {
	return func(c *options) {
		c.docs = docsPath != "" && specPath != ""
		c.docsPath, c.specPath = docsPath, specPath
	}
}

// Info sets the title, version and description of the OpenAPI document;
// API_TITLE, API_VERSION and API_DESCRIPTION override them when set.
// Without it the title is the binary's name and the version its main
// module's (see openapi.DefaultInfo).
func Info(title, version, description string) Option {
	return func(c *options) { c.info.Title, c.info.Version, c.info.Description = title, version, description }
}

// Servers sets the base URLs the OpenAPI document lists. By default it
// lists one, relative to the document's own URL ("." for /openapi.json),
// which stays right when the app is mounted under a path prefix: Swagger
// UI's "Try it out" and generated clients resolve it against where they
// read the document.
func Servers(urls ...string) Option {
	for _, u := range urls {
		if u == "" {
			panic("replicaflow: flow.Servers: empty server URL")
		}
	}
	return func(c *options) { c.info.Servers = append([]string(nil), urls...) }
}

// Security declares a security scheme under name in the OpenAPI document
// and requires it of every endpoint by default (any one of the schemes so
// declared is enough); endpoint.Security overrides it per endpoint, and
// endpoint.Security() with no names marks one public. It documents what
// the app's middleware enforces: it does not check credentials. It panics
// when name is empty or already declared.
func Security(name string, scheme openapi.SecurityScheme) Option {
	return func(c *options) {
		c.declare(name, scheme)
		c.info.Security = append(c.info.Security, name)
	}
}

// SecurityScheme declares a security scheme under name in the OpenAPI
// document without requiring it by default: endpoints name it with
// endpoint.Security. It panics when name is empty or already declared.
func SecurityScheme(name string, scheme openapi.SecurityScheme) Option {
	return func(c *options) { c.declare(name, scheme) }
}

func (c *options) declare(name string, scheme openapi.SecurityScheme) {
	if name == "" {
		panic("replicaflow: a security scheme needs a name")
	}
	if _, ok := c.info.SecuritySchemes[name]; ok {
		panic("replicaflow: security scheme " + name + " is declared twice")
	}
	if c.info.SecuritySchemes == nil {
		c.info.SecuritySchemes = map[string]openapi.SecurityScheme{}
	}
	c.info.SecuritySchemes[name] = scheme
}

// DocumentOwnRoutes includes the flow's own routes in the OpenAPI document:
// health (/healthz, /readyz) and, when it is on, the management API, whose
// operations require a bearer token (the "adminToken" scheme) when one is
// configured. They are left out by default.
func DocumentOwnRoutes() Option { return func(c *options) { c.documentOwn = true } }

// Setup adds a function that New runs once the flow's own routes are
// mounted, to mount handlers, add middleware or register collectors. It is
// the seam optional packages plug in through (the dashboard, a cluster
// worker, distributed mode): what they do then works the same however the
// flow is served. Functions run in the order they were added.
func Setup(fn func(app *Flow)) Option {
	return func(c *options) { c.setup = append(c.setup, fn) }
}

// AfterShutdown adds a function that Shutdown runs last, once the server has
// answered every request it accepted and the services have stopped (to
// close a connection those requests used, say). Its error is returned by
// Shutdown. Functions run in reverse order.
func AfterShutdown(fn func(ctx context.Context, app *Flow) error) Option {
	return func(c *options) { c.afterShutdown = append(c.afterShutdown, fn) }
}

// Options combines several options into one, for a package that plugs in
// through more than one seam.
func Options(opts ...Option) Option {
	return func(c *options) {
		for _, o := range opts {
			o(c)
		}
	}
}
