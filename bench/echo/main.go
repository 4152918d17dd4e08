// Echo compares the server CPU that one JSON echo request costs through
// replicaflow (bind, replica pool, render) with a raw gin handler doing the
// same decode, validation and encode, in the same run.
//
//	go run ./bench/echo [-n 20000] [-c 8] [-rounds 5]
//
// Each server runs in its own child process (this program, re-executed), on
// a random loopback port. The load generator sends the same requests to each
// in turn, round after round; the child reports its own CPU time
// (getrusage) before and after each round, so the figure is the server's
// CPU alone, whatever the load generator costs. It prints the median CPU per
// request of each server and its ratio to raw gin.
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
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
)

// Echo is the request and the answer.
type Echo struct {
	Name  string   `json:"name" binding:"required"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

var body = []byte(`{"name":"replicaflow","count":42,"tags":["a","b","c"]}`)

// servers are the variants compared; the first is the baseline.
var servers = []string{"gin", "replicaflow", "replicaflow+metrics"}

const serveEnv = "REPLICAFLOW_BENCH_SERVE"

func main() {
	if v := os.Getenv(serveEnv); v != "" {
		if err := serve(v); err != nil {
			log.Fatal(err)
		}
		return
	}
	n := flag.Int("n", 20000, "requests per server per round")
	c := flag.Int("c", 8, "concurrent clients")
	rounds := flag.Int("rounds", 5, "rounds (each server once per round)")
	limit := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	procs := flag.Int("procs", 0, "GOMAXPROCS of each server (0: the Go default)")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *limit)
	defer cancel()
	if err := compare(ctx, *n, *c, *rounds, *procs); err != nil {
		log.Fatal(err)
	}
}

// child is a server process.
type child struct {
	name string
	cmd  *exec.Cmd
	in   io.WriteCloser
	out  *bufio.Reader
	url  string
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
	ch.url = "http://" + addr + "/echo"
	return ch, nil
}

func (c *child) line() (string, error) {
	s, err := c.out.ReadString('\n')
	return strings.TrimSpace(s), err
}

// cpu asks the child for its CPU time so far.
func (c *child) cpu() (time.Duration, error) {
	if _, err := io.WriteString(c.in, "cpu\n"); err != nil {
		return 0, err
	}
	s, err := c.line()
	if err != nil {
		return 0, err
	}
	ns, err := strconv.ParseInt(s, 10, 64)
	return time.Duration(ns), err
}

func (c *child) stop() {
	c.in.Close()
	c.cmd.Wait()
}

func compare(ctx context.Context, n, clients, rounds, procs int) error {
	var kids []*child
	defer func() {
		for _, k := range kids {
			k.stop()
		}
	}()
	for _, name := range servers {
		k, err := start(name, procs)
		if err != nil {
			return err
		}
		kids = append(kids, k)
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: clients, MaxIdleConns: clients * len(kids)}}
	perReq := make(map[string][]float64)
	rps := make(map[string][]float64)
	for _, k := range kids { // warm up: connections, JIT of caches, GC
		if _, _, err := drive(ctx, client, k.url, n/4+1, clients); err != nil {
			return fmt.Errorf("%s: %w", k.name, err)
		}
	}
	gmp := "the Go default"
	if procs > 0 {
		gmp = strconv.Itoa(procs)
	}
	fmt.Printf("JSON echo, %d requests × %d rounds per server, %d clients, server GOMAXPROCS %s\n\n", n, rounds, clients, gmp)
	for r := range rounds {
		for i := range kids {
			k := kids[(i+r)%len(kids)] // rotate who goes first
			before, err := k.cpu()
			if err != nil {
				return err
			}
			elapsed, failed, err := drive(ctx, client, k.url, n, clients)
			if err != nil {
				return fmt.Errorf("%s: %w", k.name, err)
			}
			after, err := k.cpu()
			if err != nil {
				return err
			}
			if failed > 0 {
				return fmt.Errorf("%s: %d requests failed", k.name, failed)
			}
			perReq[k.name] = append(perReq[k.name], float64(after-before)/float64(n))
			rps[k.name] = append(rps[k.name], float64(n)/elapsed.Seconds())
		}
	}
	base := median(perReq[servers[0]])
	fmt.Printf("%-22s %14s %10s %12s %14s\n", "server", "CPU/request", "ratio", "round spread", "requests/s")
	for _, name := range servers {
		m := median(perReq[name])
		lo, hi := slices.Min(perReq[name]), slices.Max(perReq[name])
		fmt.Printf("%-22s %11.2f µs %9.3f× %+4.0f/%+-4.0f%% %14.0f\n", name, m/1e3, m/base,
			100*(lo/m-1), 100*(hi/m-1), median(rps[name]))
	}
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

// drive sends n POST requests from clients goroutines and returns how long
// they took and how many failed.
func drive(ctx context.Context, client *http.Client, url string, n, clients int) (time.Duration, int64, error) {
	var left, failed atomic.Int64
	left.Store(int64(n))
	var wg sync.WaitGroup
	var first error
	var once sync.Once
	start := time.Now()
	for range clients {
		wg.Go(func() {
			for left.Add(-1) >= 0 {
				req, _ := http.NewRequestWithContext(ctx, "POST", url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				res, err := client.Do(req)
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
				if res.StatusCode != 200 {
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
// answers "cpu" lines on stdin with its CPU time in nanoseconds, and exits
// when stdin closes.
func serve(name string) error {
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	var addr string
	var stop func()
	switch name {
	case "gin":
		gin.SetMode(gin.ReleaseMode)
		e := gin.New()
		e.POST("/echo", func(c *gin.Context) {
			var in Echo
			if err := c.ShouldBindJSON(&in); err != nil {
				c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
				return
			}
			c.JSON(http.StatusOK, in)
		})
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return err
		}
		srv := &http.Server{Handler: e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
		go srv.Serve(ln)
		addr, stop = ln.Addr().String(), func() { srv.Shutdown(context.Background()) }
	case "replicaflow", "replicaflow+metrics":
		opts := []flow.Option{flow.Address("127.0.0.1:0"), flow.Logger(quiet)}
		if name == "replicaflow" {
			opts = append(opts, flow.Metrics(""))
		}
		app := flow.New(opts...)
		flow.Endpoint(app.Service(), "POST", "/echo", func(ctx context.Context, in Echo) (Echo, error) {
			return in, nil
		})
		if err := app.Start(context.Background()); err != nil {
			return err
		}
		addr, stop = app.Addr().String(), func() { app.Shutdown(context.Background()) }
	default:
		return fmt.Errorf("unknown server %q", name)
	}
	defer stop()
	fmt.Println(addr)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "cpu" {
			var ru syscall.Rusage
			if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
				return err
			}
			fmt.Println(syscall.TimevalToNsec(ru.Utime) + syscall.TimevalToNsec(ru.Stime))
		}
	}
	return sc.Err()
}
