// Step puts a load step on the autoscale example (10 ms of work per request,
// one request at a time per replica, 1 to 8 replicas, default scaling
// settings) and prints what the aims ask about:
//
//   - time from the load step to max replicas (decided, then ready);
//
//   - steady throughput against the capacity limit, max replicas × max
//     concurrent queries / service time (nominal 10 ms, and the time a
//     10 ms timer really takes here);
//
//   - replica changes under steady load;
//
//   - failed requests while the pool scales down under light load, and the
//     time it takes to get back down.
//
//     go run ./bench/step [-clients 16] [-steady 10s]
//
// The app is served on a random loopback port in this process and loaded
// over HTTP by closed-loop clients.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"time"

	"github.com/replicaflow/replicaflow/examples/autoscale/slowapp"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/scaling"
)

func main() {
	clients := flag.Int("clients", 16, "clients in the load step")
	steady := flag.Duration("steady", 10*time.Second, "steady-load window")
	light := flag.Int("light", 2, "clients while scaling down")
	flag.Parse()
	if err := run(*clients, *light, *steady); err != nil {
		log.Fatal(err)
	}
}

// waitUntil polls cond every 2 ms until it holds, or fails after limit.
func waitUntil(limit time.Duration, cond func() bool) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for {
		if cond() {
			return time.Now(), nil
		}
		if time.Now().After(deadline) {
			return time.Time{}, fmt.Errorf("not reached in %v", limit)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// timerTime measures how long a slowapp.Work timer really takes here.
func timerTime() time.Duration {
	const n = 100
	start := time.Now()
	for range n {
		t := time.NewTimer(slowapp.Work)
		<-t.C
	}
	return time.Since(start) / n
}

func run(clients, light int, steady time.Duration) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	app, svc := slowapp.NewApp([]flow.Option{flow.Address("127.0.0.1:0"), flow.Logger(quiet)})
	ctx := context.Background()
	if err := app.Start(ctx); err != nil {
		return err
	}
	defer app.Shutdown(ctx)
	status := func() scaling.Status { return svc.Status().Replicas }
	if _, err := waitUntil(5*time.Second, func() bool { return svc.Ready() == nil }); err != nil {
		return err
	}
	o := svc.Options()
	maxR := o.MaxReplicas
	work := timerTime()
	fmt.Printf("service: replicas %d–%d, max concurrent queries %d, work %v (a %v timer takes %v here)\n",
		o.MinReplicas, maxR, o.MaxConcurrentQueries, slowapp.Work, slowapp.Work, work.Round(time.Microsecond))
	fmt.Printf("scaling defaults: tick %v, look-back %v, upscale delay %v, downscale delay %v\n\n",
		scaling.DefaultTick, scaling.DefaultLookBack, scaling.DefaultUpscaleDelay, scaling.DefaultDownscaleDelay)

	load := slowapp.NewLoad("http://" + app.Addr().String() + "/slow")
	defer load.Stop()

	// 1. The step.
	step := time.Now()
	load.Set(clients)
	decided, err := waitUntil(10*time.Second, func() bool { return status().Desired == maxR })
	if err != nil {
		return fmt.Errorf("desired max replicas: %w", err)
	}
	ready, err := waitUntil(10*time.Second, func() bool { return status().Running == maxR })
	if err != nil {
		return fmt.Errorf("max replicas ready: %w", err)
	}
	fmt.Printf("load step 0 → %d clients: max replicas (%d) decided after %v, all ready after %v\n",
		clients, maxR, decided.Sub(step).Round(time.Millisecond), ready.Sub(step).Round(time.Millisecond))

	// 2. Steady load.
	time.Sleep(time.Second)
	ok0, failed0 := load.Counts()
	from := time.Now()
	lo, hi := maxR, 0
	for time.Since(from) < steady {
		n := status().Running
		lo, hi = min(lo, n), max(hi, n)
		time.Sleep(10 * time.Millisecond)
	}
	ok1, failed1 := load.Counts()
	span := time.Since(from)
	changes := 0
	for _, d := range status().Decisions {
		if !d.At.Before(from) {
			changes++
		}
	}
	tput := float64(ok1-ok0) / span.Seconds()
	nominal := float64(maxR*o.MaxConcurrentQueries) / slowapp.Work.Seconds()
	effective := float64(maxR*o.MaxConcurrentQueries) / work.Seconds()
	fmt.Printf("steady %d clients for %v: %.0f req/s = %.1f%% of the capacity limit %.0f req/s (%.1f%% of %.0f req/s with the measured timer)\n",
		clients, span.Round(time.Millisecond), tput, 100*tput/nominal, nominal, 100*tput/effective, effective)
	fmt.Printf("  replica changes under steady load: %d (running between %d and %d); failed requests: %d\n",
		changes, lo, hi, failed1-failed0)

	// 3. Scale-down under light load, then at rest.
	okD0, failedD0 := load.Counts()
	drop := time.Now()
	load.Set(light)
	want := max(o.MinReplicas, light)
	down, err := waitUntil(60*time.Second, func() bool { st := status(); return st.Running == want && st.Stopping == 0 })
	if err != nil {
		return fmt.Errorf("scale-down to %d: %w", want, err)
	}
	okD1, failedD1 := load.Counts()
	fmt.Printf("load drop %d → %d clients: down to %d replicas after %v; %d requests served meanwhile, %d failed\n",
		clients, light, want, down.Sub(drop).Round(time.Millisecond), okD1-okD0, failedD1-failedD0)
	rest := time.Now()
	load.Stop()
	down, err = waitUntil(60*time.Second, func() bool { st := status(); return st.Running == o.MinReplicas && st.Stopping == 0 })
	if err != nil {
		return fmt.Errorf("scale-down to min: %w", err)
	}
	okE, failedE := load.Counts()
	fmt.Printf("load stop: down to %d replica(s) after %v; failed requests in all: %d of %d\n\n",
		o.MinReplicas, down.Sub(rest).Round(time.Millisecond), failedE, okE+failedE)
	fmt.Println("scaling decisions:")
	for _, d := range status().Decisions {
		fmt.Printf("  %+7.2fs  %d → %d  %s\n", d.At.Sub(step).Seconds(), d.From, d.Desired, d.Reason)
	}
	return nil
}
