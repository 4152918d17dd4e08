// Echo compares the server CPU and the allocations that a request costs
// through replicaflow (bind, replica pool, metrics, render) with a raw gin
// handler doing the same work, in the same run, on two endpoints: a JSON
// echo (POST /echo: decode, validate, encode) and a query (GET
// /query?count=42: one query parameter bound into a struct, a JSON answer).
//
//	go run ./bench/echo [-n 20000] [-c 8] [-rounds 5] [-procs 1]
//
// replicaflow runs with the flow's defaults (health, docs, metrics,
// management); replicaflow-no-metrics turns the metrics off. Each server
// runs in its own child process (this program, re-executed), on a random
// loopback port. The load generator sends the same requests to each in turn,
// round after round; the child reports its own CPU time (getrusage) and heap
// allocation count before and after each round, so the figures are the
// server's alone, whatever the load generator costs. It prints, per
// endpoint, the median CPU per request of each server with its ratio to raw
// gin, and the allocations per request.
package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/replicaflow/replicaflow/flow"
)

const serveEnv = "REPLICAFLOW_BENCH_SERVE"

func main() {
	if v := os.Getenv(serveEnv); v != "" {
		if err := serve(v); err != nil {
			log.Fatal(err)
		}
		return
	}
	n := flag.Int("n", 20000, "requests per server, endpoint and round")
	c := flag.Int("c", 8, "concurrent clients")
	rounds := flag.Int("rounds", 5, "rounds (each server once per endpoint and round)")
	limit := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	procs := flag.Int("procs", 0, "GOMAXPROCS of each server (0: the Go default)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	if err := compare(ctx, *n, *c, *rounds, *procs); err != nil {
		log.Fatal(err)
	}
}

// load is one endpoint under test: how to make its request.
type load struct {
	short, name string
	path        string
	req         func(ctx context.Context, base string) *http.Request
}

var loads = []load{
	{"echo", "JSON echo (POST " + echoPath + ")", echoPath, func(ctx context.Context, base string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+echoPath, bytes.NewReader(echoBody))
		req.Header.Set("Content-Type", "application/json")
		return req
	}},
	{"query", "query (GET " + queryURL + ")", queryPath, func(ctx context.Context, base string) *http.Request {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+queryURL, nil)
		return req
	}},
}

// child is a server process.
type child struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	base string
}

func start(name string, procs int) (*child, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe)
	cmd.Env = append(os.Environ(), serveEnv+"="+name)
	if procs > 0 {
		cmd.Env = append(cmd.Env, "GOMAXPROCS="+strconv.Itoa(procs))
	}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	ch := &child{name: name, cmd: cmd, in: in, out: bufio.NewReader(outPipe)}
	addr, err := ch.line()
	if err != nil {
		ch.stop()
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	ch.base = "http://" + addr
	return ch, nil
}

func (c *child) line() (string, error) {
	s, err := c.out.ReadString('\n')
	return strings.TrimSpace(s), err
}

// usage is what a child has used so far.
type usage struct {
	cpu    time.Duration
	allocs uint64
}

// usage asks the child for its CPU time and heap allocations so far.
func (c *child) usage() (usage, error) {
	if _, err := io.WriteString(c.in, "usage\n"); err != nil {
		return usage{}, err
	}
	s, err := c.line()
	if err != nil {
		return usage{}, err
	}
	var u usage
	var ns int64
	if _, err := fmt.Sscan(s, &ns, &u.allocs); err != nil {
		return usage{}, fmt.Errorf("%s: bad usage line %q: %w", c.name, s, err)
	}
	u.cpu = time.Duration(ns)
	return u, nil
}

func (c *child) stop() {
	c.in.Close()
	c.cmd.Wait()
}

// samples are one server's figures on one endpoint, one per round.
type samples struct {
	cpu, allocs, rps []float64 // per request, per request, per second
}

func compare(ctx context.Context, n, clients, rounds, procs int) error {
	var kids []*child
	defer func() {
		for _, k := range kids {
			k.stop()
		}
	}()
	for _, v := range variants {
		k, err := start(v.name, procs)
		if err != nil {
			return err
		}
		kids = append(kids, k)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients * len(kids)}}
	for _, l := range loads { // warm up: connections, caches, GC
		for _, k := range kids {
			if _, _, err := drive(ctx, client, l, k.base, n/4+1, clients); err != nil {
				return fmt.Errorf("%s %s: %w", k.name, l.path, err)
			}
		}
	}
	got := map[string]map[string]*samples{} // endpoint path → server → samples
	for _, l := range loads {
		got[l.path] = map[string]*samples{}
		for _, k := range kids {
			got[l.path][k.name] = &samples{}
		}
	}
	for r := range rounds {
		for _, l := range loads {
			for i := range kids {
				k := kids[(i+r)%len(kids)] // rotate who goes first
				before, err := k.usage()
				if err != nil {
					return err
				}
				elapsed, failed, err := drive(ctx, client, l, k.base, n, clients)
				if err != nil {
					return fmt.Errorf("%s %s: %w", k.name, l.path, err)
				}
				after, err := k.usage()
				if err != nil {
					return err
				}
				if failed > 0 {
					return fmt.Errorf("%s %s: %d requests failed", k.name, l.path, failed)
				}
				s := got[l.path][k.name]
				s.cpu = append(s.cpu, float64(after.cpu-before.cpu)/float64(n))
				s.allocs = append(s.allocs, float64(after.allocs-before.allocs)/float64(n))
				s.rps = append(s.rps, float64(n)/elapsed.Seconds())
			}
		}
	}
	gmp := "the Go default"
	if procs > 0 {
		gmp = strconv.Itoa(procs)
	}
	fmt.Printf("%d requests × %d rounds per server and endpoint, %d clients, server GOMAXPROCS %s\n", n, rounds, clients, gmp)
	base := variants[0].name
	var note []string
	for _, l := range loads {
		fmt.Printf("\n%s\n%-24s %14s %10s %13s %12s %12s\n", l.name, "server", "CPU/request", "vs "+base, "round spread", "allocs/req", "requests/s")
		g := got[l.path][base]
		for _, v := range variants {
			s := got[l.path][v.name]
			m := median(s.cpu)
			lo, hi := slices.Min(s.cpu), slices.Max(s.cpu)
			spread := fmt.Sprintf("%+.0f/%+.0f%%", 100*(lo/m-1), 100*(hi/m-1))
			fmt.Printf("%-24s %11.2f µs %9.3f× %13s %12.1f %12.0f\n", v.name, m/1e3, m/median(g.cpu),
				spread, median(s.allocs), median(s.rps))
		}
		rf := got[l.path][variants[1].name]
		note = append(note, fmt.Sprintf("%s %.3f× %s's CPU per request, %.1f allocs per request against %.1f",
			l.short, median(rf.cpu)/median(g.cpu), base, median(rf.allocs), median(g.allocs)))
	}
	fmt.Printf("\n%s (defaults on): %s.\n", variants[1].name, strings.Join(note, "; "))
	return nil
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// drive sends n requests of l to base from clients goroutines and returns
// how long they took and how many failed.
func drive(ctx context.Context, client *http.Client, l load, base string, n, clients int) (time.Duration, int64, error) {
	var left, failed atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				res, err := client.Do(l.req(ctx, base))
				if err != nil {
					once.Do(func() { first = err })
					failed.Add(1)
					if ctx.Err() != nil {
						return
					}
					continue
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				if res.StatusCode != http.StatusOK {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if ctx.Err() != nil {
		return 0, 0, errors.Join(ctx.Err(), first)
	}
	return time.Since(start), failed.Load(), nil
}

// serve runs one server in this (child) process: it prints its address,
// answers "usage" lines on stdin with its CPU time in nanoseconds and its
// heap allocations so far, and exits when stdin closes.
func serve(name string) error {
	i := slices.IndexFunc(variants, func(v variant) bool { return v.name == name })
	if i < 0 {
		return fmt.Errorf("unknown server %q", name)
	}
	var addr string
	var stop func()
	if v := variants[i]; v.opts == nil {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: ginEngine(), ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		go srv.Serve(ln)
		addr, stop = ln.Addr().String(), func() { srv.Shutdown(context.Background()) }
	} else {
		app := newApp(append([]flow.Option{flow.Address("127.0.0.1:0")}, v.opts...)...)
		if err := app.Start(context.Background()); err != nil {
			return err
		}
		addr, stop = app.Addr().String(), func() { app.Shutdown(context.Background()) }
	}
	defer stop()
	fmt.Println(addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "usage" {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			fmt.Println(int64(processCPU()), ms.Mallocs)
		}
	}
	return sc.Err()
}

// processCPU returns the CPU time this process has used so far, user and
// system, all threads.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
}
