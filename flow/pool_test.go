package flow_test

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/service"
)

// scrape reads the Prometheus text at url into "name{labels}" → value.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		t.Fatalf("metrics: %d %s", res.StatusCode, b)
	}
	out := map[string]float64{}
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			t.Fatalf("metrics line %q: %v", line, err)
		}
		out[line[:i]] = v
	}
	return out
}

// TestPoolGauges checks that /metrics shows each service's replica pool:
// replicas by state, requests running and queued, and capacity.
func TestPoolGauges(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{}, 8)
	app := flow.New(flow.Logger(slogTo(nil)))
	svc := app.Service(service.BaseRoute("/slow"), service.Replicas(1, 3), service.MaxConcurrentQueries(2),
		service.TargetOngoingRequests(2), service.UpscaleDelay(time.Hour), service.NumCPUs(0.01))
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) {
		entered <- struct{}{}
		select {
		case <-release:
			return "ok", nil
		case <-ctx.Done():
			return "", ctx.Err()
		}
	})
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(app.Handler())
	defer func() {
		srv.Close()
		app.Shutdown(context.Background())
	}()
	testutil.WaitFor(t, "the service ready", 5*time.Second, func() bool { return svc.Ready() == nil })
	// Two requests hold the replica's two slots; a third waits in the queue
	// (the hour-long upscale delay keeps the pool at one replica).
	done := make(chan int, 3)
	for range 3 {
		go func() {
			res, err := http.Get(srv.URL + "/slow")
			if err != nil {
				done <- 0
				return
			}
			res.Body.Close()
			done <- res.StatusCode
		}()
	}
	<-entered
	<-entered
	testutil.WaitFor(t, "one request queued", 5*time.Second, func() bool { return svc.Status().Replicas.Queued == 1 })
	m := scrape(t, srv.URL+"/metrics")
	close(release)
	for range 3 {
		if s := <-done; s != 200 {
			t.Errorf("request: %d", s)
		}
	}
	for name, want := range map[string]float64{
		`replicaflow_replicas{service="slow",state="running"}`:  1,
		`replicaflow_replicas{service="slow",state="starting"}`: 0,
		`replicaflow_replicas{service="slow",state="stopping"}`: 0,
		`replicaflow_replicas{service="slow",state="pending"}`:  0,
		`replicaflow_replicas{service="slow",state="desired"}`:  1,
		`replicaflow_replicas{service="slow",state="min"}`:      1,
		`replicaflow_replicas{service="slow",state="max"}`:      3,
		`replicaflow_pool_requests_running{service="slow"}`:     2,
		`replicaflow_pool_requests_queued{service="slow"}`:      1,
		`replicaflow_pool_capacity{service="slow"}`:             2,
	} {
		got, ok := m[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
			continue
		}
		if got != want {
			t.Errorf("%s = %g, want %g", name, got, want)
		}
	}
}
