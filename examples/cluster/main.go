// Cluster is a worker of a replicaflow cluster: a small "hello" service
// that registers with a supervisor when it starts, configured by PicoAPI's
// API_* variables (or a .env file), and deregisters when it stops.
//
//	replicaflow supervisor -addr 127.0.0.1:8100 &
//	API_REGISTER_PATH=http://127.0.0.1:8100/register API_PORT=8001 API_HOST=127.0.0.1 \
//	    API_HEALTH_INTERVAL=1 go run ./examples/cluster &
//	curl 127.0.0.1:8100/services/status
//	curl 127.0.0.1:8001/whoami
//
// run.sh starts a whole cluster (a supervisor, a gateway, two workers) and
// calls through the gateway.
package main

import (
	"context"
	"log"
	"os"

	"github.com/replicaflow/replicaflow/cluster/worker"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// WhoAmI tells which worker answered.
type WhoAmI struct {
	Service string `json:"service"`
	Addr    string `json:"addr"`
	PID     int    `json:"pid"`
}

// Greeting is the answer of GET /hello/{name}.
type Greeting struct {
	Message string `json:"message"`
	Addr    string `json:"addr"`
}

// NameIn binds the name of GET /hello/{name}.
type NameIn struct {
	Name string `path:"name"`
}

// NewApp builds the worker: the service "hello" at the base route "/"
// (the gateway strips /hello from /hello/whoami).
func NewApp(opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	svc := app.Service(service.Name("hello"), service.Replicas(1, 4))
	addr := func() string {
		if a := app.Addr(); a != nil {
			return a.String()
		}
		return ""
	}
	flow.Endpoint(svc, "GET", "/whoami", func(ctx context.Context, _ struct{}) (WhoAmI, error) {
		return WhoAmI{Service: "hello", Addr: addr(), PID: os.Getpid()}, nil
	})
	flow.Endpoint(svc, "GET", "/hello/{name}", func(ctx context.Context, in NameIn) (Greeting, error) {
		return Greeting{Message: "hello " + in.Name, Addr: addr()}, nil
	})
	return app
}

func main() {
	if err := flow.Run(NewApp(worker.FromEnv())); err != nil {
		log.Fatal(err)
	}
}
