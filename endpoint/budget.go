package endpoint

import (
	"math"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/replicaflow/replicaflow/requests"
)

// Budget bounds the bytes of request bodies a service reads, decodes and
// holds at once, across all its requests: the replica pool's queue bounds
// how many calls wait, the budget how much memory their bodies take. An
// endpoint served by a Host that has a method BodyBudget() *Budget (nil for
// none) takes its
// request's share before reading the body (the Content-Length, or the body
// limit for a chunked body) and gives it back when the call ends; a request
// that does not fit is answered 503 with a Retry-After, unread. A Budget is
// safe for concurrent use and never blocks.
type Budget struct {
	capacity int64
	used     atomic.Int64
}

// NewBudget returns a budget of capacity bytes. It panics if capacity is not
// positive.
func NewBudget(capacity int64) *Budget {
	if capacity <= 0 {
		panic("replicaflow: a body budget must be positive")
	}
	return &Budget{capacity: capacity}
}

// TryAcquire takes n bytes of the budget and reports whether they were free.
// A share larger than the whole budget counts as the whole budget, so such a
// body is read alone rather than never.
func (b *Budget) TryAcquire(n int64) bool {
	n = min(n, b.capacity)
	for {
		u := b.used.Load()
		if u+n > b.capacity {
			return false
		}
		if b.used.CompareAndSwap(u, u+n) {
			return true
		}
	}
}

// Release gives back n bytes that TryAcquire took.
func (b *Budget) Release(n int64) { b.used.Add(-min(n, b.capacity)) }

// InUse returns the bytes taken now.
func (b *Budget) InUse() int64 { return b.used.Load() }

// Cap returns the budget's capacity in bytes.
func (b *Budget) Cap() int64 { return b.capacity }

// budgeted is a Host with a body budget.
type budgeted interface {
	BodyBudget() *Budget
}

// bodyShare is what reading req's body takes of a budget: its length, or
// the limit when the length is unknown; 0 for no body, and for a body over
// the limit, which is refused unread.
func bodyShare(req *http.Request, limit int64) int64 {
	if req.Body == nil || req.Body == http.NoBody {
		return 0
	}
	if limit == 0 {
		limit = requests.DefaultBodyLimit
	}
	switch n := req.ContentLength; {
	case n > 0 && limit > 0 && n > limit:
		return 0
	case n >= 0:
		return n
	case limit > 0:
		return limit
	}
	return math.MaxInt64 // unknown length and no limit: the whole budget
}

// errBodyBudget refuses a request whose body does not fit its service's
// budget.
type errBodyBudget struct{}

func (errBodyBudget) Error() string {
	return "service overloaded: too many request bodies in flight"
}

// RetryAfter is the time a client should wait (responses.RetryAfterError).
func (errBodyBudget) RetryAfter() time.Duration { return time.Second }
