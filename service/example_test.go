package service_test

import (
	"context"
	"fmt"

	"github.com/replicaflow/replicaflow/service"
)

// A plain Options struct is a working service: the zero fields take their
// defaults.
func ExampleWithOptions() {
	svc := service.New(service.WithOptions(service.Options{BaseRoute: "/b"}))
	r := svc.Status().Replicas
	fmt.Println(svc.Name(), r.Min, r.Max, r.Autoscaler, r.MaxConcurrentQueries, r.RequestTimeout)
	// Output: b 1 1 true 100 30s
}

func ExampleHandle() {
	svc := service.New(service.BaseRoute("/greet"))
	ep := service.Handle(svc, "GET", "/:name", func(ctx context.Context, in struct {
		Name string `path:"name"`
	}) (string, error) {
		return "hello " + in.Name, nil
	})
	fmt.Println(ep, "serves", svc.Path(ep.Route))
	// Output: GET /:name serves /greet/:name
}

func ExampleWithConfig() {
	type greeting struct {
		Text string `json:"text" binding:"required"`
	}
	svc := service.New(service.WithConfig(func(ctx context.Context, g greeting) error { return nil }))
	fmt.Println(svc.Configure(context.Background(), []byte(`{}`)))
	fmt.Println(svc.Configure(context.Background(), []byte(`{"text": "hi"}`)), svc.Config(), svc.State())
	// Output:
	// the request did not validate: body.text is required
	// <nil> {hi} configured
}

func ExampleNewDependency() {
	svc := service.New()
	db := service.NewDependency(svc, service.GlobalScope,
		func(ctx context.Context) (string, error) { return "a database client", nil },
		func(string) error { fmt.Println("closed"); return nil })
	// In a handler, Get takes the handler's ctx; a global instance is also
	// reachable from any context.
	v, err := db.Get(context.Background())
	fmt.Println(v, err)
	db.Close()
	// Output:
	// a database client <nil>
	// closed
}
