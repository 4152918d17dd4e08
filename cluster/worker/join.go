package worker

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

	"github.com/replicaflow/replicaflow/cluster/env"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/middleware"
)

// DeregisterTimeout bounds the deregistration a worker flow sends when it
// shuts down, so an absent supervisor cannot hold up the drain.
const DeregisterTimeout = 5 * time.Second

// Join makes the flow a cluster worker (PicoAPI's worker role). Once the
// flow has started (its listener open, its services running), it registers
// with the supervisor at opts.RegisterURL and keeps the registration alive
// in the background: see Worker. Shutdown deregisters first, while the flow
// still serves, so the cluster stops routing to it before it drains.
//
// Empty fields of opts.Instance are filled in when the flow starts:
//   - Port: the port the flow really listens on (so ":0" works);
//   - Host: the listener's IP when it is bound to one, else the machine's
//     host name;
//   - Service: the name of the flow's only service (with several services,
//     set it);
//   - HealthPath: "/healthz", the flow's liveness route (set it when the
//     flow runs with flow.Health(false));
//   - ID: "host:port".
//
// HealthInterval zero leaves the interval to the supervisor's default.
// Logger defaults to the flow's logger. The supervisor calls the worker at
// its address, so the flow must listen: served only through its Handler, it
// has no address, and its start fails with an error saying so. A
// registration that cannot be made (a bad URL, an invalid name) is an error
// returned by the flow's start; an absent supervisor is not. A failed
// deregistration is logged, not returned: the supervisor's health checks
// remove the instance anyway. One Join option serves one flow.
func Join(opts Options) flow.Option {
	return (&join{opts: opts}).option()
}

// FromSettings is Join configured from PicoAPI's variables, already parsed
// into cfg (see package cluster/env): it registers with cfg.RegisterURL
// under cfg.Title (default: the flow's only service), at cfg.Host (default
// as in Join) and the real listening port, with cfg.Version, cfg.Tags,
// cfg.HealthPath (default "/healthz") and cfg.HealthInterval, sending
// cfg.Token as a bearer token.
//
// It sets the flow's address to cfg.Addr() (API_BIND:API_PORT; port 0
// picks a free one), as flow.Address does: an Address option after it
// wins. When any API_CORS_ALLOW_* variable was set (cfg.CORS), the flow
// gets middleware.CORS with cfg's origins, methods and headers for every
// request, however it is served.
//
// A health path other than /healthz must be served by the app. A missing
// register URL or a CORS configuration that middleware.NewCORS rejects is
// an error returned by the flow's start, which then does not register.
func FromSettings(cfg env.Settings) flow.Option {
	j := &join{}
	if err := j.configure(cfg); err != nil {
		j.err = err
		return j.option()
	}
	return flow.Options(flow.Address(cfg.Addr()), j.option())
}

// FromEnv is FromSettings with the settings read by
// env.Read(files...): the API_* variables (and REPLICAFLOW_TOKEN)
// from the process environment, over a .env file (default ".env", skipped
// when missing). A worker program is then
//
//	app := flow.New(worker.FromEnv())
//	app.Service(service.Name("hello"))
//	flow.Run(app)
//
// A bad value (API_PORT=eighty, API_HEALTH_INTERVAL=-5, ...) is an error
// returned by the flow's start that names the variable; the flow's address
// is then left as it is, and the flow does not register.
func FromEnv(files ...string) flow.Option {
	cfg, err := env.Read(files...)
	if err != nil {
		return (&join{err: err}).option()
	}
	return FromSettings(cfg)
}

// join is one worker option's state across its flow's starts.
type join struct {
	opts Options
	err  error           // a configuration error, returned by start
	cors gin.HandlerFunc // added to the flow in setup, when set

	mu  sync.Mutex
	app *flow.Flow
	w   *Worker
}

func (j *join) option() flow.Option {
	return flow.Options(flow.Setup(j.setup), flow.OnStart(j.start), flow.OnShutdown(j.stop))
}

// configure turns parsed settings into the options.
func (j *join) configure(cfg env.Settings) error {
	if cfg.RegisterURL == "" {
		return errors.New("worker: API_REGISTER_PATH (or API_KEEPER_URL) is not set: the supervisor's registration URL is required in the worker role")
	}
	j.opts = Options{RegisterURL: cfg.RegisterURL, Token: cfg.Token}
	j.opts.Instance.Service = cfg.Title
	j.opts.Instance.Host = cfg.Host
	j.opts.Instance.Version = cfg.Version
	j.opts.Instance.Tags = slices.Clone(cfg.Tags)
	j.opts.Instance.HealthPath = cfg.HealthPath
	j.opts.Instance.HealthInterval = cfg.HealthInterval
	if cfg.CORS {
		mw, err := middleware.NewCORS(middleware.CORSConfig{
			AllowOrigins: cfg.CORSOrigins, AllowMethods: cfg.CORSMethods, AllowHeaders: cfg.CORSHeaders,
		})
		if err != nil {
			return fmt.Errorf("worker: API_CORS_ALLOW_*: %w", err)
		}
		j.cors = mw
	}
	return nil
}

func (j *join) setup(app *flow.Flow) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.app != nil {
		panic("replicaflow: worker: the option already serves another flow; make one per flow")
	}
	j.app = app
	if j.cors != nil {
		app.Use(j.cors)
	}
}

func (j *join) start(ctx context.Context, app *flow.Flow) error {
	if j.err != nil {
		return fmt.Errorf("worker: %w", j.err)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	opts, err := j.resolve(app)
	if err != nil {
		return fmt.Errorf("worker: %w", err)
	}
	w, err := New(opts)
	if err != nil {
		return err
	}
	if err := w.Start(ctx); err != nil {
		return err
	}
	j.w = w
	app.Logger().Info("replicaflow registering with supervisor", "url", opts.RegisterURL,
		"service", opts.Instance.Service, "host", opts.Instance.Host, "port", opts.Instance.Port)
	return nil
}

// resolve fills in the instance's empty fields from the running flow.
func (j *join) resolve(app *flow.Flow) (Options, error) {
	opts := j.opts
	inst := opts.Instance
	inst.Tags = slices.Clone(inst.Tags)
	addr := app.Addr()
	if addr == nil {
		return opts, errors.New("the flow has no listener, so the supervisor could not call it: " +
			"serve it with Start or Run (through Handler alone it has no address to register)")
	}
	tcp, ok := addr.(*net.TCPAddr)
	if !ok {
		return opts, fmt.Errorf("the flow does not listen on TCP (%v)", addr)
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
	if inst.HealthPath == "" {
		inst.HealthPath = "/healthz"
	}
	if opts.Logger == nil {
		opts.Logger = app.Logger()
	}
	opts.Instance = inst
	return opts, nil
}

func (j *join) stop(ctx context.Context, app *flow.Flow) error {
	j.mu.Lock()
	w := j.w
	j.w = nil
	j.mu.Unlock()
	if w == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, DeregisterTimeout)
	defer cancel()
	if err := w.Stop(ctx); err != nil {
		app.Logger().Warn("replicaflow could not deregister from supervisor", "err", err)
	}
	return nil
}
