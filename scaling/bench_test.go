package scaling

import (
	"context"
	"runtime"
	"strconv"
	"testing"
)

func benchPool(b *testing.B, replicas int) *Pool {
	p := NewPool(Options{MaxReplicas: replicas, NumReplicas: replicas, DisableAutoscaler: true, Logger: quiet}, nil)
	if err := p.Start(context.Background()); err != nil {
		b.Fatal(err)
	}
	<-p.Ready()
	b.Cleanup(func() { p.Shutdown(context.Background()) })
	return p
}

func BenchmarkAcquireRelease(b *testing.B) {
	ctx := context.Background()
	for _, n := range []int{1, 8} {
		b.Run("serial/replicas="+strconv.Itoa(n), func(b *testing.B) {
			p := benchPool(b, n)
			b.ReportAllocs()
			for b.Loop() {
				r, err := p.Acquire(ctx)
				if err != nil {
					b.Fatal(err)
				}
				p.Release(r)
			}
		})
		b.Run("parallel/replicas="+strconv.Itoa(n), func(b *testing.B) {
			p := benchPool(b, n)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					r, err := p.Acquire(ctx)
					if err != nil {
						b.Error(err)
						return
					}
					p.Release(r)
				}
			})
		})
	}
}

// idleReplicaBytes starts n idle replicas and returns the heap and stack
// bytes they take, per replica.
func idleReplicaBytes(tb testing.TB, n int) float64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := NewPool(Options{MinReplicas: n, MaxConcurrentQueries: 1, Logger: quiet}, nil)
	if err := p.Start(context.Background()); err != nil {
		tb.Fatal(err)
	}
	<-p.Ready()
	runtime.GC()
	runtime.ReadMemStats(&after)
	used := float64(after.HeapAlloc+after.StackInuse) - float64(before.HeapAlloc+before.StackInuse)
	if s := p.Status(); s.Running != n {
		tb.Fatalf("%d running, want %d", s.Running, n)
	}
	if err := p.Shutdown(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return used / float64(n)
}

func BenchmarkIdleReplicas(b *testing.B) {
	var per float64
	for b.Loop() {
		per = idleReplicaBytes(b, 10000)
	}
	b.ReportMetric(per, "B/replica")
}

// TestIdleReplicaMemory reports the memory of 10,000 idle replicas. The aim
// is 16 KiB each; the bound asserted is loose because the race detector and
// the GC make the figure noisy.
func TestIdleReplicaMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts 10,000 replicas")
	}
	per := idleReplicaBytes(t, 10000)
	t.Logf("%.0f bytes per idle replica", per)
	if per > 64<<10 {
		t.Errorf("%.0f bytes per idle replica, aim 16 KiB", per)
	}
}
