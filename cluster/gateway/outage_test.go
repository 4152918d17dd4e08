package gateway_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicaflow/replicaflow/cluster/gateway"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/registry"
)

// ownRedis starts a redis-server of the test's own on a free loopback
// port, or skips the test when there is no redis-server binary. stop ends
// it (by its process) and waits for it to exit.
func ownRedis(t *testing.T) (addr string, stop func()) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		t.Skip("redis-server is not installed; skipping the registry outage test")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			cmd.Process.Kill()
			cmd.Wait()
		})
	}
	t.Cleanup(stop)
	addr = net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	c := redis.NewClient(&redis.Options{Addr: addr})
	defer c.Close()
	testutil.WaitFor(t, "the test's redis-server to answer", 10*time.Second, func() bool {
		return c.Ping(context.Background()).Err() == nil
	})
	return addr, stop
}

// TestRegistryOutage replays the red team's D6: Redis stops while clients
// go through the gateway. The gateway must keep routing a service it knows
// to its last known instances, health checks included, and never answer
// 404 for it; a service it never knew gets 503 with Retry-After.
func TestRegistryOutage(t *testing.T) {
	addr, stopRedis := ownRedis(t)
	client := redis.NewClient(&redis.Options{Addr: addr, DialTimeout: time.Second, MaxRetries: -1})
	defer client.Close()
	reg, err := registry.NewRedis(client, []byte("a test secret of 32 bytes length"))
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close()
	up := newUpstream(t, "a", nil)
	host, port := hostPort(up)
	if err := reg.Register(context.Background(), registry.Instance{Service: "hello", ID: "w1", Host: host, Port: port,
		Status: registry.StatusHealthy}, time.Minute); err != nil {
		t.Fatal(err)
	}
	var logs lockedLog
	g, srv := newGateway(t, gateway.Options{Registry: reg, DisableManagement: true,
		Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	g.CheckAll(context.Background())
	if code, body, _ := get(t, srv.URL+"/hello/x"); code != 200 {
		t.Fatalf("before the outage: %d %s", code, body)
	}

	// Load through the gateway for the whole outage.
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	codes := map[int]int{}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for ctx.Err() == nil {
				resp, err := http.Get(srv.URL + "/hello/x")
				if err != nil {
					continue
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				mu.Lock()
				codes[resp.StatusCode]++
				mu.Unlock()
			}
		})
	}
	stopRedis()
	// The periodic health check runs during the outage (it used to wipe the
	// last known list), and requests reach the registry and fail.
	for range 3 {
		g.CheckAll(context.Background())
	}
	testutil.WaitFor(t, "a request to find the registry down", 10*time.Second, func() bool {
		return strings.Contains(logs.String(), "registry lookup failed")
	})
	g.CheckAll(context.Background())
	testutil.WaitFor(t, "more requests after the checks", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return codes[200] > 50
	})
	cancel()
	wg.Wait()
	if codes[404] != 0 || len(codes) != 1 {
		t.Fatalf("answers during the outage: %v; want only 200", codes)
	}
	if up.hits.Load() == 0 {
		t.Fatal("the upstream was never reached")
	}

	code, _, h := get(t, srv.URL+"/never-known/x")
	if code != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
		t.Fatalf("unknown service during the outage: %d, Retry-After %q; want 503 with Retry-After", code, h.Get("Retry-After"))
	}
}

// lockedLog collects log lines written from several goroutines.
type lockedLog struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
