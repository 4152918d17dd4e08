package flow_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/service"
)

func testNATSURL() string {
	if u := os.Getenv("NATS_TEST_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

// needNATS skips a test when no NATS server listens (CI starts one).
func needNATS(t *testing.T) {
	t.Helper()
	u, _ := url.Parse(testNATSURL())
	c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
	if err != nil {
		t.Skipf("no NATS server on %s (%v); .ci/run starts one", u.Host, err)
	}
	c.Close()
}

func natsPrefix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rftflow" + hex.EncodeToString(b)
}

type sumIn struct {
	A  int `json:"a" binding:"required"`
	B  int `json:"b"`
	MS int `query:"ms"`
}

// A worker flow exports its service; an ingress flow serves it under
// /calc through NATS; shutting the worker down under load loses nothing.
func TestNATSWorkerAndIngress(t *testing.T) {
	needNATS(t)
	prefix := natsPrefix()
	quiet := flow.Logger(discardLogger())
	worker := flow.New(flow.Address("127.0.0.1:0"), quiet,
		flow.NATS(testNATSURL(), flow.NATSSubjectPrefix(prefix), flow.NATSFlow("calc"), flow.NATSNode("w1")))
	svc := worker.Service(service.Name("calc"), service.BaseRoute("/calc"), service.Replicas(2, 2),
		service.MaxConcurrentQueries(4))
	flow.Endpoint(svc, "POST", "/sum", func(ctx context.Context, in sumIn) (int, error) {
		time.Sleep(time.Duration(in.MS) * time.Millisecond)
		return in.A + in.B, nil
	})
	if err := worker.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = worker.Shutdown(context.Background()) })

	t.Setenv("NATS_URL", testNATSURL())
	ingress := flow.New(flow.Address("127.0.0.1:0"), quiet,
		flow.NATS("", flow.IngressOnly(), flow.RemoteServices("calc"), flow.NATSSubjectPrefix(prefix), flow.NATSFlow("calc")))
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
	deadline := time.Now().Add(5 * time.Second)
	for len(worker.NATSExports()) == 0 || worker.NATSExports()[0].Subscriptions != 2 {
		if time.Now().After(deadline) {
			t.Fatalf("not exported: %+v", worker.NATSExports())
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, body := post("/calc/sum", `{"a":2,"b":3}`); code != 200 || body != "5" {
		t.Fatalf("remote sum: %d %s", code, body)
	}
	if code, body := post("/calc/sum", `{"b":3}`); code != 422 || !strings.Contains(body, `"errors"`) {
		t.Fatalf("remote validation: %d %s", code, body)
	}
	insts, err := ingress.RemoteInstances(context.Background())
	if err != nil || len(insts) != 1 || insts[0].Node != "w1" || insts[0].Replicas != 2 || insts[0].Capacity != 8 {
		t.Fatalf("remote instances: %+v %v", insts, err)
	}
	// The management API lists them too.
	res, err := http.Get(base + "/admin/services")
	if err != nil {
		t.Fatal(err)
	}
	var list struct {
		Remote []struct {
			Service  string `json:"service"`
			Node     string `json:"node"`
			Replicas int    `json:"replicas"`
		} `json:"remote"`
	}
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
			code, _ := post("/calc/sum?ms=200", `{"a":1}`)
			codes <- code
		})
	}
	for worker.NATSExports()[0].InFlight < 6 && time.Now().Before(deadline.Add(5*time.Second)) {
		time.Sleep(2 * time.Millisecond)
	}
	if err := worker.Shutdown(context.Background()); err != nil {
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

func TestNATSWithoutURL(t *testing.T) {
	t.Setenv("NATS_URL", "")
	app := flow.New(flow.Address("127.0.0.1:0"), flow.Logger(discardLogger()), flow.NATS(""))
	err := app.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "NATS_URL") {
		t.Fatalf("Start without a URL: %v", err)
	}
}

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }
