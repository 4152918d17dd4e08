//go:build unix

package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

// TestWhoAmI checks the worker's endpoints in-process.
func TestWhoAmI(t *testing.T) {
	c := flowtest.New(t, NewApp())
	if got := flowtest.Call[WhoAmI](c, "GET", "/whoami", nil); got.Service != "hello" || got.PID != os.Getpid() {
		t.Fatalf("whoami gave %+v", got)
	}
	if got := flowtest.Call[Greeting](c, "GET", "/hello/ada", nil); got.Message != "hello ada" {
		t.Fatalf("hello gave %+v", got)
	}
}

const (
	e2eRedisAddr = "127.0.0.1:6379"
	e2eRedisDB   = 10 // this test's own database (the registry's tests use 9)
	e2eInterval  = time.Second
)

// TestClusterEndToEnd runs the real thing: a supervisor, a gateway (sharing
// the supervisor's registry through Redis) and two worker processes on
// 127.0.0.1. It sends GETs through the gateway the whole time, sees both
// workers serve, SIGKILLs one, and checks that it leaves routing within
// three health intervals, that no request reaches its port after that,
// and that no GET failed.
func TestClusterEndToEnd(t *testing.T) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to build the binaries with")
	}
	rdb := redis.NewClient(&redis.Options{Addr: e2eRedisAddr, DB: e2eRedisDB})
	t.Cleanup(func() { rdb.Close() }) // after the cleanups registered below
	pctx, pcancel := context.WithTimeout(context.Background(), 2*time.Second)
	err = rdb.Ping(pctx).Err()
	pcancel()
	if err != nil {
		t.Skipf("Redis is not reachable at %s (%v); CI starts it", e2eRedisAddr, err)
	}

	dir := t.TempDir()
	bctx, bcancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer bcancel()
	build := exec.CommandContext(bctx, goBin, "build", "-o", dir+string(filepath.Separator),
		"github.com/replicaflow/replicaflow/cmd/replicaflow", "github.com/replicaflow/replicaflow/examples/cluster")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}

	token, secret, prefix := randHex(t, 16), randHex(t, 32), "replicaflow:e2e:"+randHex(t, 4)+":"
	t.Cleanup(func() { deletePrefix(rdb, prefix) })
	common := []string{
		"REPLICAFLOW_TOKEN=" + token,
		fmt.Sprintf("REPLICAFLOW_REDIS_URL=redis://%s/%d", e2eRedisAddr, e2eRedisDB),
		"REPLICAFLOW_REDIS_SECRET=" + secret,
		"REPLICAFLOW_REDIS_PREFIX=" + prefix,
	}
	sup := startProc(t, "supervisor", filepath.Join(dir, "replicaflow"), []string{"supervisor", "-addr", "127.0.0.1:0"}, common, dir)
	gw := startProc(t, "gateway", filepath.Join(dir, "replicaflow"), []string{"gateway", "-addr", "127.0.0.1:0",
		"-store", filepath.Join(dir, "gateway.json"), "-check-interval", e2eInterval.String(), "-timeout", "5s"}, common, dir)
	supURL, gwURL := "http://"+sup.addr(t), "http://"+gw.addr(t)

	workerEnv := append([]string{
		"API_REGISTER_PATH=" + supURL + "/register", "API_HOST=127.0.0.1", "API_BIND=127.0.0.1", "API_PORT=0",
		"API_HEALTH_INTERVAL=" + strconv.Itoa(int(e2eInterval.Seconds())), "API_VERSION=0.1.0", "API_TAGS=example:e2e",
	}, common...)
	workers := []*proc{
		startProc(t, "worker-1", filepath.Join(dir, "cluster"), nil, workerEnv, dir),
		startProc(t, "worker-2", filepath.Join(dir, "cluster"), nil, workerEnv, dir),
	}

	// Both workers registered (with their real ports) and found healthy.
	var ports []int
	testutil.WaitFor(t, "two healthy workers at the supervisor", 15*time.Second, func() bool {
		ports = ports[:0]
		for _, s := range supervisorStatus(t, supURL) {
			if s.Name == "hello" && s.Status == "healthy" && s.Host == "127.0.0.1" && s.Version == "0.1.0" {
				ports = append(ports, s.Port)
			}
		}
		return len(ports) == 2
	})

	client := &http.Client{Timeout: 10 * time.Second}
	// Which process serves which address.
	addrOf := map[int]string{}
	testutil.WaitFor(t, "both workers answering through the gateway", 10*time.Second, func() bool {
		if who, err := whoami(client, gwURL); err == nil {
			addrOf[who.PID] = who.Addr
		}
		return len(addrOf) == 2
	})

	// GETs through the gateway, four at a time, for the rest of the test.
	var (
		mu       sync.Mutex
		served   = map[string]int{}
		failures []string
		total    atomic.Int64
	)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				who, err := whoami(client, gwURL)
				total.Add(1)
				mu.Lock()
				if err != nil {
					failures = append(failures, err.Error())
				} else {
					served[who.Addr]++
				}
				mu.Unlock()
			}
		}()
	}
	stopLoad := func() {
		select {
		case <-stop:
		default:
			close(stop)
			wg.Wait()
		}
	}
	defer stopLoad()
	testutil.WaitFor(t, "both workers serving the load before the kill", 10*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(served) == 2
	})

	// Kill worker 1 without warning: it cannot deregister.
	victim := workers[0]
	victimAddr := addrOf[victim.cmd.Process.Pid]
	if victimAddr == "" {
		t.Fatalf("no address known for worker-1 (pid %d): %v", victim.cmd.Process.Pid, addrOf)
	}
	killed := time.Now()
	victim.cmd.Process.Signal(syscall.SIGKILL)
	victim.wait(t, 5*time.Second)

	// It leaves the gateway's routing.
	testutil.WaitFor(t, "the killed worker out of the gateway's routing", 10*time.Second, func() bool {
		return !routed(t, client, gwURL, token, "http://"+victimAddr)
	})
	left := time.Since(killed)
	if left > 3*e2eInterval {
		t.Errorf("the killed worker left routing after %v, more than three health intervals (%v)", left, 3*e2eInterval)
	}

	// From now on nothing may be sent to its port: listen there and count
	// every request that is not a health check (which gets 503).
	var leaked atomic.Int64
	ln, err := net.Listen("tcp", victimAddr)
	if err != nil {
		t.Fatalf("listen on the killed worker's address: %v", err)
	}
	trap := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			leaked.Add(1)
			t.Errorf("request sent to the killed worker after it left routing: %s %s", r.Method, r.URL)
		}
		w.WriteHeader(http.StatusServiceUnavailable)
	})}
	go trap.Serve(ln)
	defer trap.Close()

	// The supervisor marks it unhealthy after three failed checks.
	testutil.WaitFor(t, "the supervisor marking the killed worker unhealthy", 10*time.Second, func() bool {
		for _, s := range supervisorStatus(t, supURL) {
			if net.JoinHostPort(s.Host, strconv.Itoa(s.Port)) == victimAddr {
				return s.Status == "unhealthy"
			}
		}
		return true // removed
	})
	unhealthy := time.Since(killed)
	// More load with the trap in place, past the gateway's 5s cooldown of
	// an upstream whose connection failed: the exclusion must outlast it.
	time.Sleep(time.Until(killed.Add(7 * time.Second)))
	stopLoad()

	mu.Lock()
	t.Logf("killed worker left gateway routing after %v; supervisor marked it unhealthy after %v; %d GETs, served %v",
		left.Round(time.Millisecond), unhealthy.Round(time.Millisecond), total.Load(), served)
	if len(failures) > 0 {
		t.Errorf("%d of %d GETs failed, first: %s", len(failures), total.Load(), failures[0])
	}
	mu.Unlock()

	// A graceful stop deregisters at once.
	survivor := workers[1]
	survivor.cmd.Process.Signal(syscall.SIGTERM)
	if err := survivor.wait(t, 15*time.Second); err != nil {
		t.Errorf("worker-2 exit: %v\n%s", err, survivor.output())
	}
	for _, s := range supervisorStatus(t, supURL) {
		if s.Name == "hello" && s.Status != "unhealthy" {
			t.Errorf("the stopped worker is still listed: %+v", s)
		}
	}
	for _, p := range []*proc{gw, sup} {
		p.cmd.Process.Signal(syscall.SIGTERM)
		if err := p.wait(t, 15*time.Second); err != nil {
			t.Errorf("%s exit: %v\n%s", p.name, err, p.output())
		}
	}
}

// proc is a process the test started; its stderr and stdout are kept.
type proc struct {
	name string
	cmd  *exec.Cmd
	out  *lockedBuffer
	addr func(t *testing.T) string // the address it logged it listens on
	done chan error
}

var listeningRE = regexp.MustCompile(`listening addr=(\S+)`)

func startProc(t *testing.T, name, bin string, args, env []string, dir string) *proc {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + dir}, env...)
	cmd.Dir = dir
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	p := &proc{name: name, cmd: cmd, out: &lockedBuffer{}, done: make(chan error, 1)}
	addrc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.out.add(line)
			if m := listeningRE.FindStringSubmatch(line); m != nil {
				select {
				case addrc <- m[1]:
				default:
				}
			}
		}
		io.Copy(io.Discard, pr)
	}()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() {
		err := cmd.Wait()
		pw.Close()
		p.done <- err
		close(p.done)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-p.done
		if t.Failed() {
			t.Logf("%s output:\n%s", name, p.output())
		}
	})
	var addr string
	p.addr = func(t *testing.T) string {
		t.Helper()
		if addr != "" {
			return addr
		}
		select {
		case addr = <-addrc:
			return addr
		case <-time.After(15 * time.Second):
			t.Fatalf("%s did not report its address:\n%s", name, p.output())
		}
		return ""
	}
	return p
}

// wait waits for the process to exit, up to d.
func (p *proc) wait(t *testing.T, d time.Duration) error {
	t.Helper()
	select {
	case err, ok := <-p.done:
		if !ok {
			return nil
		}
		var exit *exec.ExitError
		if errors.As(err, &exit) && exit.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL {
			return nil // killed on purpose
		}
		return err
	case <-time.After(d):
		t.Fatalf("%s did not exit within %v", p.name, d)
		return nil
	}
}

func (p *proc) output() string { return p.out.String() }

type lockedBuffer struct {
	mu    sync.Mutex
	lines []string
}

func (b *lockedBuffer) add(line string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.lines) < 2000 {
		b.lines = append(b.lines, line)
	}
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return strings.Join(b.lines, "\n")
}

func whoami(c *http.Client, gwURL string) (WhoAmI, error) {
	resp, err := c.Get(gwURL + "/hello/whoami")
	if err != nil {
		return WhoAmI{}, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return WhoAmI{}, err
	}
	if resp.StatusCode != http.StatusOK {
		return WhoAmI{}, fmt.Errorf("status %d: %s", resp.StatusCode, body)
	}
	var who WhoAmI
	if err := json.Unmarshal(body, &who); err != nil {
		return WhoAmI{}, err
	}
	return who, nil
}

type workerStatus struct {
	Name    string `json:"name"`
	Status  string `json:"status"`
	Host    string `json:"host"`
	Port    int    `json:"port"`
	Version string `json:"version"`
}

func supervisorStatus(t *testing.T, supURL string) []workerStatus {
	t.Helper()
	var list []workerStatus
	getJSON(t, http.DefaultClient, supURL+"/services/status", "", &list)
	return list
}

// routed reports whether the gateway would route to base: it is listed and
// not unhealthy.
func routed(t *testing.T, c *http.Client, gwURL, token, base string) bool {
	t.Helper()
	var rows []struct {
		URL    string `json:"url"`
		Status string `json:"status"`
	}
	getJSON(t, c, gwURL+"/services", token, &rows)
	for _, r := range rows {
		if r.URL == base && r.Status != "unhealthy" {
			return true
		}
	}
	return false
}

func getJSON(t *testing.T, c *http.Client, url, token string, v any) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("GET %s: %d %s", url, resp.StatusCode, b)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
}

func randHex(t *testing.T, n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// deletePrefix removes the test's registry keys (the product never scans
// the keyspace; the test cleans up after itself).
func deletePrefix(rdb *redis.Client, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	iter := rdb.Scan(ctx, 0, prefix+"*", 100).Iterator()
	for iter.Next(ctx) {
		rdb.Del(ctx, iter.Val())
	}
}
