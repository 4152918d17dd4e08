// Package distributed spreads one service's replicas over many processes
// and machines through NATS request-reply with queue groups.
//
// An Exporter exports a flow's services: each running replica of a service
// holds its own queue subscription on the subject
// "<prefix>.<flow>.<service name>" (the service's stable name, never its
// per-process ID), so NATS spreads requests over every replica of every
// node. A message is rebuilt as an *http.Request and served by the
// service's own http.Handler into a buffered recorder, so binding,
// validation, errors and problem details are those of local mode. A worker
// whose slots (running replicas × max concurrent queries) are all taken
// answers "busy" at once; it never queues without bound and never drops a
// message it was given.
//
// An Ingress is the other side: it forwards an HTTP request to a service on
// NATS, retries busy answers with jittered back-off up to a bound, and maps
// what cannot be served to problem details: no worker → 503 at once, a
// timeout → 504 (idempotent methods are tried once more), a body over the
// server's max_payload → 413.
//
// Discovery uses the NATS services framework (package micro): each worker
// registers one micro service per flow whose endpoints are the exported
// services, so $SRV.PING, $SRV.INFO and $SRV.STATS answer for them;
// Instances reads the stats back as remote instances with their replica
// counts.
//
// Streaming endpoints (responses.Streaming, server-sent events) stay
// local-only: a handler that flushes is answered 501.
package distributed
