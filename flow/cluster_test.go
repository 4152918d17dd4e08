package flow_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/cluster/worker"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/registry"
	"github.com/replicaflow/replicaflow/service"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// startSupervisor serves a supervisor on 127.0.0.1 and returns it with its
// registration URL.
func startSupervisor(t *testing.T, token string) (*supervisor.Supervisor, string) {
	t.Helper()
	s := supervisor.New(supervisor.Options{Token: token, Logger: quiet})
	srv := httptest.NewServer(s)
	t.Cleanup(func() { srv.Close(); s.Close() })
	return s, srv.URL + "/register"
}

// waitFor polls cond every 20ms until it holds or 10s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func instances(t *testing.T, s *supervisor.Supervisor, name string) []registry.Instance {
	t.Helper()
	list, err := s.Registry().Find(context.Background(), name)
	if err != nil {
		t.Fatal(err)
	}
	return list
}

func port(t *testing.T, app *flow.Flow) int {
	t.Helper()
	return app.Addr().(*net.TCPAddr).Port
}

func TestWorkerRegistersRealPortAndDeregistersBeforeDraining(t *testing.T) {
	sup := supervisor.New(supervisor.Options{Logger: quiet})
	defer sup.Close()
	// On DELETE, check that the worker still answers: it must deregister
	// before it stops taking requests.
	var servedAtDeregister atomic.Int32 // 0 unknown, 1 served, 2 refused
	var workerURL atomic.Value
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodDelete {
			resp, err := http.Get(workerURL.Load().(string) + "/healthz")
			if err == nil && resp.StatusCode == http.StatusOK {
				servedAtDeregister.Store(1)
			} else {
				servedAtDeregister.Store(2)
			}
			if err == nil {
				resp.Body.Close()
			}
		}
		sup.ServeHTTP(w, r)
	}))
	defer srv.Close()

	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(quiet), flow.Worker(worker.Options{
		RegisterURL: srv.URL + "/register",
		Instance:    registry.Instance{Version: "1.0.0", Tags: []string{"demo"}, HealthInterval: time.Second},
	}))
	app.Service(service.Name("hello"))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	p := port(t, app)
	workerURL.Store("http://127.0.0.1:" + strconv.Itoa(p))
	var inst registry.Instance
	waitFor(t, "a healthy registration", func() bool {
		list := instances(t, sup, "hello")
		if len(list) == 1 && list[0].Status == registry.StatusHealthy {
			inst = list[0]
			return true
		}
		return false
	})
	want := registry.Instance{Service: "hello", ID: "127.0.0.1:" + strconv.Itoa(p), Host: "127.0.0.1", Port: p,
		Version: "1.0.0", HealthPath: "/healthz", HealthInterval: time.Second}
	if inst.Service != want.Service || inst.ID != want.ID || inst.Host != want.Host || inst.Port != want.Port ||
		inst.Version != want.Version || inst.HealthPath != want.HealthPath || inst.HealthInterval != want.HealthInterval ||
		len(inst.Tags) != 1 || inst.Tags[0] != "demo" {
		t.Fatalf("registered %+v, want %+v with tag demo", inst, want)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(instances(t, sup, "hello")); n != 0 {
		t.Fatalf("%d instances left after shutdown", n)
	}
	if got := servedAtDeregister.Load(); got != 1 {
		t.Fatalf("deregistration seen = %d, want 1 (sent while the flow still served)", got)
	}
}

// emptyEnvFile is a .env path that does not exist, so the tests read the
// process environment only.
func emptyEnvFile(t *testing.T) string { return filepath.Join(t.TempDir(), ".env") }

func TestWorkerFromEnv(t *testing.T) {
	sup, registerURL := startSupervisor(t, "s3cret")
	t.Setenv("API_REGISTER_PATH", registerURL)
	t.Setenv("REPLICAFLOW_TOKEN", "s3cret")
	t.Setenv("API_BIND", "127.0.0.1")
	t.Setenv("API_PORT", "0")
	t.Setenv("API_TITLE", "greeter")
	t.Setenv("API_VERSION", "2.0.0")
	t.Setenv("API_TAGS", "a:b")
	t.Setenv("API_HEALTH_INTERVAL", "1")
	t.Setenv("API_CORS_ALLOW_ORIGINS", "http://app.example!http://other.example")

	app := flow.New(flow.Logger(quiet), flow.WorkerFromEnv(emptyEnvFile(t)))
	svc := app.Service(service.BaseRoute("/"))
	flow.Endpoint(svc, "GET", "/ping", func(context.Context, struct{}) (string, error) { return "pong", nil })
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	p := port(t, app)
	waitFor(t, "the registration", func() bool { return len(instances(t, sup, "greeter")) == 1 })
	inst := instances(t, sup, "greeter")[0]
	if inst.Port != p || inst.Host != "127.0.0.1" || inst.Version != "2.0.0" || strings.Join(inst.Tags, ":") != "a:b" ||
		inst.HealthInterval != time.Second || inst.HealthPath != "/healthz" {
		t.Fatalf("registered %+v (flow on port %d)", inst, p)
	}

	base := "http://127.0.0.1:" + strconv.Itoa(p)
	for _, tt := range []struct {
		origin     string
		status     int
		allowOrign string
	}{
		{"http://app.example", http.StatusOK, "http://app.example"},
		{"http://evil.example", http.StatusForbidden, ""},
		{"", http.StatusOK, ""},
	} {
		req, _ := http.NewRequest("GET", base+"/ping", nil)
		if tt.origin != "" {
			req.Header.Set("Origin", tt.origin)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tt.status || resp.Header.Get("Access-Control-Allow-Origin") != tt.allowOrign {
			t.Errorf("Origin %q: %d %q, want %d %q", tt.origin, resp.StatusCode,
				resp.Header.Get("Access-Control-Allow-Origin"), tt.status, tt.allowOrign)
		}
	}
}

func TestWorkerFromEnvBadValues(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string // in Start's error
	}{
		{"port", map[string]string{"API_PORT": "eighty"}, "API_PORT"},
		{"interval", map[string]string{"API_HEALTH_INTERVAL": "-5"}, "API_HEALTH_INTERVAL"},
		{"register URL", map[string]string{"API_REGISTER_PATH": "keeper:8100"}, "API_REGISTER_PATH"},
		{"no register URL", map[string]string{"API_REGISTER_PATH": ""}, "API_REGISTER_PATH"},
		{"health path", map[string]string{"API_HEALTH_PATH": "health"}, "API_HEALTH_PATH"},
		{"CORS origin", map[string]string{"API_CORS_ALLOW_ORIGINS": "app.example/path"}, "API_CORS_ALLOW"},
		{"name", map[string]string{"API_TITLE": "Example API"}, "Example API"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("API_REGISTER_PATH", "http://127.0.0.1:1/register")
			t.Setenv("API_BIND", "127.0.0.1")
			t.Setenv("API_PORT", "0")
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			app := flow.New(flow.Logger(quiet), flow.WorkerFromEnv(emptyEnvFile(t)))
			app.Service(service.Name("hello"))
			err := app.Start(context.Background())
			if err == nil {
				app.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %q does not mention %q", err, tt.want)
			}
			if app.Addr() != nil {
				t.Fatal("the flow still listens after a failed Start")
			}
		})
	}
}

func TestWorkerNeedsAName(t *testing.T) {
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(quiet),
		flow.Worker(worker.Options{RegisterURL: "http://127.0.0.1:1/register"}))
	app.Service(service.BaseRoute("/a"))
	app.Service(service.BaseRoute("/b"))
	err := app.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "set the service name") {
		t.Fatalf("Start: %v", err)
	}
}

// An absent supervisor does not keep the flow from starting; the worker
// registers once the supervisor is there.
func TestWorkerRegistersWhenSupervisorArrives(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nobody listens there yet
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(quiet), flow.Worker(worker.Options{
		RegisterURL: "http://" + addr + "/register", MinBackoff: 20 * time.Millisecond, MaxBackoff: 100 * time.Millisecond,
		Instance: registry.Instance{Service: "late"},
	}))
	if err := app.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	time.Sleep(150 * time.Millisecond) // a few failed attempts
	sup := supervisor.New(supervisor.Options{Logger: quiet})
	defer sup.Close()
	ln, err = net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("the port was taken meanwhile: %v", err)
	}
	srv := &http.Server{Handler: sup}
	go srv.Serve(ln)
	defer srv.Close()
	waitFor(t, "the late registration", func() bool { return len(instances(t, sup, "late")) == 1 })
}

func ExampleWorker() {
	sup := supervisor.New(supervisor.Options{})
	defer sup.Close()
	srv := httptest.NewServer(sup)
	defer srv.Close()

	app := flow.New(
		flow.Address("127.0.0.1:0"),
		flow.Worker(worker.Options{
			RegisterURL: srv.URL + "/register",
			Instance:    registry.Instance{Version: "1.0.0", HealthInterval: time.Second},
		}),
	)
	app.Service(service.Name("hello"))
	if err := app.Start(context.Background()); err != nil {
		fmt.Println(err)
		return
	}
	defer app.Shutdown(context.Background())

	for range 500 { // registration runs in the background
		if list, _ := sup.Registry().Find(context.Background(), "hello"); len(list) == 1 {
			fmt.Println(list[0].Service, list[0].Host, list[0].Port == app.Addr().(*net.TCPAddr).Port, list[0].HealthPath)
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Output: hello 127.0.0.1 true /healthz
}
