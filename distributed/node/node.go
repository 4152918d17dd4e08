// Package node makes a flow a node of distributed mode (package
// distributed): a worker that exports the flow's services on NATS, an
// ingress that serves services of other nodes under its own routes, or
// both. It plugs into the flow through the flow's public seams, so package
// flow knows nothing of NATS and a plain HTTP app does not link it:
//
//	app := flow.New(node.NATS("nats://127.0.0.1:4222", node.FlowName("shop")))
//
// When the flow is made, the remote services are mounted (they answer 503
// with Retry-After until the node is connected) and the flow's management
// API learns to list the remote instances. When the flow starts, the node
// connects and exports; when it shuts down, the worker's subscriptions
// drain first, while the flow still serves, and the connection closes last,
// once the requests the flow accepted are answered.
package node

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/responses"
)

// URLEnv is the environment variable NATS reads the server's URL from when
// it is given none.
const URLEnv = "NATS_URL"

// NATS makes the flow a node of distributed mode. When the flow starts it
// connects to url (NATS_URL from the environment when url is ""), and:
//
//   - as a worker, exports its services (all, or those Export names; none
//     with IngressOnly): each running replica holds a queue subscription
//     on "<prefix>.<flow>.<service name>", requests run through the
//     service's own handler, and a worker whose slots are all taken
//     answers busy at once;
//   - as an ingress, serves the services Remote and Remotes name from the
//     workers, through NATS, under their own path prefix.
//
// A missing URL or a NATS server that cannot be reached is an error
// returned by the flow's start. Streaming endpoints are not served through
// NATS (they answer 501 there). One NATS option serves one flow: New
// panics when it is given to a second one, or when a remote prefix is
// taken.
func NATS(url string, opts ...Option) flow.Option {
	cfg := &config{url: url, export: true}
	for _, o := range opts {
		o(cfg)
	}
	n := &node{cfg: cfg}
	return flow.Options(flow.Setup(n.setup), flow.OnStart(n.start), flow.OnShutdown(n.drain), flow.AfterShutdown(n.close))
}

// Option configures NATS.
type Option func(*config)

type config struct {
	url      string
	export   bool
	names    []string
	remotes  []remote
	prefix   string
	flow     string
	node     string
	ingress  IngressOptions
	connOpts []nats.Option
}

type remote struct{ prefix, name string }

// IngressOptions tune how the ingress forwards requests. Zero values take
// the defaults.
type IngressOptions struct {
	// Timeout bounds one attempt, from sending the request to its answer
	// (default 30s). A timed-out idempotent request is sent once more.
	Timeout time.Duration
	// MaxBusyWait bounds how long busy workers are retried before the
	// client gets 503 (default 1s).
	MaxBusyWait time.Duration
	// RetryAfter is the Retry-After of the ingress's 503s (default 1s),
	// those it answers before the node is connected included.
	RetryAfter time.Duration
}

// Export exports only the services with these names (default: every
// service of the flow, including ones added later).
func Export(names ...string) Option {
	return func(c *config) { c.export, c.names = true, append(c.names, names...) }
}

// IngressOnly exports no service: the flow only forwards to workers.
func IngressOnly() Option { return func(c *config) { c.export = false } }

// Remotes serves each named service from the workers under the prefix
// "/" + name: a request to /name/rest reaches the worker's service at its
// base route + /rest. Each prefix must be free in the flow (not a local
// service's base route nor one of the flow's own routes).
func Remotes(names ...string) Option {
	return func(c *config) {
		for _, n := range names {
			c.remotes = append(c.remotes, remote{"/" + n, n})
		}
	}
}

// Remote serves the service called name from the workers under prefix (a
// path like "/billing").
func Remote(prefix, name string) Option {
	return func(c *config) { c.remotes = append(c.remotes, remote{prefix, name}) }
}

// FlowName sets the flow's name in subjects and discovery (default
// distributed.DefaultFlow); the workers and ingresses of one app share it.
func FlowName(name string) Option { return func(c *config) { c.flow = name } }

// SubjectPrefix sets the first token(s) of the subjects (default
// distributed.DefaultPrefix).
func SubjectPrefix(p string) Option { return func(c *config) { c.prefix = p } }

// Name names this process in discovery (default host name and PID).
func Name(name string) Option { return func(c *config) { c.node = name } }

// Ingress tunes the ingress: its attempt timeout, how long it retries busy
// workers and the Retry-After of its 503s.
func Ingress(o IngressOptions) Option { return func(c *config) { c.ingress = o } }

// ConnOptions adds nats.go options to the connection (credentials, TLS,
// ...).
func ConnOptions(opts ...nats.Option) Option {
	return func(c *config) { c.connOpts = append(c.connOpts, opts...) }
}

func (c *config) flowName() string {
	if c.flow == "" {
		return distributed.DefaultFlow
	}
	return c.flow
}

func (c *config) retryAfter() time.Duration {
	if c.ingress.RetryAfter > 0 {
		return c.ingress.RetryAfter
	}
	return time.Second
}

// node is one NATS option's state across its flow's starts.
type node struct {
	cfg *config

	mu   sync.Mutex // serializes setup, connecting and closing
	app  *flow.Flow
	conn atomic.Pointer[conn] // nil while not connected
}

// conn is one connection and what runs on it.
type conn struct {
	nc       *nats.Conn
	exporter *distributed.Exporter
	ingress  *distributed.Ingress
}

// setup mounts the remote services and adds discovery to the management
// API.
func (n *node) setup(app *flow.Flow) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.app != nil {
		panic("replicaflow: node.NATS: the option already serves another flow; make one per flow")
	}
	n.app = app
	for _, r := range n.cfg.remotes {
		mount(app, r, n.remoteHandler(r))
	}
	if m := app.Manager(); m != nil {
		m.SetRemote(n.instances)
	}
}

// mount mounts a remote service, naming it in the panic of a taken prefix.
func mount(app *flow.Flow, r remote, h http.Handler) {
	defer func() {
		if p := recover(); p != nil {
			panic(fmt.Sprintf("replicaflow: node.Remote %s: %s", r.name, strings.TrimPrefix(fmt.Sprint(p), "replicaflow: ")))
		}
	}()
	app.Mount(r.prefix, h)
}

// start connects, unless the node is connected already.
func (n *node) start(ctx context.Context, app *flow.Flow) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.conn.Load() != nil {
		return nil
	}
	cfg := n.cfg
	url := cfg.url
	if url == "" {
		url = os.Getenv(URLEnv)
	}
	if url == "" {
		return errors.New("node: no NATS URL given and " + URLEnv + " is not set")
	}
	opts := append([]nats.Option{
		nats.Name("replicaflow " + cfg.flowName()),
		nats.MaxReconnects(-1),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(3),
	}, cfg.connOpts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("node: connect to NATS: %w", err)
	}
	c := &conn{nc: nc}
	if len(cfg.remotes) > 0 {
		c.ingress, err = distributed.NewIngress(nc, distributed.IngressOptions{
			Prefix: cfg.prefix, Flow: cfg.flow, Timeout: cfg.ingress.Timeout, MaxBusyWait: cfg.ingress.MaxBusyWait,
			RetryAfter: cfg.ingress.RetryAfter, Logger: app.Logger(),
		})
		if err != nil {
			nc.Close()
			return err
		}
	}
	if cfg.export {
		c.exporter, err = distributed.NewExporter(nc, app, distributed.ExporterOptions{
			Prefix: cfg.prefix, Flow: cfg.flow, Services: cfg.names, Node: cfg.node,
			Version: app.Info().Version, Logger: app.Logger(),
		})
		if err != nil {
			nc.Close()
			return err
		}
	}
	n.conn.Store(c)
	app.Logger().Info("replicaflow on NATS", "url", nc.ConnectedUrlRedacted(), "flow", cfg.flowName(),
		"export", cfg.export, "remote", len(cfg.remotes))
	return nil
}

// drain stops exporting: the worker's subscriptions drain and the requests
// they took are answered, while the flow still serves.
func (n *node) drain(ctx context.Context, _ *flow.Flow) error {
	if c := n.conn.Load(); c != nil && c.exporter != nil {
		return c.exporter.Shutdown(ctx)
	}
	return nil
}

// close closes the connection once the flow has answered every request it
// accepted, those its ingress forwards included.
func (n *node) close(context.Context, *flow.Flow) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if c := n.conn.Swap(nil); c != nil {
		c.nc.Close()
	}
	return nil
}

// remoteHandler forwards to the current connection's ingress.
func (n *node) remoteHandler(r remote) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		c := n.conn.Load()
		if c == nil || c.ingress == nil {
			writeProblem(w, req, http.StatusServiceUnavailable,
				"service "+r.name+" is served through NATS, and the flow is not connected", n.cfg.retryAfter())
			return
		}
		c.ingress.Handler(r.prefix, r.name).ServeHTTP(w, req)
	})
}

// instances lists the instances of the node's flow that the workers
// report; none while the node is not connected.
func (n *node) instances(ctx context.Context) ([]manage.RemoteInstance, error) {
	c := n.conn.Load()
	if c == nil {
		return []manage.RemoteInstance{}, nil
	}
	list, err := distributed.Instances(ctx, c.nc, n.cfg.prefix, n.cfg.flow)
	if errors.Is(err, nats.ErrNoResponders) {
		err = nil // no worker is up
	}
	out := make([]manage.RemoteInstance, 0, len(list))
	for _, in := range list {
		out = append(out, manage.RemoteInstance{
			Node: in.Node, ID: in.ID, Service: in.Service, BaseRoute: in.BaseRoute, Subject: in.Subject,
			State: in.State, Replicas: in.Replicas, Subscriptions: in.Subscriptions, Capacity: in.Capacity,
			InFlight: in.InFlight, Served: in.Served, Busy: in.Busy, Dropped: in.Dropped,
		})
	}
	return out, err
}

// writeProblem answers with problem details and a Retry-After.
func writeProblem(w http.ResponseWriter, r *http.Request, status int, detail string, retryAfter time.Duration) {
	responses.WriteProblem(w, r, responses.NewProblem(status, detail, nil), responses.RetryAfter(retryAfter))
}
