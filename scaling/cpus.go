package scaling

import (
	"math"
	"runtime"
	"sync"
)

// CPUs is the CPU capacity shared by the pools of a flow. Each replica
// reserves its pool's NumCPUs while it is starting or serving; a replica that
// does not fit stays pending. Reservations are counted in thousandths of a CPU.
type CPUs struct {
	mu    sync.Mutex
	total int64 // milli-CPUs
	used  int64
}

// NewCPUs returns a capacity of total CPUs; total <= 0 means runtime.NumCPU().
func NewCPUs(total float64) *CPUs {
	if total <= 0 {
		total = float64(runtime.NumCPU())
	}
	return &CPUs{total: milli(total)}
}

func milli(f float64) int64 { return int64(math.Round(f * 1000)) }

// Total returns the capacity in CPUs.
func (c *CPUs) Total() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return float64(c.total) / 1000
}

// Used returns the CPUs reserved now (it may exceed Total when min replicas
// oversubscribe).
func (c *CPUs) Used() float64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return float64(c.used) / 1000
}

// reserve takes n CPUs if they fit, or always when force is set. It reports
// whether it reserved and whether the capacity is now oversubscribed.
func (c *CPUs) reserve(n int64, force bool) (ok, over bool) {
	if c == nil || n == 0 {
		return true, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used+n > c.total && !force {
		return false, false
	}
	c.used += n
	return true, c.used > c.total
}

// release gives back n CPUs.
func (c *CPUs) release(n int64) {
	if c == nil || n == 0 {
		return
	}
	c.mu.Lock()
	c.used -= n
	c.mu.Unlock()
}
