// Autoscale shows a service whose replicas follow the load: a slow endpoint
// (10 ms of waiting per request, one request at a time per replica) on one
// to eight replicas.
//
//	go run ./examples/autoscale           # serve on :8000
//	curl localhost:8000/slow
//	curl -s localhost:8000/metrics | grep replicaflow_replicas
//
//	go run ./examples/autoscale -load     # drive load in steps and print the replicas
//
// With -load the program serves on a random loopback port, sends 16
// clients' worth of requests, then 4, then none, and prints the replica
// count twice a second: it rises to eight within a second of the step and
// falls back after the downscale delay (5 s by default).
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"os"
	"time"

	"github.com/replicaflow/replicaflow/examples/autoscale/slowapp"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

// phase is a number of clients held for a while.
type phase struct {
	clients int
	hold    time.Duration
}

// steps is the load the -load command sends.
var steps = []phase{{0, time.Second}, {16, 5 * time.Second}, {4, 7 * time.Second}, {0, 7 * time.Second}}

func main() {
	load := flag.Bool("load", false, "serve on a loopback port, drive load in steps and print the replicas")
	every := flag.Duration("every", 500*time.Millisecond, "with -load: how often to print")
	flag.Parse()
	if !*load {
		app, _ := slowapp.NewApp(nil)
		if err := flow.Run(app); err != nil {
			log.Fatal(err)
		}
		return
	}
	if err := run(os.Stdout, steps, *every); err != nil {
		log.Fatal(err)
	}
}

// run serves the app on a loopback port, sends the phases of load to it
// over HTTP and prints the service's replicas every so often.
func run(w io.Writer, phases []phase, every time.Duration, opts ...service.Option) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, svc := slowapp.NewApp([]flow.Option{flow.Address("127.0.0.1:0"), flow.Logger(quiet)}, opts...)
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer app.Shutdown(ctx)
	load := slowapp.NewLoad("http://" + app.Addr().String() + "/slow")
	defer load.Stop()

	fmt.Fprintf(w, "%6s %7s %7s %8s %8s %7s %8s %6s %7s %6s\n",
		"t", "clients", "running", "starting", "stopping", "desired", "inflight", "queued", "ok", "failed")
	start := time.Now()
	tick := time.NewTicker(every)
	defer tick.Stop()
	report := func() {
		st := svc.Status().Replicas
		ok, failed := load.Counts()
		fmt.Fprintf(w, "%5.1fs %7d %7d %8d %8d %7d %8d %6d %7d %6d\n", time.Since(start).Seconds(), load.Clients(),
			st.Running, st.Starting, st.Stopping, st.Desired, st.InFlight, st.Queued, ok, failed)
	}
	for _, p := range phases {
		load.Set(p.clients)
		end := time.After(p.hold)
	hold:
		for {
			select {
			case <-tick.C:
				report()
			case <-end:
				break hold
			}
		}
	}
	load.Stop()
	report()
	st := svc.Status().Replicas
	fmt.Fprintln(w, "\nscaling decisions:")
	for _, d := range st.Decisions {
		fmt.Fprintf(w, "  %5.1fs %d → %d  %s\n", d.At.Sub(start).Seconds(), d.From, d.Desired, d.Reason)
	}
	return nil
}
