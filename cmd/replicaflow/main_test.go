package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
)

func lookup(m map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestParseSupervisor(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		check   func(c supervisorConfig) bool
		wantErr string
	}{
		{"defaults", nil, nil, func(c supervisorConfig) bool {
			return c.Addr == "127.0.0.1:8100" && c.Failures == 3 && c.Successes == 2 && c.Grace == time.Minute && c.RegisterPath == "/register" &&
				c.Timeouts == timeouts{ReadHeader: 10 * time.Second, Body: 10 * time.Second, Idle: 2 * time.Minute, Shutdown: 10 * time.Second}
		}, ""},
		{"env", nil, map[string]string{"REPLICAFLOW_TOKEN": "t", "REPLICAFLOW_HEALTH_GRACE": "5s", "REPLICAFLOW_ADDR": "127.0.0.1:9"},
			func(c supervisorConfig) bool {
				return c.Token == "t" && c.Grace == 5*time.Second && c.Addr == "127.0.0.1:9"
			}, ""},
		{"flags beat env", []string{"-token", "f", "-failures", "5"}, map[string]string{"REPLICAFLOW_TOKEN": "e"},
			func(c supervisorConfig) bool { return c.Token == "f" && c.Failures == 5 }, ""},
		{"timeouts from env and flags", []string{"-idle-timeout", "1m"},
			map[string]string{"REPLICAFLOW_BODY_TIMEOUT": "3s", "REPLICAFLOW_READ_HEADER_TIMEOUT": "2s", "REPLICAFLOW_SHUTDOWN_TIMEOUT": "4s"},
			func(c supervisorConfig) bool {
				return c.Timeouts == timeouts{ReadHeader: 2 * time.Second, Body: 3 * time.Second, Idle: time.Minute, Shutdown: 4 * time.Second}
			}, ""},
		{"bad env", nil, map[string]string{"REPLICAFLOW_HEALTH_GRACE": "soon"}, nil, "REPLICAFLOW_HEALTH_GRACE"},
		{"redis without secret", []string{"-redis", "redis://127.0.0.1:6379/0"}, nil, nil, "redis-secret"},
		{"bad addr", []string{"-addr", "nowhere"}, nil, nil, "-addr"},
		{"zero failures", []string{"-failures", "0"}, nil, nil, "-failures"},
		{"zero body timeout", []string{"-body-timeout", "0s"}, nil, nil, "-body-timeout must be positive"},
		{"bad shutdown timeout", nil, map[string]string{"REPLICAFLOW_SHUTDOWN_TIMEOUT": "-1s"}, nil, "REPLICAFLOW_SHUTDOWN_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := parseSupervisor(tt.args, lookup(tt.env), &bytes.Buffer{})
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || !tt.check(c) {
				t.Fatalf("%+v %v", c, err)
			}
		})
	}
}

func TestParseGateway(t *testing.T) {
	c, err := parseGateway([]string{"-no-management", "-store", "x.json", "-timeout", "2s"}, lookup(nil), &bytes.Buffer{})
	if err != nil || !c.DisableManagement || c.StorePath != "x.json" || c.Timeout != 2*time.Second || c.Addr != "127.0.0.1:5000" {
		t.Fatalf("%+v %v", c, err)
	}
	c, err = parseGateway(nil, lookup(map[string]string{"REPLICAFLOW_GATEWAY_NO_MANAGEMENT": "true",
		"REPLICAFLOW_REDIS_URL": "redis://127.0.0.1:6379/0", "REPLICAFLOW_REDIS_SECRET": "0123456789abcdef"}), &bytes.Buffer{})
	if err != nil || !c.DisableManagement || c.RedisURL == "" {
		t.Fatalf("%+v %v", c, err)
	}
	if _, err := parseGateway([]string{"-redis-store-key", "k"}, lookup(nil), &bytes.Buffer{}); err == nil {
		t.Fatal("store key without redis accepted")
	}
	c, err = parseGateway([]string{"-nats-flow", "shop"}, lookup(map[string]string{"NATS_URL": "nats://127.0.0.1:4222"}), &bytes.Buffer{})
	if err != nil || c.NATSURL != "nats://127.0.0.1:4222" || c.NATSFlow != "shop" {
		t.Fatalf("NATS settings: %+v %v", c, err)
	}
}

// TestListenAddress checks which setting of the listen address wins, for
// both roles: -addr, then REPLICAFLOW_ADDR, then API_BIND and API_PORT (from
// the environment or a .env file, the environment first), then the role's
// default.
func TestListenAddress(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		env     map[string]string
		dotenv  string // the .env file's content; none when empty
		want    string // the supervisor's; the gateway's differs in the default port only
		wantErr string
	}{
		{name: "default", want: "127.0.0.1:8100"},
		{name: "API_PORT alone keeps the default host", env: map[string]string{"API_PORT": "9001"}, want: "127.0.0.1:9001"},
		{name: "API_BIND alone keeps the default port", env: map[string]string{"API_BIND": "0.0.0.0"}, want: "0.0.0.0:8100"},
		{name: "API_BIND and API_PORT", env: map[string]string{"API_BIND": "::1", "API_PORT": "0"}, want: "[::1]:0"},
		{name: "API_BIND localhost", env: map[string]string{"API_BIND": "localhost", "API_PORT": "9001"}, want: "localhost:9001"},
		{name: "REPLICAFLOW_ADDR beats API_*", env: map[string]string{"REPLICAFLOW_ADDR": "127.0.0.2:7000", "API_BIND": "0.0.0.0", "API_PORT": "9001"},
			want: "127.0.0.2:7000"},
		{name: "flag beats everything", args: []string{"-addr", "127.0.0.3:7001"},
			env: map[string]string{"REPLICAFLOW_ADDR": "127.0.0.2:7000", "API_PORT": "9001"}, want: "127.0.0.3:7001"},
		{name: "from .env", dotenv: "API_BIND=127.0.0.4\nAPI_PORT=9002\n", want: "127.0.0.4:9002"},
		{name: "environment beats .env", env: map[string]string{"API_PORT": "9003"}, dotenv: "API_BIND=127.0.0.4\nAPI_PORT=9002\n",
			want: "127.0.0.4:9003"},
		{name: "REPLICAFLOW_ADDR in .env beats API_* in the environment", env: map[string]string{"API_PORT": "9003"},
			dotenv: "REPLICAFLOW_ADDR=127.0.0.5:7002\n", want: "127.0.0.5:7002"},
		{name: "bad API_PORT", env: map[string]string{"API_PORT": "eighty"}, wantErr: "API_PORT"},
		{name: "API_PORT out of range", env: map[string]string{"API_PORT": "65536"}, wantErr: "API_PORT"},
		{name: "bad API_BIND", dotenv: "API_BIND=example.com\n", wantErr: "API_BIND"},
		{name: "bad API_PORT does not matter under REPLICAFLOW_ADDR", env: map[string]string{"REPLICAFLOW_ADDR": "127.0.0.2:7000", "API_PORT": "x"},
			want: "127.0.0.2:7000"},
		{name: "bad API_PORT does not matter under -addr", args: []string{"-addr", "127.0.0.3:7001"}, env: map[string]string{"API_PORT": "x"},
			want: "127.0.0.3:7001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), ".env")
			if tt.dotenv != "" {
				if err := os.WriteFile(path, []byte(tt.dotenv), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			env, err := withDotEnv(lookup(tt.env), path)
			if err != nil {
				t.Fatal(err)
			}
			sup, serr := parseSupervisor(tt.args, env, io.Discard)
			gw, gerr := parseGateway(tt.args, env, io.Discard)
			if tt.wantErr != "" {
				for _, err := range []error{serr, gerr} {
					if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
						t.Errorf("err %v, want one naming %s", err, tt.wantErr)
					}
				}
				return
			}
			if serr != nil || gerr != nil {
				t.Fatalf("supervisor: %v; gateway: %v", serr, gerr)
			}
			if sup.Addr != tt.want {
				t.Errorf("supervisor listens on %q, want %q", sup.Addr, tt.want)
			}
			if want := strings.Replace(tt.want, ":8100", ":5000", 1); gw.Addr != want {
				t.Errorf("gateway listens on %q, want %q", gw.Addr, want)
			}
		})
	}
}

func TestDotEnvErrors(t *testing.T) {
	// A .env that exists but cannot be read is an error, not silence.
	dir := t.TempDir()
	if _, err := withDotEnv(lookup(nil), dir); err == nil {
		t.Fatal("a directory read as .env gave no error")
	}
}

func TestUsage(t *testing.T) {
	for _, role := range []string{"supervisor", "gateway"} {
		var out bytes.Buffer
		if err := run(context.Background(), []string{role, "-h"}, lookup(nil), &out, slog.Default()); err != nil {
			t.Fatalf("%s -h: %v", role, err)
		}
		for _, want := range []string{"-addr, REPLICAFLOW_ADDR, API_BIND and API_PORT", ".env", "-body-timeout", "-shutdown-timeout"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s -h does not say %q:\n%s", role, want, out.String())
			}
		}
	}
	var out bytes.Buffer
	if err := run(context.Background(), nil, lookup(nil), &out, slog.Default()); err == nil || !strings.Contains(out.String(), "usage") {
		t.Fatalf("no command: %v %q", err, out.String())
	}
	if err := run(context.Background(), []string{"frobnicate"}, lookup(nil), &out, slog.Default()); err == nil {
		t.Fatal("unknown command accepted")
	}
}

// logBuffer is the log of a role run by a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

var listening = regexp.MustCompile(`msg="replicaflow: listening" addr=(\S+)`)

// addrOf waits for the log to say where the server listens.
func addrOf(t *testing.T, log *logBuffer) string {
	t.Helper()
	var addr string
	testutil.WaitFor(t, "the server to listen", 10*time.Second, func() bool {
		m := listening.FindStringSubmatch(log.String())
		if m != nil {
			addr = m[1]
		}
		return m != nil
	})
	return addr
}

// start runs the command with args until the test ends, and returns its
// address and a channel that gets run's result.
func start(t *testing.T, ctx context.Context, args ...string) (string, <-chan error) {
	t.Helper()
	log := &logBuffer{}
	done := make(chan error, 1)
	go func() { done <- run(ctx, args, lookup(nil), io.Discard, slog.New(slog.NewTextHandler(log, nil))) }()
	return addrOf(t, log), done
}

// within fails unless done gets nil within d.
func within(t *testing.T, what string, done <-chan error, d time.Duration) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	case <-time.After(d):
		t.Fatalf("%s: not within %v", what, d)
	}
}

// ping fails unless the server at addr answers a request on a connection of
// its own.
func ping(t *testing.T, addr string) {
	t.Helper()
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}
	res, err := c.Get("http://" + addr + "/no-such-page")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
}

func TestRunShutsDownOnContext(t *testing.T) {
	// A started supervisor returns cleanly when its context ends (SIGTERM).
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	addr, done := start(t, ctx, "supervisor", "-addr", "127.0.0.1:0")
	res, err := http.Get("http://" + addr + "/health")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != http.StatusOK {
		t.Fatalf("GET /health: %s", res.Status)
	}
	cancel()
	within(t, "shutdown", done, 10*time.Second)
}

// stallRequests are, per role, the first bytes of a request whose body the
// role reads, sent by a client that then stalls: the attack of a client that
// sends headers and stops.
var stallRequests = []struct {
	role    string
	args    []string
	request string
}{
	{"supervisor", nil, "POST /register HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\":"},
	{"gateway", []string{"-store", "STORE"}, "POST /service HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"name\":"},
}

// stall opens a connection to addr, sends what, and returns the connection.
func stall(t *testing.T, addr, what string) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, what); err != nil {
		t.Fatal(err)
	}
	return c
}

// closedWithin fails unless the server ends c (an answer, then the end of
// the stream) within d, and returns how long that took.
func closedWithin(t *testing.T, c net.Conn, d time.Duration) time.Duration {
	t.Helper()
	begin := time.Now()
	c.SetReadDeadline(begin.Add(d))
	_, err := io.Copy(io.Discard, c)
	if ne, ok := err.(net.Error); ok && ne.Timeout() {
		t.Fatalf("connection still open after %v", d)
	}
	return time.Since(begin)
}

func roleArgs(t *testing.T, role string, args []string, more ...string) []string {
	out := []string{role, "-addr", "127.0.0.1:0"}
	for _, a := range args {
		out = append(out, strings.ReplaceAll(a, "STORE", filepath.Join(t.TempDir(), "store.json")))
	}
	return append(out, more...)
}

// TestStalledClientIsDropped reproduces the stalled-client attack on both
// roles: a client that sends a request's headers (or part of them) and then
// nothing is disconnected within the timeout, and shutting down afterwards
// is prompt.
func TestStalledClientIsDropped(t *testing.T) {
	const timeout = 300 * time.Millisecond
	for _, r := range stallRequests {
		for _, tt := range []struct {
			name string
			send string
			flag string
		}{
			{"headers then nothing", r.request, "-body-timeout"},
			{"part of the headers", "POST /register HTTP/1.1\r\nHost: x\r\n", "-read-header-timeout"},
		} {
			t.Run(r.role+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				addr, done := start(t, ctx, roleArgs(t, r.role, r.args, tt.flag, timeout.String())...)
				c := stall(t, addr, tt.send)
				if took := closedWithin(t, c, 5*time.Second); took < timeout/2 {
					t.Errorf("closed after %v, before the %v timeout", took, timeout)
				}
				stall(t, addr, tt.send)
				cancel()
				within(t, "shutdown with a stalled client", done, 5*time.Second)
			})
		}
	}
}

// TestShutdownBudget checks that a client stalled inside a request's body
// holds the shutdown no longer than its budget, even when the body timeout
// is longer.
func TestShutdownBudget(t *testing.T) {
	for _, r := range stallRequests {
		t.Run(r.role, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			addr, done := start(t, ctx, roleArgs(t, r.role, r.args, "-body-timeout", "1m", "-shutdown-timeout", "300ms")...)
			c := stall(t, addr, r.request)
			// The listener accepts in order: once a later request is
			// answered, the stalled connection is the server's.
			ping(t, addr)
			begin := time.Now()
			cancel()
			within(t, "shutdown with a stalled client", done, 5*time.Second)
			if took := time.Since(begin); took < 250*time.Millisecond {
				t.Errorf("shutdown took %v: it did not wait for the request in flight", took)
			}
			closedWithin(t, c, 5*time.Second)
		})
	}
}

// TestBodyTimeout checks the body timeout on the command's server: it drops
// a client that stops sending, lets through an upload that keeps sending
// however long it takes, and does not limit a handler's time.
func TestBodyTimeout(t *testing.T) {
	const d = 300 * time.Millisecond
	// The handler reads the body (and reads again at its end, as a JSON
	// decoder looking for trailing data does), then works for twice the
	// body timeout; it answers the bytes it read and whether its request
	// was cancelled.
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n, err := io.Copy(io.Discard, r.Body)
		if err != nil {
			fmt.Fprintf(w, "stopped after %d", n)
			return
		}
		if m, err := r.Body.Read(make([]byte, 1)); m != 0 || err != io.EOF {
			fmt.Fprintf(w, "read %d, %v past the end", m, err)
			return
		}
		select {
		case <-time.After(2 * d):
			fmt.Fprintf(w, "read %d", n)
		case <-r.Context().Done():
			fmt.Fprintf(w, "cancelled after %d", n)
		}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	log := &logBuffer{}
	done := make(chan error, 1)
	tm := timeouts{ReadHeader: d, Body: d, Idle: time.Minute, Shutdown: 5 * time.Second}
	go func() { done <- serve(ctx, "127.0.0.1:0", h, tm, slog.New(slog.NewTextHandler(log, nil))) }()
	addr := addrOf(t, log)

	tests := []struct {
		name   string
		length int           // the Content-Length sent
		chunks []string      // the body's parts, sent one by one
		pause  time.Duration // between two parts
		want   string
		closed bool // whether the server then closes the connection
	}{
		{"no body, long handler", 0, nil, 0, "read 0", false},
		{"whole body, long handler", 6, []string{"abcdef"}, 0, "read 6", false},
		{"upload slower than the timeout but moving", 6, []string{"a", "b", "c", "d", "e", "f"}, d / 3, "read 6", false},
		{"upload that stops", 6, []string{"ab"}, 0, "stopped after 2", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			fmt.Fprintf(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n", tt.length)
			for i, p := range tt.chunks {
				if i > 0 {
					time.Sleep(tt.pause) // the client's pace, not a rendezvous
				}
				if _, err := io.WriteString(c, p); err != nil {
					t.Fatal(err)
				}
			}
			c.SetReadDeadline(time.Now().Add(10 * time.Second))
			br := bufio.NewReader(c)
			res, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(res.Body)
			if string(body) != tt.want {
				t.Errorf("answer %q, want %q", body, tt.want)
			}
			if tt.closed {
				closedWithin(t, c, 5*time.Second)
			}
		})
	}
	cancel()
	within(t, "shutdown", done, 5*time.Second)
}
