package endpoint

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

// Host is what an endpoint needs from the service that serves it: a gate onto
// its replicas and a logger. A Host that also has a method
// Draining(ctx context.Context) <-chan struct{} can tell a WebSocket when
// its replica drains (see NewWebSocket).
type Host interface {
	// Enter admits a call onto a replica. It blocks until the call may run
	// and returns the context to give the handler, or an error (rendered as
	// problem details; overload errors carry a Retry-After).
	Enter(c *gin.Context) (context.Context, error)
	// Leave ends a call that Enter admitted, with the context Enter
	// returned.
	Leave(ctx context.Context)
	// Logger is the service's logger.
	Logger() *slog.Logger
}

// adapter builds the per-request function of an endpoint: bind, enter a
// replica, call, render, leave.
func adapter[Req, Resp any](e *Endpoint, h Func[Req, Resp]) func(*gin.Context, Host) {
	plan, status, limit := e.Plan, e.Status, e.BodyLimit
	noBody := status == http.StatusNoContent || status == http.StatusNotModified
	reads := plan.HasBody || plan.HasForm || plan.Raw
	attrs := []any{"endpoint", e.String()}
	return func(c *gin.Context, host Host) {
		// Deferred first so it runs last: a panic in binding (a type's
		// UnmarshalJSON or UnmarshalText), in the handler or in rendering is
		// a 500, after Leave has freed the slot.
		defer func() {
			if p := recover(); p != nil {
				responses.HandlePanic(c, host.Logger(), p, attrs...)
			}
		}()
		// The body's bytes are counted against the service's budget before
		// they are read, and until the call ends: the queue's bound on
		// memory covers bodies being read and decoded, not only calls.
		if reads {
			if bh, ok := host.(budgeted); ok {
				if b, n := bh.BodyBudget(), bodyShare(c.Request, limit); b != nil && n > 0 {
					if !b.TryAcquire(n) {
						fail(c, host.Logger(), errBodyBudget{})
						return
					}
					defer b.Release(n)
				}
			}
		}
		var in Req
		if err := plan.Bind(c, &in, limit); err != nil {
			fail(c, host.Logger(), err)
			return
		}
		ctx, err := host.Enter(c)
		if err != nil {
			fail(c, host.Logger(), err)
			return
		}
		defer host.Leave(ctx)
		out, err := h(ctx, in)
		if err != nil {
			fail(c, host.Logger(), err)
			return
		}
		if noBody {
			c.Status(status)
			c.Writer.WriteHeaderNow()
			return
		}
		errs := len(c.Errors)
		v := any(out)
		if r, ok := v.(responses.Response); ok {
			r.Render(c, status)
		} else {
			c.JSON(status, v)
		}
		// gin records a render error (a value JSON cannot encode, like NaN)
		// without writing: answer 500 rather than an empty success.
		if len(c.Errors) > errs && !c.Writer.Written() {
			fail(c, host.Logger(), fmt.Errorf("render %s: %w", e, c.Errors.Last().Err))
		}
	}
}

// fail answers a request with the problem details for err, and logs errors
// that are the server's fault with the request ID (their text is never sent
// to the client).
func fail(c *gin.Context, log *slog.Logger, err error) {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		// A raw handler read past the body limit: the client's fault.
		err = &requests.Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("the body is larger than the limit of %d bytes", mbe.Limit), Err: err}
	}
	p, h, internal := responses.ProblemFor(err)
	if internal {
		log.Error("request failed", "method", c.Request.Method, "path", c.Request.URL.Path,
			"status", p.Status, "error", err, "request_id", c.Writer.Header().Get(responses.RequestIDHeader))
	}
	if c.Writer.Written() {
		c.Abort()
		return
	}
	if p.Status == responses.StatusClientClosedRequest {
		c.AbortWithStatus(p.Status)
		return
	}
	responses.AbortWithProblem(c, p, h)
}
