package flow

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/cluster/config"
	"github.com/replicaflow/replicaflow/cluster/worker"
	"github.com/replicaflow/replicaflow/middleware"
)

// DeregisterTimeout bounds the deregistration a worker flow sends when it
// shuts down, so an absent supervisor cannot hold up the drain.
const DeregisterTimeout = 5 * time.Second

// Worker makes the flow a cluster worker (PicoAPI's worker role). Once
// Start has opened the listener and started the services, the flow
// registers with the supervisor at opts.RegisterURL and keeps the
// registration alive in the background (retrying with backoff while the
// supervisor is away, registering again when it has forgotten the flow; see
// package cluster/worker). Shutdown deregisters first, while the flow still
// serves, so the cluster stops routing to it before it drains.
//
// Empty fields of opts.Instance are filled in when the flow starts:
//   - Port: the port the flow really listens on (so ":0" works);
//   - Host: the listener's IP when it is bound to one, else the machine's
//     host name;
//   - Service: the name of the flow's only service (with several services,
//     set it);
//   - HealthPath: "/healthz", the flow's own liveness route (unless
//     flow.Health(false));
//   - ID: "host:port".
//
// HealthInterval zero leaves the interval to the supervisor's default.
// Logger defaults to the flow's logger. A registration that cannot be made
// (a bad URL, an invalid name) is an error returned by Start; an absent
// supervisor is not. A failed deregistration is logged, not returned: the
// supervisor's health checks remove the instance anyway.
func Worker(opts worker.Options) Option {
	h := &workerHook{opts: opts}
	return func(c *options) {
		c.onStart = append(c.onStart, h.start)
		c.onShutdown = append(c.onShutdown, h.stop)
	}
}

// WorkerConfig is Worker configured from PicoAPI's variables, already
// parsed into cfg (see cluster/config): it registers with cfg.RegisterURL
// under cfg.Title (default: the flow's only service), at cfg.Host (default
// as in Worker) and the real listening port, with cfg.Version, cfg.Tags,
// cfg.HealthPath (default "/healthz") and cfg.HealthInterval, sending
// cfg.Token as a bearer token. Unless flow.Address is given, the flow
// listens on cfg.Addr() (API_BIND:API_PORT; port 0 picks a free one). When
// any API_CORS_ALLOW_* variable was set (cfg.CORS), the flow gets
// middleware.CORS with cfg's origins, methods and headers, installed before
// the flow registers.
//
// A health path other than /healthz must be served by the app. A missing
// register URL or a CORS configuration that middleware.CORS rejects is an
// error returned by Start.
func WorkerConfig(cfg config.Config) Option {
	return workerConfig(cfg, nil)
}

// WorkerFromEnv is WorkerConfig with the configuration read by
// config.FromEnv(files...): the API_* variables (and REPLICAFLOW_TOKEN) from
// the process environment, over a .env file (default ".env", skipped when
// missing). A worker program is then
//
//	app := flow.New(flow.WorkerFromEnv())
//	app.Service(service.Name("hello"))
//	flow.Run(app)
//
// A bad value (API_PORT=eighty, API_HEALTH_INTERVAL=-5, ...) is an error
// returned by Start that names the variable; the flow then listens on
// nothing but a free loopback port, for the instant before Start fails.
func WorkerFromEnv(files ...string) Option {
	cfg, err := config.FromEnv(files...)
	return workerConfig(cfg, err)
}

func workerConfig(cfg config.Config, err error) Option {
	h := &workerHook{err: err}
	if err == nil {
		h.err = h.configure(cfg)
	}
	return func(c *options) {
		if c.addr == "" {
			if h.err != nil {
				c.addr = "127.0.0.1:0" // listen harmlessly; the start hook fails
			} else {
				c.addr = cfg.Addr()
			}
		}
		c.onStart = append(c.onStart, h.start)
		c.onShutdown = append(c.onShutdown, h.stop)
	}
}

// workerHook holds one worker option's state across the flow's starts.
type workerHook struct {
	opts worker.Options
	err  error           // a configuration error, returned by start
	cors gin.HandlerFunc // installed on the first start, when set

	mu          sync.Mutex
	corsApplied bool
	w           *worker.Worker
}

// configure turns a parsed configuration into the hook's options.
func (h *workerHook) configure(cfg config.Config) error {
	if cfg.RegisterURL == "" {
		return errors.New("config: API_REGISTER_PATH (or API_KEEPER_URL) is not set: the supervisor's registration URL is required in the worker role")
	}
	h.opts = worker.Options{RegisterURL: cfg.RegisterURL, Token: cfg.Token}
	h.opts.Instance.Service = cfg.Title
	h.opts.Instance.Host = cfg.Host
	h.opts.Instance.Version = cfg.Version
	h.opts.Instance.Tags = slices.Clone(cfg.Tags)
	h.opts.Instance.HealthPath = cfg.HealthPath
	h.opts.Instance.HealthInterval = cfg.HealthInterval
	if cfg.CORS {
		mw, err := buildCORS(middleware.CORSConfig{
			AllowOrigins: cfg.CORSOrigins, AllowMethods: cfg.CORSMethods, AllowHeaders: cfg.CORSHeaders,
		})
		if err != nil {
			return fmt.Errorf("config: API_CORS_ALLOW_*: %w", err)
		}
		h.cors = mw
	}
	return nil
}

// buildCORS turns middleware.CORS's configuration panic into an error.
func buildCORS(cc middleware.CORSConfig) (mw gin.HandlerFunc, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%v", r)
		}
	}()
	return middleware.CORS(cc), nil
}

func (h *workerHook) start(ctx context.Context, app *Flow) error {
	if h.err != nil {
		return fmt.Errorf("worker: %w", h.err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cors != nil && !h.corsApplied {
		app.Use(h.cors)
		h.corsApplied = true
	}
	opts, err := h.resolve(app)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w, err := worker.New(opts)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	h.w = w
	app.cfg.logger.Info("replicaflow registering with supervisor", "url", opts.RegisterURL,
		"service", opts.Instance.Service, "host", opts.Instance.Host, "port", opts.Instance.Port)
	return nil
}

// resolve fills in the instance's empty fields from the running flow.
func (h *workerHook) resolve(app *Flow) (worker.Options, error) {
	opts := h.opts
	inst := opts.Instance
	inst.Tags = slices.Clone(inst.Tags)
	tcp, ok := app.Addr().(*net.TCPAddr)
	if !ok {
		return opts, fmt.Errorf("the flow does not listen on TCP (%v)", app.Addr())
	}
	if inst.Port == 0 {
		inst.Port = tcp.Port
	}
	if inst.Host == "" {
		if tcp.IP != nil && !tcp.IP.IsUnspecified() {
			inst.Host = tcp.IP.String()
		} else {
			host, err := os.Hostname()
			if err != nil || host == "" {
				return opts, fmt.Errorf("no host to register: set API_HOST (or Instance.Host): %v", err)
			}
			inst.Host = host
		}
	}
	if inst.Service == "" {
		svcs := app.Services()
		if len(svcs) != 1 {
			return opts, fmt.Errorf("the flow has %d services: set the service name to register (API_TITLE or Instance.Service)", len(svcs))
		}
		inst.Service = svcs[0].Name()
	}
	if inst.HealthPath == "" && app.cfg.health {
		inst.HealthPath = "/healthz"
	}
	if opts.Logger == nil {
		opts.Logger = app.cfg.logger
	}
	opts.Instance = inst
	return opts, nil
}

func (h *workerHook) stop(ctx context.Context, app *Flow) error {
	h.mu.Lock()
	w := h.w
	h.w = nil
	h.mu.Unlock()
	if w == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, DeregisterTimeout)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		app.cfg.logger.Warn("replicaflow could not deregister from supervisor", "err", err)
	}
	return nil
}
