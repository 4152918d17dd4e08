package service

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/hub"
	"github.com/replicaflow/replicaflow/internal/testutil"
)

// attached makes a service attached as a flow does, logging nowhere, and
// stops it when the test ends.
func attached(tb testing.TB, opts ...Option) *Service {
	tb.Helper()
	svc := New(opts...)
	hub.AttachService(svc, hub.Attachment{Logger: slog.New(slog.DiscardHandler)})
	tb.Cleanup(func() { svc.Stop(context.Background()) })
	return svc
}

// ready starts svc and waits for its replicas.
func ready(tb testing.TB, svc *Service) {
	tb.Helper()
	if err := svc.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	testutil.WaitFor(tb, "ready replicas", 5*time.Second, func() bool { return svc.Ready() == nil })
}

// BenchmarkEnterLeave measures the replica pool's dispatch overhead as an
// endpoint pays it: Enter (acquire a slot on the least loaded replica) and
// Leave (close request dependencies, release).
func BenchmarkEnterLeave(b *testing.B) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	for _, bc := range []struct {
		name     string
		replicas int
		deps     bool
	}{
		{"replicas=1", 1, false},
		{"replicas=8", 8, false},
		{"replicas=1/replica+request-deps", 1, true},
	} {
		b.Run("serial/"+bc.name, func(b *testing.B) {
			svc := attached(b, Replicas(bc.replicas, bc.replicas))
			var rep, req *Dependency[int]
			if bc.deps {
				rep = NewDependency(svc, ReplicaScope, func(context.Context) (int, error) { return 1, nil }, nil)
				req = NewDependency(svc, RequestScope, func(context.Context) (int, error) { return 2, nil }, nil)
			}
			ready(b, svc)
			h := (*host)(svc)
			b.ReportAllocs()
			for b.Loop() {
				ctx, err := h.Enter(c)
				if err != nil {
					b.Fatal(err)
				}
				if bc.deps {
					if _, err := rep.Get(ctx); err != nil {
						b.Fatal(err)
					}
					if _, err := req.Get(ctx); err != nil {
						b.Fatal(err)
					}
				}
				h.Leave(ctx)
			}
		})
	}
	for _, n := range []int{1, 8} {
		b.Run("parallel/replicas="+strconv.Itoa(n), func(b *testing.B) {
			svc := attached(b, Replicas(n, n))
			ready(b, svc)
			h := (*host)(svc)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, _ := gin.CreateTestContext(httptest.NewRecorder())
				c.Request = httptest.NewRequest("GET", "/", nil)
				for pb.Next() {
					ctx, err := h.Enter(c)
					if err != nil {
						b.Error(err)
						return
					}
					h.Leave(ctx)
				}
			})
		})
	}
}
