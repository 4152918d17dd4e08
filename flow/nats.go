package flow

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/manage"
)

// NATSOption configures the distributed mode that NATS turns on.
type NATSOption func(*natsConfig)

type natsConfig struct {
	url        string
	export     bool
	names      []string
	remotes    []remoteRoute
	prefix     string
	flow       string
	node       string
	timeout    time.Duration
	busyWait   time.Duration
	retryAfter time.Duration
	connOpts   []nats.Option
}

type remoteRoute struct{ prefix, name string }

type natsNode struct {
	cfg     *natsConfig
	nc      *nats.Conn
	worker  *distributed.Worker
	ingress *distributed.Ingress
}

// NATS makes the flow a node of distributed mode (package distributed).
// When the flow starts it connects to url (NATS_URL from the environment
// when url is ""), and:
//
//   - as a worker, exports its services (all, or those ExportServices
//     names; none with IngressOnly): each running replica holds a queue
//     subscription on "<prefix>.<flow>.<service name>", requests run
//     through the service's own handler, and a worker whose slots are all
//     taken answers busy at once;
//   - as an ingress, serves the services RemoteServices and RemoteService
//     name from the workers, through NATS, under their own path prefix.
//
// Shutdown first drains the worker's subscriptions and waits for the
// requests they took, while the flow still serves; the connection closes
// once the HTTP server has finished too. A missing URL or a NATS server
// that cannot be reached is an error returned by Start. Streaming
// endpoints are not served through NATS (they answer 501 there).
func NATS(url string, opts ...NATSOption) Option {
	cfg := &natsConfig{url: url, export: true}
	for _, o := range opts {
		o(cfg)
	}
	return func(c *options) {
		c.nats = cfg
		c.onStart = append(c.onStart, func(ctx context.Context, f *Flow) error { return f.ConnectNATS(ctx) })
		c.onShutdown = append(c.onShutdown, func(ctx context.Context, f *Flow) error { return f.closeNATS(ctx, true) })
	}
}

// ExportServices exports only the services with these names (default:
// every service of the flow, including ones added later).
func ExportServices(names ...string) NATSOption {
	return func(c *natsConfig) { c.export, c.names = true, append(c.names, names...) }
}

// IngressOnly exports no service: the flow only forwards to workers.
func IngressOnly() NATSOption { return func(c *natsConfig) { c.export = false } }

// RemoteServices serves each named service from the workers, under the
// prefix "/" + name: a request to /name/rest reaches the worker's service
// at its base route + /rest. Each prefix must be free in the flow (not a
// local service's base route).
func RemoteServices(names ...string) NATSOption {
	return func(c *natsConfig) {
		for _, n := range names {
			c.remotes = append(c.remotes, remoteRoute{"/" + n, n})
		}
	}
}

// RemoteService serves the service called name from the workers under
// prefix (a path like "/billing").
func RemoteService(prefix, name string) NATSOption {
	return func(c *natsConfig) { c.remotes = append(c.remotes, remoteRoute{prefix, name}) }
}

// NATSFlow sets the flow's name in subjects and discovery (default
// distributed.DefaultFlow); workers and ingresses of one app share it.
func NATSFlow(name string) NATSOption { return func(c *natsConfig) { c.flow = name } }

// NATSSubjectPrefix sets the first token(s) of the subjects (default
// distributed.DefaultPrefix).
func NATSSubjectPrefix(p string) NATSOption { return func(c *natsConfig) { c.prefix = p } }

// NATSNode names this process in discovery (default host name and PID).
func NATSNode(name string) NATSOption { return func(c *natsConfig) { c.node = name } }

// NATSIngress sets the ingress's attempt timeout (default 30s), how long
// it retries busy workers before answering 503 (default 1s) and the
// Retry-After of its 503s (default 1s); zero keeps a default.
func NATSIngress(timeout, maxBusyWait, retryAfter time.Duration) NATSOption {
	return func(c *natsConfig) { c.timeout, c.busyWait, c.retryAfter = timeout, maxBusyWait, retryAfter }
}

// NATSConnOptions adds nats.go options to the connection (credentials,
// TLS, ...).
func NATSConnOptions(opts ...nats.Option) NATSOption {
	return func(c *natsConfig) { c.connOpts = append(c.connOpts, opts...) }
}

// ConnectNATS connects the flow to NATS as its NATS option says, exports
// its services and mounts its remote services. Start calls it; call it
// yourself to use distributed mode with a flow served only through
// Handler. It does nothing when the flow is connected already.
func (f *Flow) ConnectNATS(ctx context.Context) error {
	cfg := f.cfg.nats
	if cfg == nil {
		return errors.New("replicaflow: the flow has no flow.NATS option")
	}
	f.natsMu.Lock()
	defer f.natsMu.Unlock()
	if f.nats.Load() != nil {
		return nil
	}
	url := cfg.url
	if url == "" {
		url = os.Getenv("NATS_URL")
	}
	if url == "" {
		return errors.New("replicaflow: flow.NATS: no URL given and NATS_URL is not set")
	}
	opts := append([]nats.Option{
		nats.Name("replicaflow " + cfg.flowName()),
		nats.MaxReconnects(-1),
		nats.PingInterval(5 * time.Second),
		nats.MaxPingsOutstanding(3),
	}, cfg.connOpts...)
	nc, err := nats.Connect(url, opts...)
	if err != nil {
		return fmt.Errorf("replicaflow: connect to NATS: %w", err)
	}
	n := &natsNode{cfg: cfg, nc: nc}
	if len(cfg.remotes) > 0 {
		n.ingress, err = distributed.NewIngress(nc, distributed.IngressOptions{
			Prefix: cfg.prefix, Flow: cfg.flow, Timeout: cfg.timeout, MaxBusyWait: cfg.busyWait,
			RetryAfter: cfg.retryAfter, Logger: f.cfg.logger,
		})
		if err != nil {
			nc.Close()
			return err
		}
	}
	if cfg.export {
		n.worker, err = distributed.NewWorker(nc, f, distributed.WorkerOptions{
			Prefix: cfg.prefix, Flow: cfg.flow, Services: cfg.names, Node: cfg.node,
			Version: f.cfg.info.Version, Logger: f.cfg.logger,
		})
		if err != nil {
			nc.Close()
			return err
		}
	}
	f.nats.Store(n)
	f.cfg.logger.Info("replicaflow on NATS", "url", nc.ConnectedUrlRedacted(), "flow", cfg.flowName(),
		"export", cfg.export, "remote", len(cfg.remotes))
	return nil
}

func (c *natsConfig) flowName() string {
	if c.flow == "" {
		return distributed.DefaultFlow
	}
	return c.flow
}

// mountRemotes mounts the remote services of the NATS option; their
// handler forwards through the ingress once the flow is connected.
func (f *Flow) mountRemotes() {
	if f.cfg.nats == nil {
		return
	}
	if f.manager != nil {
		f.manager.SetRemote(f.remoteInstances)
	}
	for _, r := range f.cfg.nats.remotes {
		if err := f.mount(r.prefix, f.remoteHandler(r)); err != nil {
			panic(fmt.Sprintf("replicaflow: flow.NATS: remote service %s: %v", r.name, err))
		}
	}
}

// remoteHandler forwards to the node's current ingress.
func (f *Flow) remoteHandler(r remoteRoute) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		n := f.nats.Load()
		if n == nil || n.ingress == nil {
			writeProblem(w, req, http.StatusServiceUnavailable, "service "+r.name+" is served through NATS, and the flow is not connected", "1")
			return
		}
		n.ingress.Handler(r.prefix, r.name).ServeHTTP(w, req)
	})
}

// CloseNATS stops exporting the flow's services (draining their
// subscriptions and waiting for the requests they took, until ctx ends)
// and closes the flow's NATS connection. Shutdown does it by itself.
func (f *Flow) CloseNATS(ctx context.Context) error { return f.closeNATS(ctx, false) }

// closeNATS drains the worker's subscriptions and waits for the requests
// they took. With lazy (the flow's shutdown), the connection stays open for
// the ingress requests the HTTP server is still finishing: Shutdown closes it
// once the server is done (closeNATSConn).
func (f *Flow) closeNATS(ctx context.Context, lazy bool) error {
	n := f.nats.Load()
	if n == nil {
		return nil
	}
	var err error
	if n.worker != nil {
		err = n.worker.Shutdown(ctx)
	}
	if !lazy {
		f.closeNATSConn()
	}
	return err
}

// closeNATSConn closes the flow's NATS connection, if it has one.
func (f *Flow) closeNATSConn() {
	f.natsMu.Lock()
	defer f.natsMu.Unlock()
	if n := f.nats.Swap(nil); n != nil {
		n.nc.Close()
	}
}

// RemoteInstances asks the workers of the flow's NATS flow name for their
// exported services ($SRV.STATS) and returns one entry per node and
// service, with its replica and slot counts. It collects answers until ctx
// ends (distributed.DefaultDiscoveryWait when ctx has no deadline).
func (f *Flow) RemoteInstances(ctx context.Context) ([]distributed.Instance, error) {
	n := f.nats.Load()
	if n == nil {
		return nil, errors.New("replicaflow: the flow is not connected to NATS")
	}
	return distributed.Instances(ctx, n.nc, n.cfg.prefix, n.cfg.flow)
}

// remoteInstances lists the remote instances for the management API.
func (f *Flow) remoteInstances(ctx context.Context) ([]manage.RemoteInstance, error) {
	if f.nats.Load() == nil {
		return []manage.RemoteInstance{}, nil // not connected yet
	}
	list, err := f.RemoteInstances(ctx)
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

// NATSExports returns the state of the services this flow exports on NATS
// (nil when it exports none or is not connected).
func (f *Flow) NATSExports() []distributed.ExportStatus {
	n := f.nats.Load()
	if n == nil || n.worker == nil {
		return nil
	}
	return n.worker.Exports()
}
