package service_test

import (
	"context"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/service"
)

// startBench starts a detached service with replicas and waits for them.
func startBench(b *testing.B, opts ...service.Option) *service.Service {
	b.Helper()
	svc := service.New(opts...)
	svc.SetLogger(logger(nil))
	b.Cleanup(func() { svc.Stop(context.Background()) })
	return svc
}

func ready(b *testing.B, svc *service.Service) {
	b.Helper()
	if err := svc.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	waitFor(b, "ready replicas", 5*time.Second, func() bool { return svc.Ready() == nil })
}

// BenchmarkEnterLeave measures the replica pool's dispatch overhead as an
// endpoint pays it: Service.Enter (acquire a slot on the least loaded
// replica) and Service.Leave (close request dependencies, release).
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
			svc := startBench(b, service.Replicas(bc.replicas, bc.replicas), service.NumCPUs(0.01))
			var rep *service.Dependency[int]
			var req *service.Dependency[int]
			if bc.deps {
				rep = service.NewDependency(svc, service.ReplicaScope, func(context.Context) (int, error) { return 1, nil }, nil)
				req = service.NewDependency(svc, service.RequestScope, func(context.Context) (int, error) { return 2, nil }, nil)
			}
			ready(b, svc)
			b.ReportAllocs()
			for b.Loop() {
				ctx, err := svc.Enter(c)
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
				svc.Leave(ctx)
			}
		})
	}
	for _, n := range []int{1, 8} {
		b.Run("parallel/replicas="+strconv.Itoa(n), func(b *testing.B) {
			svc := startBench(b, service.Replicas(n, n), service.NumCPUs(0.01))
			ready(b, svc)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				c, _ := gin.CreateTestContext(httptest.NewRecorder())
				c.Request = httptest.NewRequest("GET", "/", nil)
				for pb.Next() {
					ctx, err := svc.Enter(c)
					if err != nil {
						b.Error(err)
						return
					}
					svc.Leave(ctx)
				}
			})
		})
	}
}
