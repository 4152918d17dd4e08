package gateway_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/replicaflow/replicaflow/cluster/gateway"
	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/service"
)

// A service with no upstream is served by the workers on NATS, and
// GET /services lists them.
func TestRemoteThroughNATS(t *testing.T) {
	url := testutil.NATSURL()
	nc, err := nats.Connect(url, nats.Timeout(2*time.Second))
	if err != nil {
		t.Skipf("no NATS server on %s (%v); .ci/run starts one", url, err)
	}
	defer nc.Close()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "rftgw" + hex.EncodeToString(b)

	app := flow.New(flow.Metrics(""), flow.Docs("", ""))
	svc := app.Service(service.Name("hello"), service.BaseRoute("/greet"))
	flow.Endpoint(svc, "GET", "/{name}", func(ctx context.Context, in struct {
		Name string `path:"name"`
	}) (string, error) {
		return "hello " + in.Name, nil
	})
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	defer app.Shutdown(context.Background())
	w, err := distributed.NewExporter(nc, app, distributed.ExporterOptions{Prefix: prefix, Node: "n1"})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown(context.Background())
	in, err := distributed.NewIngress(nc, distributed.IngressOptions{Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	_, srv := newGateway(t, gateway.Options{Remote: in})
	testutil.WaitFor(t, "the worker to export its service", 5*time.Second, func() bool {
		e := w.Exports()
		return len(e) == 1 && e[0].Replicas == 1
	})

	get := func(path string) (int, string) {
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(body)
	}
	if code, body := get("/hello/ada"); code != 200 || body != `"hello ada"` {
		t.Fatalf("/hello/ada: %d %s", code, body)
	}
	if code, _ := get("/nobody/x"); code != 503 {
		t.Errorf("a service no worker serves: %d, want 503", code)
	}
	code, body := get("/services")
	var rows []gateway.Row
	if code != 200 || json.Unmarshal([]byte(body), &rows) != nil || len(rows) != 1 ||
		rows[0].Source != "nats" || rows[0].NameService != "hello" || rows[0].Replicas != 1 {
		t.Fatalf("GET /services: %d %s", code, body)
	}
}
