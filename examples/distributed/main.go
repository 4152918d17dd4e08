// Distributed runs one service's replicas in many processes through NATS
// (package distributed): workers export the service "work", a gateway
// forwards /work/... to them, and a load command measures what comes back.
//
//	nats-server -a 127.0.0.1 -p 4222 &
//	NATS_URL=nats://127.0.0.1:4222 go run ./examples/distributed worker &   # as many as you like
//	NATS_URL=nats://127.0.0.1:4222 go run ./examples/distributed gateway -addr 127.0.0.1:8080 &
//	go run ./examples/distributed load -url http://127.0.0.1:8080/work/sleep?ms=10 -c 48 -d 5s
//	go run ./examples/distributed bench          # 1, 2 and 3 worker processes, req/s of each
//
// run.sh does all of it. Each worker has 8 replica slots (8 replicas of one
// slot each); GET and POST /work/sleep?ms=N sleep N ms and say which
// process answered.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/cluster/gateway"
	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/distributed/node"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// FlowName is the flow token of the example's subjects.
const FlowName = "demo"

// Sleep binds ?ms=N.
type Sleep struct {
	MS int `query:"ms" binding:"gte=0,lte=60000"`
}

// Done says which process served a request.
type Done struct {
	PID int `json:"pid"`
}

// NewWorker builds the worker flow: the service "work" at /work with slots
// fixed replicas of one slot each, exported on NATS.
func NewWorker(url, prefix string, slots int, opts ...flow.Option) *flow.Flow {
	app := flow.New(append([]flow.Option{
		node.NATS(url, node.FlowName(FlowName), node.SubjectPrefix(prefix)),
		flow.Metrics(""), flow.Docs("", ""),
	}, opts...)...)
	svc := app.Service(service.Name("work"), service.BaseRoute("/work"),
		service.Replicas(slots, slots), service.MaxConcurrentQueries(1), service.TargetOngoingRequests(1),
		service.NumCPUs(1/float64(slots)),
		service.MaxQueuedRequests(slots))
	sleep := func(ctx context.Context, in Sleep) (Done, error) {
		select {
		case <-time.After(time.Duration(in.MS) * time.Millisecond):
		case <-ctx.Done():
			return Done{}, ctx.Err()
		}
		return Done{PID: os.Getpid()}, nil
	}
	flow.Endpoint(svc, "GET", "/sleep", sleep)
	flow.Endpoint(svc, "POST", "/sleep", sleep)
	return app
}

func env(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

func main() {
	log.SetFlags(0)
	if len(os.Args) < 2 {
		log.Fatal("usage: distributed worker|gateway|load|bench [flags]")
	}
	cmd, args := os.Args[1], os.Args[2:]
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	url := fs.String("nats", env("NATS_URL", nats.DefaultURL), "NATS server URL (NATS_URL)")
	prefix := fs.String("prefix", env("RF_PREFIX", distributed.DefaultPrefix), "subject prefix (RF_PREFIX)")
	var err error
	switch cmd {
	case "worker":
		slots := fs.Int("slots", 8, "replica slots")
		addr := fs.String("addr", "127.0.0.1:0", "HTTP address (health, local calls)")
		_ = fs.Parse(args)
		app := NewWorker(*url, *prefix, *slots, flow.Address(*addr), flow.ShutdownTimeout(20*time.Second),
			flow.Logger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
			flow.OnStart(func(ctx context.Context, f *flow.Flow) error {
				fmt.Printf("worker ready pid=%d addr=%s\n", os.Getpid(), f.Addr())
				return nil
			}))
		err = flow.Run(app)
	case "gateway":
		addr := fs.String("addr", "127.0.0.1:8080", "HTTP address")
		busy := fs.Duration("busy-wait", time.Second, "how long busy workers are retried")
		timeout := fs.Duration("timeout", 30*time.Second, "attempt timeout")
		_ = fs.Parse(args)
		err = runGateway(*url, *prefix, *addr, *timeout, *busy)
	case "load":
		target := fs.String("url", "http://127.0.0.1:8080/work/sleep?ms=10", "URL to call")
		method := fs.String("method", "GET", "method")
		c := fs.Int("c", 48, "concurrent clients")
		d := fs.Duration("d", 5*time.Second, "duration")
		_ = fs.Parse(args)
		r := Load(context.Background(), *method, *target, *c, *d)
		fmt.Println(r)
	case "bench":
		d := fs.Duration("d", 4*time.Second, "duration of each run")
		c := fs.Int("c", 48, "concurrent clients")
		max := fs.Int("workers", 3, "up to this many worker processes")
		_ = fs.Parse(args)
		err = bench(*url, *prefix, *max, *c, *d)
	default:
		err = fmt.Errorf("unknown command %q", cmd)
	}
	if err != nil {
		log.Fatal(err)
	}
}

// runGateway serves cluster/gateway with a NATS ingress until SIGINT or
// SIGTERM.
func runGateway(url, prefix, addr string, timeout, busy time.Duration) error {
	nc, err := nats.Connect(url, nats.Name("replicaflow gateway"))
	if err != nil {
		return err
	}
	defer nc.Close()
	in, err := distributed.NewIngress(nc, distributed.IngressOptions{Prefix: prefix, Flow: FlowName,
		Timeout: timeout, MaxBusyWait: busy})
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "rf-gateway")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	g, err := gateway.New(context.Background(), gateway.Options{Remote: in,
		Store: gateway.FileStore{Path: filepath.Join(dir, "store.json")}})
	if err != nil {
		return err
	}
	defer g.Close()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: g, ReadHeaderTimeout: 10 * time.Second}
	fmt.Printf("gateway listening on %s\n", ln.Addr())
	go func() {
		sigs := make(chan os.Signal, 1)
		signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != http.ErrServerClosed {
		return err
	}
	return nil
}
