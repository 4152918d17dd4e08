// Counter is ProcessPype's counter service in Go: a service class with a
// typed configuration (initial value and step) and routes of its own,
// made, configured, started, stopped and removed over the management API
// while the server runs.
//
//	go run ./examples/counter
//	curl -X POST localhost:8000/admin/services/register \
//	     -H 'Content-Type: application/json' \
//	     -d '{"service_name": "counter", "instance_name": "primary-counter"}'
//	curl -X POST localhost:8000/admin/services/primary-counter/configure_and_start \
//	     -H 'Content-Type: application/json' -d '{"initial_value": 10, "step": 5}'
//	curl -X POST localhost:8000/primary-counter/increment
//	curl localhost:8000/primary-counter/value
//	curl -X DELETE -H 'Content-Type: application/json' localhost:8000/admin/services/primary-counter
//
// With no REPLICAFLOW_ADMIN_TOKEN set only loopback clients may call
// /admin; with one set, send "Authorization: Bearer <token>".
package main

import (
	"context"
	"log"
	"sync"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

// Config is the counter's configuration.
type Config struct {
	InitialValue int `json:"initial_value"`
	Step         int `json:"step" binding:"required,min=1"`
}

// Value is what the counter's routes answer.
type Value struct {
	Value int `json:"value"`
}

// Counter is one counter instance's state.
type Counter struct {
	mu    sync.Mutex
	cfg   Config
	value int
}

func (c *Counter) configure(_ context.Context, cfg Config) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cfg, c.value = cfg, cfg.InitialValue
	return nil
}

func (c *Counter) get(context.Context, struct{}) (Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Value{c.value}, nil
}

func (c *Counter) increment(context.Context, struct{}) (Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value += c.cfg.Step
	return Value{c.value}, nil
}

func (c *Counter) reset(context.Context, struct{}) (Value, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.value = c.cfg.InitialValue
	return Value{c.value}, nil
}

// NewCounter makes a counter service: the class's constructor. It requires
// a configuration before it starts; its routes are GET /value, POST
// /increment and POST /reset under the instance's base route.
func NewCounter(name string, opts ...service.Option) *service.Service {
	c := &Counter{}
	svc := service.New(append([]service.Option{
		service.WithConfig(c.configure),
		service.RequireConfig(),
		service.Replicas(1, 2),
	}, opts...)...)
	flow.Endpoint(svc, "GET", "/value", c.get)
	flow.Endpoint(svc, "POST", "/increment", c.increment)
	flow.Endpoint(svc, "POST", "/reset", c.reset)
	return svc
}

func init() {
	// ProcessPype's @register_service_class.
	manage.RegisterClass("counter", NewCounter, manage.TypeName("CounterService"))
}

// NewApp builds the flow with the management API under /admin.
func NewApp(token string, opts ...flow.Option) *flow.Flow {
	return flow.New(append([]flow.Option{
		flow.Info("counter", "1.0.0", "ProcessPype's counter"),
		flow.Management(manage.Options{Token: token}),
	}, opts...)...)
}

func main() {
	log.Fatal(flow.Run(NewApp("")))
}
