package distributed_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

// natsURL is the server the tests use: NATS_TEST_URL, else the one .ci/run
// starts on 127.0.0.1:4222.
func natsURL() string {
	if u := os.Getenv("NATS_TEST_URL"); u != "" {
		return u
	}
	return "nats://127.0.0.1:4222"
}

func connect(t testing.TB) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(natsURL(), nats.Timeout(2*time.Second))
	if err != nil {
		t.Skipf("no NATS server on %s (%v); .ci/run starts one", natsURL(), err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// uniquePrefix keeps parallel tests and packages on their own subjects.
func uniquePrefix(t testing.TB) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "rft" + hex.EncodeToString(b)
}

// Person is the body of POST /people.
type Person struct {
	Name string `json:"name" binding:"required"`
	Age  int    `json:"age" binding:"gte=0,lte=150"`
}

// SlowIn binds GET/POST /people/slow?ms=N.
type SlowIn struct {
	MS int `query:"ms"`
}

// Headers is the answer of GET /people/headers.
type Headers map[string][]string

// app builds the flow the tests serve locally and through NATS: service
// "people" at /people with max concurrent queries slots on one fixed
// replica.
func app(t testing.TB, slots int, calls *atomic.Int64) *flow.Flow {
	t.Helper()
	a := flow.New(flow.Metrics(""), flow.Docs("", ""), flow.Health(false))
	svc := a.Service(service.Name("people"), service.BaseRoute("/people"),
		service.Replicas(1, 1), service.MaxConcurrentQueries(slots), service.TargetOngoingRequests(1),
		service.MaxQueuedRequests(slots))
	svc.Use(func(c *gin.Context) { // echo X-* request headers as Echo-* answer headers
		for k, vs := range c.Request.Header {
			if strings.HasPrefix(k, "X-") {
				c.Writer.Header()["Echo-"+k] = vs
			}
		}
		c.Next()
	})
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, in Person) (Person, error) {
		return in, nil
	})
	flow.Endpoint(svc, "GET", "/headers", func(ctx context.Context, r requests.Request) (Headers, error) {
		return Headers(r.Header), nil
	})
	slow := func(ctx context.Context, in SlowIn) (string, error) {
		if calls != nil {
			calls.Add(1)
		}
		select {
		case <-time.After(time.Duration(in.MS) * time.Millisecond):
			return "done", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	}
	flow.Endpoint(svc, "GET", "/slow", slow)
	flow.Endpoint(svc, "POST", "/slow", slow)
	flow.Endpoint(svc, "POST", "/upload", func(ctx context.Context, r requests.Request) (int, error) {
		b, err := io.ReadAll(r.Body)
		return len(b), err
	})
	flow.Endpoint(svc, "GET", "/stream", func(ctx context.Context, _ struct{}) (responses.Streaming, error) {
		return responses.Stream("text/plain", func(yield func([]byte) bool) {
			for range 3 {
				if !yield([]byte("chunk\n")) {
					return
				}
			}
		}), nil
	})
	if err := a.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = a.Shutdown(ctx)
	})
	return a
}

// cluster is one worker flow exported on NATS and an ingress in front of
// it, plus the same flow served locally for comparison.
type cluster struct {
	prefix  string
	worker  *distributed.Exporter
	ingress *distributed.Ingress
	remote  *httptest.Server // the ingress: /people → service people
	local   *httptest.Server // the flow itself
	calls   *atomic.Int64
}

func newCluster(t testing.TB, slots int, iopts distributed.IngressOptions) *cluster {
	t.Helper()
	c := &cluster{prefix: uniquePrefix(t), calls: new(atomic.Int64)}
	a := app(t, slots, c.calls)
	w, err := distributed.NewExporter(connect(t), a, distributed.ExporterOptions{Prefix: c.prefix, Node: "w1"})
	if err != nil {
		t.Fatal(err)
	}
	c.worker = w
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	iopts.Prefix = c.prefix
	if c.ingress, err = distributed.NewIngress(connect(t), iopts); err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/people", c.ingress.Handler("/people", "people"))
	mux.Handle("/people/", c.ingress.Handler("/people", "people"))
	c.remote = httptest.NewServer(mux)
	t.Cleanup(c.remote.Close)
	c.local = httptest.NewServer(a)
	t.Cleanup(c.local.Close)
	waitExported(t, w, "people")
	return c
}

// waitExported waits until the worker holds a subscription for name and
// a replica of it runs.
func waitExported(t testing.TB, w *distributed.Exporter, name string) {
	t.Helper()
	testutil.WaitFor(t, "service "+name+" exported", 5*time.Second, func() bool {
		for _, e := range w.Exports() {
			if e.Service == name && e.Subscriptions > 0 && e.Replicas > 0 {
				return true
			}
		}
		return false
	})
}

type answer struct {
	status int
	header http.Header
	body   string
}

func do(t testing.TB, base, method, path, body string, h http.Header) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	for k, vs := range h {
		req.Header[k] = vs
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return answer{res.StatusCode, res.Header, string(b)}
}
