package flow_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

type Greeting struct {
	Name string `json:"name" binding:"required"`
}

type Reply struct {
	Message string `json:"message"`
}

func ExampleEndpoint() {
	app := flow.New()
	svc := app.Service(service.BaseRoute("/hello"), service.Replicas(1, 4))
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in Greeting) (Reply, error) {
		return Reply{Message: "hello " + in.Name}, nil
	})

	req := httptest.NewRequest("POST", "/hello", strings.NewReader(`{"name": "ada"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Body.String())

	req = httptest.NewRequest("POST", "/hello", strings.NewReader(`{}`))
	rec = httptest.NewRecorder()
	app.Handler().ServeHTTP(rec, req)
	fmt.Println(rec.Code, rec.Header().Get("Content-Type"))
	// Output:
	// 200 {"message":"hello ada"}
	// 422 application/problem+json
}

func ExampleFlow_AddService() {
	app := flow.New()
	users := service.New(service.BaseRoute("/users"), service.Name("users"))
	flow.Endpoint(users, "GET", "/{id}", func(ctx context.Context, in struct {
		ID int `path:"id"`
	}) (int, error) {
		return in.ID * 2, nil
	})
	app.AddService(users)

	rec := httptest.NewRecorder()
	app.ServeHTTP(rec, httptest.NewRequest("GET", "/users/21", nil))
	fmt.Println(rec.Body.String())
	// Output: 42
}
