package worker_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/cluster/supervisor"
	"github.com/replicaflow/replicaflow/cluster/worker"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/registry"
)

func TestWorkerRetriesReRegistersAndDeregisters(t *testing.T) {
	late := newLateSupervisor(t)
	health := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	defer health.Close()
	host, portStr, _ := net.SplitHostPort(health.Listener.Addr().String())
	var port int
	fmt.Sscan(portStr, &port)

	w, err := worker.New(worker.Options{
		RegisterURL: late.URL + "/register",
		Instance: registry.Instance{Service: "w", Host: host, Port: port, Version: "1.2.3",
			Tags: []string{"a"}, HealthPath: "/health", HealthInterval: time.Hour},
		Token: "tok", Heartbeat: 30 * time.Millisecond,
		MinBackoff: 10 * time.Millisecond, MaxBackoff: 50 * time.Millisecond,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := w.Start(ctx); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "several failed attempts", 10*time.Second, func() bool { return late.Attempts() >= 3 })
	if w.Registered() {
		t.Fatal("registered with no supervisor")
	}

	sup := supervisor.New(supervisor.Options{Token: "tok"})
	defer sup.Close()
	late.Arrive(sup)

	if err := w.Wait(ctx); err != nil {
		t.Fatal("never registered:", err)
	}
	id := fmt.Sprintf("%s:%d", host, port)
	inst, err := sup.Registry().Get(ctx, "w", id)
	if err != nil || inst.Version != "1.2.3" || inst.HealthPath != "/health" {
		t.Fatalf("registered %+v %v", inst, err)
	}

	// The supervisor forgets it: the next heartbeat gets 404 and it registers again.
	if err := sup.Registry().Deregister(ctx, "w", id); err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, "a registration again after being forgotten", 5*time.Second, func() bool {
		_, err := sup.Registry().Get(ctx, "w", id)
		return err == nil
	})

	if err := w.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sup.Registry().Get(ctx, "w", id); err == nil {
		t.Fatal("still registered after Stop")
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []worker.Options{
		{RegisterURL: "keeper:8100", Instance: registry.Instance{Service: "w", Host: "h", Port: 1}},
		{RegisterURL: "http://k/register", Instance: registry.Instance{Host: "h", Port: 1}},
		{RegisterURL: "http://k/register", Instance: registry.Instance{Service: "w", Host: "h"}},
	} {
		if _, err := worker.New(o); err == nil {
			t.Errorf("%+v accepted", o)
		}
	}
}
