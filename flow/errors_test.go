package flow_test

import (
	"context"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/service"
)

type none struct{}

type item struct {
	Name  string `json:"name" binding:"required"`
	Count int    `json:"count" binding:"min=0"`
}

// TestRoutingErrors checks the problem details of requests no endpoint
// takes: the flow's dispatcher and the service's router answer them.
func TestRoutingErrors(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	svc := app.Service(service.BaseRoute("/b"))
	flow.Endpoint(svc, "POST", "/form", func(ctx context.Context, _ none) (none, error) { return none{}, nil })
	c := flowtest.New(t, app)
	tests := []struct {
		name, path string
		status     int
		allow      string
	}{
		{"unknown path", "/nowhere", 404, ""},
		{"unknown route in a service", "/b/nowhere", 404, ""},
		{"wrong method says what is allowed", "/b/form", 405, "POST"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := c.Get(tt.path)
			p := res.Problem()
			if res.Status != tt.status || p.Status != tt.status || p.Title == "" || p.Detail == "" || p.Instance != tt.path {
				t.Fatalf("%d %+v", res.Status, p)
			}
			if res.Header.Get("Allow") != tt.allow {
				t.Fatalf("Allow %q, want %q", res.Header.Get("Allow"), tt.allow)
			}
		})
	}
}

func TestMiddlewarePanicIsProblem(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	svc := app.Service()
	svc.Use(func(c *gin.Context) {
		if c.Query("boom") != "" {
			panic("middleware bug")
		}
		c.Next()
	})
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "ok", nil })
	c := flowtest.New(t, app)
	if res := c.Get("/?boom=1"); res.Status != 500 || res.Problem().Detail != "the server failed to handle the request" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if res := c.Get("/"); res.Status != 200 {
		t.Fatalf("after the panic: %d", res.Status)
	}
}
