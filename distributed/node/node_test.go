package node_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed/node"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/service"
)

var quiet = flow.Logger(slog.New(slog.DiscardHandler))

// needNATS skips a test when no NATS server listens (the CI script starts
// one).
func needNATS(t *testing.T) {
	t.Helper()
	u, _ := url.Parse(testutil.NATSURL())
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Skipf("no NATS server on %s (%v); .ci/run starts one", u.Host, err)
	}
	c.Close()
}

// subjectPrefix returns a prefix of the test's own, so tests sharing a
// server do not meet.
func subjectPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rftnode" + hex.EncodeToString(b)
}

type sumIn struct {
	A    int  `json:"a" binding:"required"`
	B    int  `json:"b"`
	Hold bool `query:"hold"` // wait for the test to release the request
}

// remote lists the remote instances the ingress's management API sees.
func remote(t *testing.T, app *flow.Flow) []manage.RemoteInstance {
	t.Helper()
	list, err := app.Manager().Remote(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return list
}

// A worker flow exports its service; an ingress flow serves it under
// /calc through NATS, and lists it in its management API; shutting the
// worker down under load loses nothing.
func TestWorkerAndIngress(t *testing.T) {
	needNATS(t)
	prefix := subjectPrefix()
	worker := flow.New(flow.Address("127.0.0.1:0"), quiet,
		node.NATS(testutil.NATSURL(), node.SubjectPrefix(prefix), node.FlowName("calc"), node.Name("w1")))
	svc := worker.Service(service.Name("calc"), service.BaseRoute("/calc"), service.Replicas(2, 2),
		service.MaxConcurrentQueries(4))
	release := make(chan struct{})
	var releaseOnce sync.Once
	free := func() { releaseOnce.Do(func() { close(release) }) }
	flow.Endpoint(svc, "POST", "/sum", func(ctx context.Context, in sumIn) (int, error) {
		if in.Hold {
			select {
			case <-release:
			case <-ctx.Done():
				return 0, ctx.Err()
			}
		}
		return in.A + in.B, nil
	})
	if err := worker.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { free(); _ = worker.Shutdown(context.Background()) })

	t.Setenv(node.URLEnv, testutil.NATSURL())
	ingress := flow.New(flow.Address("127.0.0.1:0"), quiet,
		node.NATS("", node.IngressOnly(), node.Remotes("calc"), node.SubjectPrefix(prefix), node.FlowName("calc")))
	if err := ingress.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ingress.Shutdown(context.Background()) })
	base := "http://" + ingress.Addr().String()

	post := func(path, body string) (int, string) {
		res, err := http.Post(base+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	testutil.WaitFor(t, "both replicas exported", 10*time.Second, func() bool {
		list := remote(t, ingress)
		return len(list) == 1 && list[0].Subscriptions == 2
	})
	if code, body := post("/calc/sum", `{"a":2,"b":3}`); code != 200 || body != "5" {
		t.Fatalf("remote sum: %d %s", code, body)
	}
	if code, body := post("/calc/sum", `{"b":3}`); code != 422 || !strings.Contains(body, `"errors"`) {
		t.Fatalf("remote validation: %d %s", code, body)
	}
	if list := remote(t, ingress); list[0].Node != "w1" || list[0].Service != "calc" || list[0].Replicas != 2 || list[0].Capacity != 8 {
		t.Fatalf("remote instances: %+v", list)
	}
	// The management API answers with them.
	res, err := http.Get(base + "/admin/services")
	if err != nil {
		t.Fatal(err)
	}
	var list manage.ServiceList
	json.NewDecoder(res.Body).Decode(&list)
	res.Body.Close()
	if len(list.Remote) != 1 || list.Remote[0].Node != "w1" || list.Remote[0].Replicas != 2 || list.Remote[0].Service != "calc" {
		t.Fatalf("GET /admin/services remote: %+v", list.Remote)
	}

	// Shut the worker down with requests in flight: all are answered.
	var wg sync.WaitGroup
	codes := make(chan int, 6)
	for range 6 {
		wg.Go(func() {
			code, _ := post("/calc/sum?hold=true", `{"a":1}`)
			codes <- code
		})
	}
	testutil.WaitFor(t, "six requests in flight on the worker", 10*time.Second, func() bool {
		list := remote(t, ingress)
		return len(list) == 1 && list[0].InFlight == 6
	})
	stopped := make(chan error, 1)
	go func() { stopped <- worker.Shutdown(context.Background()) }()
	// The worker leaves discovery as it starts draining.
	testutil.WaitFor(t, "the worker draining", 10*time.Second, func() bool { return len(remote(t, ingress)) == 0 })
	free()
	if err := <-stopped; err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != 200 {
			t.Errorf("a request in flight at shutdown got %d", c)
		}
	}
	if code, _ := post("/calc/sum", `{"a":1}`); code != 503 {
		t.Errorf("no worker left: %d, want 503", code)
	}
}

// The remote services are mounted when the flow is made, so a flow served
// through its Handler answers them too: 503 with Retry-After until the
// node is connected.
func TestRemoteBeforeConnecting(t *testing.T) {
	app := flow.New(quiet, node.NATS("nats://127.0.0.1:1", node.IngressOnly(),
		node.Remote("/billing", "invoices"), node.Ingress(node.IngressOptions{RetryAfter: 3 * time.Second})))
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	defer app.Shutdown(context.Background())
	res, err := http.Get(srv.URL + "/billing/42")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "3" ||
		!strings.HasPrefix(res.Header.Get("Content-Type"), "application/problem+json") || !strings.Contains(string(body), "invoices") {
		t.Fatalf("GET /billing/42: %d Retry-After %q: %s", res.StatusCode, res.Header.Get("Retry-After"), body)
	}
	if list := remote(t, app); list == nil || len(list) != 0 {
		t.Fatalf("remote instances before connecting: %#v, want an empty list", list)
	}
}

func TestStartErrors(t *testing.T) {
	tests := []struct {
		name, url, env, want string
	}{
		{"no URL", "", "", node.URLEnv},
		{"no server", "nats://127.0.0.1:1", "", "connect to NATS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(node.URLEnv, tt.env)
			app := flow.New(flow.Address("127.0.0.1:0"), quiet, node.NATS(tt.url, node.ConnOptions(nats.Timeout(time.Second))))
			err := app.Start(context.Background())
			if err == nil {
				app.Shutdown(context.Background())
				t.Fatal("Start succeeded")
			}
			if !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Start: %v, want an error mentioning %q", err, tt.want)
			}
			if app.Addr() != nil {
				t.Fatal("the flow still listens after a failed Start")
			}
		})
	}
}

func TestPanics(t *testing.T) {
	tests := []struct {
		name, want string
		f          func()
	}{
		{"a remote over the management API", "node.Remote x", func() {
			flow.New(quiet, node.NATS("", node.Remote("/admin", "x")))
		}},
		{"a service over a remote", "collides with the flow's own route /calc", func() {
			flow.New(quiet, node.NATS("", node.Remotes("calc"))).Service(service.BaseRoute("/calc"))
		}},
		{"one option, two flows", "another flow", func() {
			n := node.NATS("")
			flow.New(quiet, n)
			flow.New(quiet, n)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.MustPanic(t, tt.want, tt.f) })
	}
}
