package service_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicaflow/replicaflow/service"
)

// TestNotRunningAnswers503 checks that a service that is stopped, or not yet
// started, answers 503 with Retry-After as problem details over HTTP, and
// serves again once started.
func TestNotRunningAnswers503(t *testing.T) {
	for _, tc := range []struct {
		name  string
		start bool
	}{
		{name: "stopped", start: true},
		{name: "never started"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := newService(nil, nil, func(svc *service.Service) {
				service.Handle(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "up", nil })
			})
			srv := httptest.NewServer(svc)
			defer srv.Close()
			if tc.start {
				start(t, svc)
				if r := httpGet(srv.URL + "/"); r.status != 200 {
					t.Fatalf("running service: %s", r)
				}
				if err := svc.Stop(context.Background()); err != nil {
					t.Fatal(err)
				}
			}
			r := httpGet(srv.URL + "/")
			if r.status != 503 || r.header.Get("Retry-After") == "" {
				t.Fatalf("got %s (Retry-After %q), want 503 with Retry-After", r, r.header.Get("Retry-After"))
			}
			if p := r.problem(t); p.Status != 503 || p.Detail != `service "root" is not running` {
				t.Errorf("problem %+v", p)
			}
			start(t, svc)
			if r := httpGet(srv.URL + "/"); r.status != 200 || r.body != `"up"` {
				t.Errorf("after start: %s", r)
			}
		})
	}
}

// TestStatus checks the fields of a service's status through its life: the
// replicas, the load, and the settings they run with, durations readable in
// JSON.
func TestStatus(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := newGates()
		svc := newService(nil, []service.Option{
			service.Name("slow"), service.Replicas(2, 5), service.MaxConcurrentQueries(3),
			service.TargetOngoingRequests(3), service.UpscaleDelay(time.Second),
		}, func(svc *service.Service) {
			service.Handle(svc, "GET", "/hold", func(ctx context.Context, q idQuery) (string, error) {
				return q.ID, g.wait(ctx, q.ID)
			})
		})
		st := svc.Status()
		if st.State != service.Initialized || !st.Replicas.Stopped || st.Replicas.Min != 2 || st.Replicas.Max != 5 ||
			st.Replicas.UpscaleDelay != scalingDuration(time.Second) {
			t.Errorf("status before start %+v", st)
		}
		start(t, svc)
		synctest.Wait()
		st = svc.Status()
		if st.Name != "slow" || st.ID == "" || st.State != service.Running || st.Error != "" {
			t.Errorf("status %+v", st)
		}
		r := st.Replicas
		if r.Name != "slow" || r.Running != 2 || r.Desired != 2 || r.Min != 2 || r.Max != 5 || !r.Autoscaler ||
			r.Capacity != 6 || r.InFlight != 0 || r.Queued != 0 || r.Stopped || r.LastDecision.Reason == "" ||
			r.MaxConcurrentQueries != 3 || r.TargetOngoingRequests != 3 || r.MaxQueuedRequests != 100 {
			t.Errorf("idle replicas %+v", r)
		}
		b, err := json.Marshal(st)
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{`"upscale_delay":"1s"`, `"downscale_delay":"5s"`, `"request_timeout":"30s"`, `"state":"running"`} {
			if !strings.Contains(string(b), want) {
				t.Errorf("status JSON lacks %s: %s", want, b)
			}
		}
		var res []<-chan result
		for _, id := range []string{"a", "b", "c", "d"} {
			res = append(res, goGet(context.Background(), svc, "/hold?id="+id))
		}
		synctest.Wait()
		if r := svc.Status().Replicas; r.InFlight != 4 || r.Queued != 0 {
			t.Errorf("loaded replicas %+v, want 4 in flight", r)
		}
		for _, id := range []string{"a", "b", "c", "d"} {
			g.open(id)
		}
		for _, ch := range res {
			if r := <-ch; r.status != 200 {
				t.Errorf("request: %s", r)
			}
		}
		if err := svc.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		st = svc.Status()
		if st.State != service.Stopped || !st.Replicas.Stopped || st.Replicas.Running != 0 || st.Replicas.Min != 2 || st.Replicas.Max != 5 {
			t.Errorf("stopped status %+v", st)
		}
	})
}
