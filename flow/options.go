package flow

import (
	"context"
	"log/slog"
	"time"
)

// Option configures a Flow.
type Option func(*config)

type config struct {
	onStart         []func(context.Context, *Flow) error
	onShutdown      []func(context.Context, *Flow) error
	addr            string
	logger          *slog.Logger
	shutdownTimeout time.Duration
	health          bool
}

func defaultConfig() config {
	return config{
		logger:          slog.Default(),
		shutdownTimeout: 30 * time.Second,
		health:          true,
	}
}

// Address sets the address Run and Start listen on, like ":8000" or
// "127.0.0.1:0". Without it the flow listens on API_PORT or PORT from the
// environment, else ":8000".
func Address(addr string) Option { return func(c *config) { c.addr = addr } }

// Logger sets the logger of the flow and, filtered at their own levels, of
// its services. Default slog.Default().
func Logger(l *slog.Logger) Option {
	if l == nil {
		panic("replicaflow: flow.Logger: nil logger")
	}
	return func(c *config) { c.logger = l }
}

// ShutdownTimeout bounds how long Run waits for in-flight requests to finish
// after SIGINT or SIGTERM. Default 30s.
func ShutdownTimeout(d time.Duration) Option {
	return func(c *config) { c.shutdownTimeout = d }
}

// Health turns /healthz and /readyz on or off. Default on.
func Health(on bool) Option { return func(c *config) { c.health = on } }

// OnStart adds a function that Start runs once the listener is open (so
// Addr is known) and the services are running; an error stops the flow and
// is returned by Start. Hooks run in the order they were added.
func OnStart(fn func(ctx context.Context, app *Flow) error) Option {
	return func(c *config) { c.onStart = append(c.onStart, fn) }
}

// OnShutdown adds a function that Shutdown runs first, while the flow still
// serves (to deregister from a supervisor, say). Its error is returned by
// Shutdown, which goes on regardless. Hooks run in reverse order.
func OnShutdown(fn func(ctx context.Context, app *Flow) error) Option {
	return func(c *config) { c.onShutdown = append(c.onShutdown, fn) }
}
