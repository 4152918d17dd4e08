package flow_test

import (
	"bufio"
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
)

// runChild is the child process of the signal tests: it serves a slow
// endpoint with flow.Run and prints its address.
func runChild() {
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(slogTo(nil)), flow.ShutdownTimeout(20*time.Second),
		flow.OnStart(func(ctx context.Context, app *flow.Flow) error {
			os.Stdout.WriteString("ADDR " + app.Addr().String() + "\n")
			return nil
		}),
		flow.OnShutdown(func(ctx context.Context, app *flow.Flow) error {
			os.Stdout.WriteString("STOPPING\n")
			return nil
		}))
	flow.Endpoint(app.Service(), "GET", "/slow", func(ctx context.Context, _ none) (string, error) {
		os.Stdout.WriteString("INFLIGHT\n")
		time.Sleep(time.Second) // the work a signal lands during
		return "done", nil
	})
	err := flow.Run(app)
	switch {
	case errors.Is(err, flow.ErrInterrupted):
		os.Exit(1)
	case err != nil:
		os.Exit(3)
	}
	os.Exit(0)
}

func TestMain(m *testing.M) {
	if os.Getenv("REPLICAFLOW_SIGNAL_CHILD") == "1" {
		runChild()
	}
	os.Exit(m.Run())
}

// startChild runs the test binary as a flow.Run server and returns it with
// its address and the lines it prints next.
func startChild(t *testing.T) (*exec.Cmd, string, <-chan string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "REPLICAFLOW_SIGNAL_CHILD=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	rd := bufio.NewReader(out)
	line, err := rd.ReadString('\n')
	if err != nil || !strings.HasPrefix(line, "ADDR ") {
		t.Fatalf("child did not start: %q %v", line, err)
	}
	lines := make(chan string, 8)
	go func() {
		defer close(lines)
		for {
			l, err := rd.ReadString('\n')
			if err != nil {
				return
			}
			lines <- strings.TrimSpace(l)
		}
	}()
	return cmd, "http://" + strings.TrimSpace(strings.TrimPrefix(line, "ADDR ")), lines
}

// await waits for the child to print want.
func await(t *testing.T, lines <-chan string, want string) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("the child exited before printing %s", want)
			}
			if l == want {
				return
			}
		case <-timeout:
			t.Fatalf("the child did not print %s", want)
		}
	}
}

// slowRequest starts GET /slow and reports its outcome.
func slowRequest(url string) <-chan string {
	res := make(chan string, 1)
	go func() {
		r, err := http.Get(url + "/slow")
		if err != nil {
			res <- "error: " + err.Error()
			return
		}
		b, _ := io.ReadAll(r.Body)
		r.Body.Close()
		res <- r.Status + " " + string(b)
	}()
	return res
}

func exitCode(err error) int {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode()
	}
	if err != nil {
		return -1
	}
	return 0
}

func TestRunDrainsOnSIGTERM(t *testing.T) {
	cmd, url, lines := startChild(t)
	res := slowRequest(url)
	await(t, lines, "INFLIGHT")
	cmd.Process.Signal(syscall.SIGTERM)
	if got := <-res; got != `200 OK "done"` {
		t.Fatalf("the request in flight during SIGTERM got %s", got)
	}
	if code := exitCode(cmd.Wait()); code != 0 {
		t.Fatalf("exit code %d after a graceful shutdown", code)
	}
}

// TestRunSecondSignalExitsAtOnce: Run returns ErrInterrupted on a second
// signal, without waiting for the request in flight (the library never
// calls os.Exit; the program exits on the error).
func TestRunSecondSignalExitsAtOnce(t *testing.T) {
	cmd, url, lines := startChild(t)
	res := slowRequest(url)
	await(t, lines, "INFLIGHT")
	cmd.Process.Signal(syscall.SIGTERM)
	await(t, lines, "STOPPING")
	start := time.Now()
	cmd.Process.Signal(syscall.SIGINT)
	if code := exitCode(cmd.Wait()); code != 1 {
		t.Fatalf("exit code %d after a second signal, want 1", code)
	}
	if d := time.Since(start); d > 700*time.Millisecond {
		t.Logf("exited %v after the second signal", d) // informative: the machine may be slow
	}
	if got := <-res; strings.HasPrefix(got, "200") {
		t.Fatalf("the process exited at once, yet the request finished: %s", got)
	}
}
