package gateway

import (
	"context"
	"net/http"
	"strings"

	"github.com/replicaflow/replicaflow/distributed"
)

// Remote serves the services the gateway has no upstream for, through
// NATS: a *distributed.Ingress is one (see package distributed). Set it as
// Options.Remote.
type Remote interface {
	// Forward sends r to the service called name, with path (escaped) the
	// path under the service's base route.
	Forward(w http.ResponseWriter, r *http.Request, name, path string)
	// Instances lists the workers' exported services.
	Instances(ctx context.Context) ([]distributed.Instance, error)
}

// serveRemote forwards /{name}/rest to the remote service name with /rest.
func (g *Gateway) serveRemote(w http.ResponseWriter, r *http.Request, name string) {
	esc := strings.TrimPrefix(r.URL.EscapedPath(), "/")
	_, rest, _ := strings.Cut(esc, "/")
	path := ""
	if rest != "" || strings.HasSuffix(esc, "/") {
		path = "/" + rest
	}
	g.opts.Remote.Forward(w, r, name, path)
}

// remoteRows lists the remote instances for GET /services, with source
// "nats"; a discovery that fails lists none.
func (g *Gateway) remoteRows(ctx context.Context) []Row {
	if g.opts.Remote == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, distributed.DefaultDiscoveryWait)
	defer cancel()
	insts, err := g.opts.Remote.Instances(ctx)
	if err != nil {
		g.opts.Logger.Warn("gateway: listing remote instances", "err", err)
		return nil
	}
	rows := make([]Row, 0, len(insts))
	for _, in := range insts {
		st := "healthy"
		if in.Subscriptions == 0 {
			st = "unhealthy"
		}
		rows = append(rows, Row{NameService: in.Service, URL: "nats:" + in.Subject + "@" + in.Node,
			Source: "nats", Status: st, InFlight: in.InFlight, Replicas: in.Replicas})
	}
	return rows
}
