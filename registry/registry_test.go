package registry_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/registry"
)

// backend builds a fresh registry of one kind for the shared contract tests.
type backend struct {
	name string
	make func(t *testing.T) registry.Registry
}

func backends(t *testing.T) []backend {
	return []backend{
		{"memory", func(t *testing.T) registry.Registry {
			r := registry.NewMemory()
			t.Cleanup(func() { r.Close() })
			return r
		}},
		{"redis", func(t *testing.T) registry.Registry {
			r, _ := newRedis(t, 50*time.Millisecond)
			return r
		}},
	}
}

func inst(service, id string, port int) registry.Instance {
	return registry.Instance{Service: service, ID: id, Host: "127.0.0.1", Port: port,
		Version: "1.0.0", Tags: []string{"a", "b"}, HealthPath: "/health",
		HealthInterval: time.Second, Metadata: map[string]string{"k": "é"}}
}

func TestContract(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			r := b.make(t)
			if err := r.Register(ctx, inst("users", "b", 2), time.Minute); err != nil {
				t.Fatal(err)
			}
			if err := r.Register(ctx, inst("users", "a", 1), 0); err != nil {
				t.Fatal(err)
			}
			if err := r.Register(ctx, inst("orders", "x", 3), time.Minute); err != nil {
				t.Fatal(err)
			}
			got, err := r.Get(ctx, "users", "a")
			if err != nil || got.Port != 1 || got.Status != registry.StatusUnknown || got.RegisteredAt.IsZero() ||
				got.Metadata["k"] != "é" || len(got.Tags) != 2 {
				t.Fatalf("Get = %+v, %v", got, err)
			}
			list, err := r.Find(ctx, "users")
			if err != nil || len(list) != 2 || list[0].ID != "a" || list[1].ID != "b" {
				t.Fatalf("Find(users) = %+v, %v", list, err)
			}
			all, _ := r.Find(ctx, "")
			if len(all) != 3 || all[0].Service != "orders" {
				t.Fatalf("Find() = %+v", all)
			}
			names, _ := r.Services(ctx)
			if len(names) != 2 || names[0] != "orders" || names[1] != "users" {
				t.Fatalf("Services = %v", names)
			}
			// Re-registering keeps RegisteredAt and updates the rest.
			up := inst("users", "a", 1)
			up.Status = registry.StatusUnhealthy
			if err := r.Register(ctx, up, 0); err != nil {
				t.Fatal(err)
			}
			again, _ := r.Get(ctx, "users", "a")
			if !again.RegisteredAt.Equal(got.RegisteredAt) || again.Status != registry.StatusUnhealthy {
				t.Fatalf("re-register: %+v (first %v)", again, got.RegisteredAt)
			}
			m, _ := r.URLMap(ctx)
			if m["users"] != "http://127.0.0.1:2" || m["orders"] != "http://127.0.0.1:3" || len(m) != 2 {
				t.Fatalf("URLMap = %v", m)
			}
			if err := r.Deregister(ctx, "users", "a"); err != nil {
				t.Fatal(err)
			}
			if err := r.Deregister(ctx, "users", "a"); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("second Deregister = %v", err)
			}
			if _, err := r.Get(ctx, "users", "a"); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("Get after Deregister = %v", err)
			}
			if err := r.Renew(ctx, "users", "nope", time.Second); !errors.Is(err, registry.ErrNotFound) {
				t.Fatalf("Renew unknown = %v", err)
			}
			if err := r.Register(ctx, registry.Instance{Service: "a/b", ID: "x"}, 0); !errors.Is(err, registry.ErrInvalid) {
				t.Fatalf("bad name = %v", err)
			}
		})
	}
}

func TestLeaseExpiresWithoutRenewal(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			r := b.make(t)
			if err := r.Register(ctx, inst("svc", "renewed", 1), 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			if err := r.Register(ctx, inst("svc", "dropped", 2), 300*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, "the dropped entry to expire while the renewed one stays", 5*time.Second, func() bool {
				if err := r.Renew(ctx, "svc", "renewed", 300*time.Millisecond); err != nil {
					t.Fatalf("Renew: %v", err)
				}
				list, err := r.Find(ctx, "svc")
				if err != nil {
					t.Fatal(err)
				}
				return len(list) == 1 && list[0].ID == "renewed"
			})
		})
	}
}

func TestWatch(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			r := b.make(t)
			if err := r.Register(ctx, inst("w", "old", 1), 0); err != nil {
				t.Fatal(err)
			}
			wctx, wcancel := context.WithCancel(ctx)
			events, err := r.Watch(wctx, "w")
			if err != nil {
				t.Fatal(err)
			}
			next := func() registry.Event {
				t.Helper()
				select {
				case ev, ok := <-events:
					if !ok {
						t.Fatal("watch closed early")
					}
					return ev
				case <-ctx.Done():
					t.Fatal("no event")
				}
				return registry.Event{}
			}
			if ev := next(); ev.Type != registry.EventRegistered || ev.Instance.ID != "old" {
				t.Fatalf("first event %+v", ev)
			}
			_ = r.Register(ctx, inst("other", "z", 9), 0) // another service: not reported
			if err := r.Register(ctx, inst("w", "new", 2), 0); err != nil {
				t.Fatal(err)
			}
			if ev := next(); ev.Type != registry.EventRegistered || ev.Instance.ID != "new" {
				t.Fatalf("register event %+v", ev)
			}
			if err := r.Deregister(ctx, "w", "old"); err != nil {
				t.Fatal(err)
			}
			if ev := next(); ev.Type != registry.EventRemoved || ev.Instance.ID != "old" {
				t.Fatalf("deregister event %+v", ev)
			}
			wcancel()
			for range events { // drains, then closes: no goroutine left
			}
		})
	}
}

func TestKeepAlive(t *testing.T) {
	r := registry.NewMemory()
	defer r.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- registry.KeepAlive(ctx, r, inst("k", "1", 1), 90*time.Millisecond) }()
	time.Sleep(400 * time.Millisecond) // several leases long
	if _, err := r.Get(context.Background(), "k", "1"); err != nil {
		t.Fatalf("kept-alive entry lost: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if _, err := r.Get(context.Background(), "k", "1"); !errors.Is(err, registry.ErrNotFound) {
		t.Fatalf("not deregistered: %v", err)
	}
}
