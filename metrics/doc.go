// Package metrics records what every service of a flow serves, for
// Prometheus.
//
// A Metrics owns its own registry (not the global one), with the Go runtime
// and process collectors, and three families:
//
//	replicaflow_http_requests_total{service, endpoint, method, status}        counter
//	replicaflow_http_request_duration_seconds{service, endpoint, method}      histogram
//	replicaflow_http_requests_in_flight{service}                              gauge
//
// The endpoint label is the route template (gin's FullPath, like
// "/users/:id"), never the raw path, and "unmatched" for requests no route
// matched, so the number of series stays bounded whatever clients send.
// Methods outside the standard set count as "OTHER" for the same reason.
//
// Middleware returns the gin middleware of one service; Handler serves the
// registry in the Prometheus exposition format. Registry is open for more
// collectors (the replica pools register their gauges there).
package metrics
