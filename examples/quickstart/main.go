// Quickstart is the BuildFlow endpoint guide in Go: a JSON echo, a query
// parameter, a raw request and two services on their own base routes.
//
//	go run ./examples/quickstart
//	curl localhost:8000/ -H 'Content-Type: application/json' -d '{"val": 1}'
//	curl 'localhost:8000/my_endpoint?my_int=1'
//	curl localhost:8000/users/hello
//	open http://localhost:8000/docs
package main

import (
	"context"
	"log"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// MyType is the JSON body of the echo endpoint.
type MyType struct {
	Val int `json:"val" binding:"required"`
}

// MyQuery binds the query parameter my_int.
type MyQuery struct {
	MyInt int `query:"my_int" binding:"required"`
}

// Hello is what the users service answers.
type Hello struct {
	Message string `json:"message"`
}

// NewApp builds the quickstart flow.
func NewApp(opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)

	// A service attached to the flow, at the base route "/".
	svc := app.Service(service.NumCPUs(1))

	// A JSON body in, the same JSON out.
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in MyType) (MyType, error) {
		return in, nil
	})

	// A query parameter: GET /my_endpoint?my_int=1 → 1.
	flow.Endpoint(svc, "GET", "/my_endpoint", func(ctx context.Context, q MyQuery) (int, error) {
		return q.MyInt, nil
	})

	// The raw request, with no binding or validation.
	flow.Endpoint(svc, "POST", "/raw", func(ctx context.Context, r requests.Request) (responses.PlainText, error) {
		return responses.PlainText{Body: r.Method + " " + r.URL.Path + " " + r.Header.Get("Content-Type")}, nil
	})

	// A second service built apart, on its own base route.
	users := service.New(service.BaseRoute("/users"), service.Replicas(1, 4))
	flow.Endpoint(users, "GET", "/{name}", func(ctx context.Context, in struct {
		Name string `path:"name"`
	}) (Hello, error) {
		return Hello{Message: "hello " + in.Name}, nil
	})
	app.AddService(users)
	return app
}

func main() {
	if err := flow.Run(NewApp()); err != nil {
		log.Fatal(err)
	}
}
