package distributed_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/distributed"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/service"
)

// The subscriptions follow the replica pool up and down; requests keep
// succeeding while it scales down (a subscription that goes is drained).
func TestSubscriptionsFollowReplicas(t *testing.T) {
	a := flow.New(flow.Metrics(""), flow.Docs("", ""), flow.Health(false))
	svc := a.Service(service.Name("elastic"), service.Replicas(1, 4), service.MaxConcurrentQueries(2),
		service.TargetOngoingRequests(1), service.UpscaleDelay(0), service.DownscaleDelay(300*time.Millisecond),
		service.NumCPUs(0.1),
		service.Tick(20*time.Millisecond), service.LookBack(100*time.Millisecond))
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ struct{}) (string, error) {
		time.Sleep(20 * time.Millisecond)
		return "ok", nil
	})
	if err := a.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Shutdown(context.Background()) })
	prefix := uniquePrefix(t)
	w, err := distributed.NewExporter(connect(t), a, distributed.ExporterOptions{Prefix: prefix, Interval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = w.Shutdown(context.Background()) })
	in, err := distributed.NewIngress(connect(t), distributed.IngressOptions{Prefix: prefix, MaxBusyWait: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(in.Handler("/elastic", "elastic"))
	t.Cleanup(srv.Close)
	waitExported(t, w, "elastic")

	var failed atomic.Int64
	var stop atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for !stop.Load() {
				res, err := http.Get(srv.URL + "/elastic")
				if err != nil || res.StatusCode != 200 {
					failed.Add(1)
				}
				if err == nil {
					res.Body.Close()
				}
			}
		})
	}
	peak := 0
	t.Cleanup(func() { stop.Store(true); wg.Wait() })
	testutil.WaitFor(t, "subscriptions following the scale-up to 3", 5*time.Second, func() bool {
		peak = max(peak, w.Exports()[0].Subscriptions)
		return peak >= 3
	})
	stop.Store(true)
	wg.Wait()
	// Trickle while the pool scales down.
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		st := w.Exports()[0]
		if st.Subscriptions == 1 && st.Replicas == 1 {
			break
		}
		res, err := http.Get(srv.URL + "/elastic")
		if err != nil || res.StatusCode != 200 {
			failed.Add(1)
		}
		if err == nil {
			res.Body.Close()
		}
	}
	if st := w.Exports()[0]; st.Subscriptions != 1 || st.Replicas != 1 {
		t.Errorf("subscriptions did not follow the scale-down: %+v", st)
	}
	if failed.Load() != 0 {
		t.Errorf("%d requests failed while scaling", failed.Load())
	}
}
