package service

import (
	"context"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/requests"
)

var _ endpoint.Host = (*host)(nil)

// Handle adds a typed endpoint to svc: h gets the request bound into Req
// (see package requests) and its result is rendered (see package
// responses). It panics when the route is malformed, the request type
// cannot bind, or svc already has the method and route.
func Handle[Req, Resp any](svc *Service, method, route string, h func(context.Context, Req) (Resp, error), opts ...endpoint.Option) *endpoint.Endpoint {
	ep := endpoint.New(method, route, h, opts...)
	svc.AddEndpoint(ep)
	return ep
}

// WebSocket adds a WebSocket endpoint to svc: a GET on route that binds Req
// from the path, query, headers and cookies like any endpoint (bad input is
// refused before the upgrade with problem details), takes one replica slot
// for the connection's whole life (a full service answers 503 with
// Retry-After) and runs h with the accepted connection. The service's and
// the flow's middleware run on the upgrade request. Connections are closed
// with 1001 (going away) after the close grace period when the server shuts
// down or the replica leaves routing. Options: endpoint.ReadLimit,
// endpoint.PingInterval, endpoint.CloseGrace, endpoint.AllowOrigins,
// endpoint.Subprotocols and the documentation options. It panics when the
// route is malformed, Req has body fields, or svc already has a GET on the
// route.
func WebSocket[Req any](svc *Service, route string, h func(ctx context.Context, in Req, conn *requests.WebSocket) error, opts ...endpoint.Option) *endpoint.Endpoint {
	ep := endpoint.NewWebSocket(route, h, opts...)
	svc.AddEndpoint(ep)
	return ep
}
