package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
)

// StartWorker starts a worker process from the executable exe and waits
// until it says it is ready.
func StartWorker(exe, url, prefix string, slots int) (*exec.Cmd, error) {
	cmd := exec.Command(exe, "worker", "-slots", fmt.Sprint(slots))
	cmd.Env = append(os.Environ(), "NATS_URL="+url, "RF_PREFIX="+prefix)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ready := make(chan error, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "worker ready") {
				ready <- nil
				for sc.Scan() {
				}
				return
			}
		}
		ready <- errors.New("the worker exited before it was ready")
	}()
	select {
	case err := <-ready:
		if err != nil {
			_ = cmd.Wait()
			return nil, err
		}
	case <-time.After(20 * time.Second):
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		return nil, errors.New("the worker did not get ready in 20s")
	}
	return cmd, nil
}

// WaitWorkers waits until n workers export the service "work" with slots
// subscriptions each.
func WaitWorkers(ctx context.Context, nc *nats.Conn, prefix string, n, slots int) error {
	for {
		dctx, cancel := context.WithTimeout(ctx, 150*time.Millisecond)
		insts, err := distributed.Instances(dctx, nc, prefix, FlowName)
		cancel()
		ok := 0
		for _, in := range insts {
			if in.Service == "work" && in.Subscriptions == slots {
				ok++
			}
		}
		if err == nil && ok == n {
			return nil
		}
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d workers ready: %v", ok, n, insts)
		}
	}
}

// Ingress serves a distributed.Ingress for /work on a loopback port and
// returns its base URL and a function that stops it.
func Ingress(nc *nats.Conn, prefix string, opts distributed.IngressOptions) (string, func(), error) {
	opts.Prefix, opts.Flow = prefix, FlowName
	in, err := distributed.NewIngress(nc, opts)
	if err != nil {
		return "", nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	mux := http.NewServeMux()
	mux.Handle("/work/", in.Handler("/work", "work"))
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	return "http://" + ln.Addr().String(), func() { _ = srv.Close() }, nil
}

// bench measures throughput through the ingress with 1..max worker
// processes of 8 slots each and a 10 ms handler.
func bench(url, prefix string, max, c int, d time.Duration) error {
	exe, err := os.Executable()
	if err != nil {
		return err
	}
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	if prefix == distributed.DefaultPrefix {
		prefix = fmt.Sprintf("rfbench%d", os.Getpid())
	}
	base, stop, err := Ingress(nc, prefix, distributed.IngressOptions{})
	if err != nil {
		return err
	}
	defer stop()
	var workers []*exec.Cmd
	defer func() {
		for _, w := range workers {
			_ = w.Process.Signal(os.Interrupt)
			_ = w.Wait()
		}
	}()
	var one float64
	fmt.Printf("workers  req/s   ×1     ceiling  statuses\n")
	for k := 1; k <= max; k++ {
		w, err := StartWorker(exe, url, prefix, 8)
		if err != nil {
			return err
		}
		workers = append(workers, w)
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		err = WaitWorkers(ctx, nc, prefix, k, 8)
		cancel()
		if err != nil {
			return err
		}
		Load(context.Background(), "GET", base+"/work/sleep?ms=10", c, 500*time.Millisecond) // warm up
		r := Load(context.Background(), "GET", base+"/work/sleep?ms=10", c, d)
		if k == 1 {
			one = r.Rate()
		}
		fmt.Printf("%-8d %-7.0f %-6.2f %-8d %s\n", k, r.Rate(), r.Rate()/one, k*800, r)
	}
	return nil
}
