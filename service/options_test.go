package service_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/replicaflow/replicaflow/scaling"
	"github.com/replicaflow/replicaflow/service"
)

func scalingDuration(d time.Duration) scaling.Duration { return scaling.Duration(d) }

// TestOptionsDefaults checks the options a service runs with, from
// functional options or a plain struct: zero fields take scaling's
// defaults, and a written 0 means zero where zero is a setting.
func TestOptionsDefaults(t *testing.T) {
	tests := []struct {
		name  string
		opts  []service.Option
		check func(o service.Options) bool
	}{
		{"no option: one autoscaled replica, a queue, no CPU reservation", nil, func(o service.Options) bool {
			return o.BaseRoute == "/" && o.Name == "root" && o.ServiceID != "" && o.NumReplicas == 1 && o.MinReplicas == 1 &&
				o.MaxReplicas == 1 && !o.ScaleToZero && !o.DisableAutoscaler && o.MaxConcurrentQueries == 100 &&
				o.TargetOngoingRequests == 1 && o.MaxQueuedRequests == 200 && !o.DisableQueue && o.NumCPUs == 0 &&
				o.RequestTimeout == scaling.DefaultRequestTimeout && o.Tick == scaling.DefaultTick &&
				o.LookBack == scaling.DefaultLookBack && o.UpscaleDelay == scaling.DefaultUpscaleDelay &&
				o.DownscaleDelay == scaling.DefaultDownscaleDelay
		}},
		{"a plain struct is a working service", []service.Option{service.WithOptions(service.Options{BaseRoute: "/b"})}, func(o service.Options) bool {
			return o.Name == "b" && o.MinReplicas == 1 && o.MaxReplicas == 1 && o.NumReplicas == 1 && !o.DisableAutoscaler &&
				o.MaxConcurrentQueries == 100
		}},
		{"route and name", []service.Option{service.BaseRoute("api/v1/")}, func(o service.Options) bool {
			return o.BaseRoute == "/api/v1" && o.Name == "api-v1"
		}},
		{"replicas start at min", []service.Option{service.Replicas(2, 8)}, func(o service.Options) bool {
			return o.MinReplicas == 2 && o.MaxReplicas == 8 && o.NumReplicas == 2 && !o.ScaleToZero
		}},
		{"a minimum of 0 scales to zero", []service.Option{service.Replicas(0, 4)}, func(o service.Options) bool {
			return o.ScaleToZero && o.MinReplicas == 0 && o.NumReplicas == 0 && o.MaxReplicas == 4
		}},
		{"MinReplicas(0) scales to zero", []service.Option{service.MinReplicas(0), service.MaxReplicas(2)}, func(o service.Options) bool {
			return o.ScaleToZero && o.MinReplicas == 0 && o.MaxReplicas == 2
		}},
		{"a later minimum undoes scale to zero", []service.Option{service.Replicas(0, 4), service.MinReplicas(2)}, func(o service.Options) bool {
			return !o.ScaleToZero && o.MinReplicas == 2 && o.NumReplicas == 2
		}},
		{"a queue of 0 is no queue", []service.Option{service.MaxQueuedRequests(0)}, func(o service.Options) bool {
			return o.DisableQueue && o.MaxQueuedRequests == 0
		}},
		{"fixed replicas", []service.Option{service.NumReplicas(4), service.DisableAutoscaler()}, func(o service.Options) bool {
			return o.NumReplicas == 4 && o.MaxReplicas == 4 && o.MinReplicas == 1 && o.DisableAutoscaler
		}},
		{"timing", []service.Option{service.Tick(time.Second), service.LookBack(time.Minute), service.UpscaleDelay(time.Hour), service.RequestTimeout(time.Millisecond)}, func(o service.Options) bool {
			return o.Tick == time.Second && o.LookBack == time.Minute && o.UpscaleDelay == time.Hour && o.RequestTimeout == time.Millisecond
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := service.New(tt.opts...).Options()
			if !tt.check(o) {
				t.Errorf("options %+v", o)
			}
			if err := o.Check(); err != nil {
				t.Errorf("Check: %v", err)
			}
		})
	}
}

// TestOptionsRules checks that Check names the rule an option set breaks,
// for the service's own fields and the replica pool's.
func TestOptionsRules(t *testing.T) {
	tests := []struct {
		name string
		opts []service.Option
		want string
	}{
		{"num replicas above max", []service.Option{service.Replicas(1, 2), service.NumReplicas(3)}, "num replicas 3 is outside [min replicas 1, max replicas 2]"},
		{"num replicas below min", []service.Option{service.Replicas(2, 4), service.NumReplicas(1)}, "num replicas 1 is outside"},
		{"min above max", []service.Option{service.MinReplicas(5), service.MaxReplicas(2)}, "min replicas 5 is above max replicas 2"},
		{"target above capacity", []service.Option{service.MaxConcurrentQueries(2), service.TargetOngoingRequests(3)}, "target ongoing requests per replica 3 is above max concurrent queries 2"},
		{"negative min", []service.Option{service.MinReplicas(-1)}, "min replicas -1 is negative"},
		{"negative target", []service.Option{service.TargetOngoingRequests(-1)}, "must be above 0"},
		{"negative queue", []service.Option{service.MaxQueuedRequests(-1)}, "max queued requests -1 is negative"},
		{"negative CPUs", []service.Option{service.NumCPUs(-1)}, "num CPUs -1 is negative"},
		{"negative delay", []service.Option{service.DownscaleDelay(-time.Second)}, "downscale delay -1s is negative"},
		{"negative tick", []service.Option{service.Tick(-time.Second)}, "tick -1s is negative"},
		{"scale to zero with a minimum", []service.Option{service.WithOptions(service.Options{ScaleToZero: true, MinReplicas: 2})}, "scale to zero with min replicas 2"},
		{"queue size with no queue", []service.Option{service.WithOptions(service.Options{DisableQueue: true, MaxQueuedRequests: 3})}, "max queued requests 3 with the queue disabled"},
		{"parameter in base route", []service.Option{service.BaseRoute("/u/:id")}, "must be a plain path"},
		{"bad name", []service.Option{service.Name("a b")}, `name "a b"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := service.New(tt.opts...)
			if err := svc.Options().Check(); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Check: %v, want an error containing %q", err, tt.want)
			}
			if err := svc.Start(context.Background()); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start: %v, want the rule", err)
			}
		})
	}
}

// TestOptionsJSON checks that options read and write durations a person
// reads, and that the JSON names are the ones the management API shows.
func TestOptionsJSON(t *testing.T) {
	o := service.Options{Name: "a", UpscaleDelay: 200 * time.Millisecond, RequestTimeout: 5 * time.Second, ScaleToZero: true}
	b, err := json.Marshal(o)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"upscale_delay":"200ms"`, `"request_timeout":"5s"`, `"downscale_delay":"0s"`,
		`"scale_to_zero":true`, `"disable_autoscaler":false`, `"disable_queue":false`, `"name":"a"`, `"num_cpus":0`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("JSON lacks %s: %s", want, b)
		}
	}
	var back service.Options
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	if back != o {
		t.Errorf("round trip: %+v, want %+v", back, o)
	}
	if err := json.Unmarshal([]byte(`{"tick":"soon"}`), &back); err == nil {
		t.Error("a malformed duration was accepted")
	}
}

// TestZeroOptionsServe checks that a service made from a plain Options
// struct with only a base route serves requests.
func TestZeroOptionsServe(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		svc := newService(nil, []service.Option{service.WithOptions(service.Options{BaseRoute: "/b"})}, func(svc *service.Service) {
			service.Handle(svc, "GET", "/hello", func(ctx context.Context, _ none) (string, error) { return "hi", nil })
		})
		start(t, svc)
		synctest.Wait()
		if r := get(context.Background(), svc, "/b/hello"); r.status != 200 || r.body != `"hi"` {
			t.Errorf("got %s, want 200", r)
		}
	})
}
