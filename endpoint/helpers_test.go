package endpoint_test

import (
	"context"
	"io"
	"log/slog"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/scaling"
)

func init() { gin.SetMode(gin.TestMode) }

// testHost is an endpoint.Host with a fixed number of replica slots, whose
// replica can be told to drain, as a service's can. A call that finds no
// free slot is refused as the pool refuses it (scaling.ErrQueueFull).
type testHost struct {
	slots  chan struct{}
	drain  chan struct{}
	log    *slog.Logger
	budget *endpoint.Budget // nil for none

	mu           sync.Mutex
	leftEarly    int // calls that gave their slot back before the answer began
	leftAnswered int // calls that gave it back after
}

func newTestHost(slots int, logs io.Writer) *testHost {
	h := slog.DiscardHandler
	if logs != nil {
		h = slog.NewTextHandler(logs, nil)
	}
	return &testHost{slots: make(chan struct{}, slots), drain: make(chan struct{}), log: slog.New(h)}
}

// Enter takes a slot; the call's context is the request's gin context.
func (h *testHost) Enter(c *gin.Context) (context.Context, error) {
	select {
	case h.slots <- struct{}{}:
		return c, nil
	default:
		return nil, scaling.ErrQueueFull
	}
}

// Leave gives the slot back and records whether the answer had begun.
func (h *testHost) Leave(ctx context.Context) {
	if c, ok := ctx.(*gin.Context); ok {
		h.mu.Lock()
		if c.Writer.Written() {
			h.leftAnswered++
		} else {
			h.leftEarly++
		}
		h.mu.Unlock()
	}
	<-h.slots
}

func (h *testHost) Logger() *slog.Logger { return h.log }

// BodyBudget is the host's body budget, as a service has one.
func (h *testHost) BodyBudget() *endpoint.Budget { return h.budget }

// Draining is closed when the replica drains (close(h.drain)).
func (h *testHost) Draining(context.Context) <-chan struct{} { return h.drain }

// inUse is the number of slots taken.
func (h *testHost) inUse() int { return len(h.slots) }

// serve returns a gin engine that serves eps on host, as a service does.
func serve(host endpoint.Host, eps ...*endpoint.Endpoint) *gin.Engine {
	e := gin.New()
	e.HandleMethodNotAllowed = true
	for _, ep := range eps {
		e.Handle(ep.Method, ep.Route, ep.Handler(host))
	}
	return e
}
