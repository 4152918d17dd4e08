package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

var exe string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "rf-distributed")
	if err != nil {
		panic(err)
	}
	exe = filepath.Join(dir, "distributed")
	if out, err := exec.Command("go", "build", "-o", exe, ".").CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building the example: %v\n%s", err, out)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

// startCluster starts n worker processes of 8 slots on a subject prefix of
// the test's own, and an ingress in the test process.
func startCluster(t *testing.T, n int, opts distributed.IngressOptions) (string, []*exec.Cmd) {
	t.Helper()
	nc, err := nats.Connect(testutil.NATSURL(), nats.Timeout(2*time.Second))
	if err != nil {
		t.Skipf("no NATS server on %s (%v); .ci/run starts one", testutil.NATSURL(), err)
	}
	t.Cleanup(nc.Close)
	prefix := fmt.Sprintf("rftex%d%d", os.Getpid(), time.Now().UnixNano()%1e9)
	var workers []*exec.Cmd
	for range n {
		w, err := StartWorker(exe, testutil.NATSURL(), prefix, 8)
		if err != nil {
			t.Fatal(err)
		}
		workers = append(workers, w)
		t.Cleanup(func() { _ = w.Process.Kill(); _ = w.Wait() })
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := WaitWorkers(ctx, nc, prefix, n, 8); err != nil {
		t.Fatal(err)
	}
	base, stop, err := Ingress(nc, prefix, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	return base, workers
}

// loadFlowing returns a LoadFunc callback's counter of answers and a
// channel closed once n of them were 200: the load has reached every
// worker, and a worker can be stopped under it.
func loadFlowing(n int64) (count func(status int), flowing <-chan struct{}) {
	var ok atomic.Int64
	ch := make(chan struct{})
	return func(status int) {
		if status == 200 && ok.Add(1) == n {
			close(ch)
		}
	}, ch
}

// SIGTERM on one worker under load: it drains, and no request fails.
func TestSIGTERMUnderLoadLosesNothing(t *testing.T) {
	base, workers := startCluster(t, 3, distributed.IngressOptions{Timeout: 10 * time.Second})
	count, flowing := loadFlowing(48)
	signalled := make(chan struct{})
	go func() {
		<-flowing
		_ = workers[0].Process.Signal(syscall.SIGTERM)
		close(signalled)
	}()
	pick := func(i int) (string, string) {
		if i%2 == 0 {
			return "POST", base + "/work/sleep?ms=50"
		}
		return "GET", base + "/work/sleep?ms=50"
	}
	r := LoadFunc(context.Background(), 12, 3*time.Second, pick, func(_ string, status int, _ time.Time) { count(status) })
	t.Log(r)
	select {
	case <-signalled:
	default:
		t.Fatal("the load never got going: the worker was not signalled")
	}
	if len(r.Statuses) != 1 || r.OK() == 0 {
		t.Errorf("want only 200s: %v", r.Statuses)
	}
	if err := workers[0].Wait(); err != nil {
		t.Errorf("the worker should exit cleanly on SIGTERM: %v", err)
	}
}

// SIGKILL on one worker under load: only the POSTs it held in its 8 slots
// fail (504 after the timeout), GETs are sent again elsewhere, and nothing
// fails once the timeout has passed.
func TestSIGKILLUnderLoadBoundedFailures(t *testing.T) {
	const timeout = time.Second
	base, workers := startCluster(t, 3, distributed.IngressOptions{Timeout: timeout})
	var killedAt time.Time
	var mu sync.Mutex
	count, flowing := loadFlowing(48)
	go func() {
		<-flowing
		mu.Lock()
		killedAt = time.Now()
		mu.Unlock()
		_ = workers[0].Process.Kill()
	}()
	pick := func(i int) (string, string) {
		if i%2 == 0 {
			return "POST", base + "/work/sleep?ms=100"
		}
		return "GET", base + "/work/sleep?ms=100"
	}
	var failedPOST, failedGET, late int
	r := LoadFunc(context.Background(), 12, 4*time.Second, pick, func(method string, status int, at time.Time) {
		count(status)
		if status == 200 {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if method == "POST" && status == 504 {
			failedPOST++
		} else {
			failedGET++
		}
		if !killedAt.IsZero() && at.Sub(killedAt) > timeout+500*time.Millisecond {
			late++
		}
	})
	t.Log(r, "failed POSTs:", failedPOST)
	mu.Lock()
	killed := !killedAt.IsZero()
	mu.Unlock()
	if !killed {
		t.Fatal("the load never got going: no worker was killed")
	}
	if failedGET != 0 {
		t.Errorf("%d idempotent or non-504 failures; GETs must be sent again elsewhere", failedGET)
	}
	if failedPOST > 8 {
		t.Errorf("%d POSTs failed; at most the dead worker's 8 slots may", failedPOST)
	}
	if late != 0 {
		t.Errorf("%d failures after the dead worker's requests timed out", late)
	}
	if r.OK() == 0 {
		t.Error("no request succeeded")
	}
}

// Twice the capacity: only 200s and 503s with Retry-After.
func TestOverloadOnly200And503(t *testing.T) {
	base, _ := startCluster(t, 1, distributed.IngressOptions{MaxBusyWait: 100 * time.Millisecond})
	r := Load(context.Background(), "GET", base+"/work/sleep?ms=50", 16, 2*time.Second)
	t.Log(r)
	if r.Failed() != 0 || r.NoRetry != 0 || r.OK() == 0 || r.Statuses[503] == 0 {
		t.Errorf("want 200s and 503s with Retry-After only: %v (no Retry-After: %d)", r.Statuses, r.NoRetry)
	}
}
