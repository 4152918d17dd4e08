package flow

import (
	"context"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/service"
)

// WebSocket adds a WebSocket endpoint to a service: a GET on route that
// binds Req from the path, query, headers and cookies like any endpoint
// (bad input is refused before the upgrade with problem details), takes one
// replica slot for the connection's whole life (a full service answers 503
// with Retry-After) and runs h with the accepted connection. The service's
// and the flow's middleware run on the upgrade request. Connections are
// closed with 1001 (going away) after the close grace period when the
// server shuts down or the service stops. Options: endpoint.ReadLimit,
// endpoint.PingInterval, endpoint.CloseGrace, endpoint.AllowOrigins,
// endpoint.Subprotocols and the documentation options. It panics when the
// route is malformed, Req has body fields, or the service already has a GET
// on the route.
func WebSocket[Req any](svc *service.Service, route string, h func(ctx context.Context, in Req, conn *requests.WebSocket) error, opts ...endpoint.Option) *endpoint.Endpoint {
	return service.WebSocket(svc, route, h, opts...)
}
