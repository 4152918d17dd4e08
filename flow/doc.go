// Package flow is the entry point of replicaflow: a Flow holds services, each
// with its endpoints and replicas, and serves them over HTTP.
//
//	app := flow.New()
//	svc := app.Service(service.BaseRoute("/hello"), service.Replicas(1, 8))
//	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in Greeting) (Reply, error) {
//		return Reply{Message: "hello " + in.Name}, nil
//	})
//	flow.Run(app) // :8000 by default; drains on SIGINT/SIGTERM
//
// The flow routes each request to the service with the longest matching base
// route through a table it swaps atomically, so services can be added and
// removed while it serves; each service has its own gin engine and middleware.
package flow
