package responses

import (
	"log/slog"
	"net/http"
	"runtime/debug"

	"github.com/gin-gonic/gin"
)

// Recover returns gin middleware that turns a panic in the handlers after it
// into a 500 problem answer, logged to log (nil: slog.Default) with its
// stack and the request ID, so that the server keeps serving and the client
// gets an answer. A panic with http.ErrAbortHandler, which net/http uses to
// abort an answer on purpose, is not recovered.
func Recover(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if p := recover(); p != nil {
				HandlePanic(c, log, p)
			}
		}()
		c.Next()
	}
}

// HandlePanic is what Recover does with a value p that recover returned
// while c was served: it panics again with http.ErrAbortHandler, and
// otherwise logs p to log (nil: slog.Default) with attrs, the request and
// the stack, answers 500 problem details unless the answer has begun, and
// aborts the chain. Call it from a deferred function in a handler that
// must recover at a point of its own (the endpoint adapter gives its
// replica slot back first).
func HandlePanic(c *gin.Context, log *slog.Logger, p any, attrs ...any) {
	if p == http.ErrAbortHandler {
		panic(p)
	}
	if log == nil {
		log = slog.Default()
	}
	args := make([]any, 0, len(attrs)+10)
	args = append(args, attrs...)
	args = append(args, "method", c.Request.Method, "path", c.Request.URL.Path, "panic", p,
		"request_id", c.Writer.Header().Get(RequestIDHeader), "stack", string(debug.Stack()))
	log.Error("panic while serving a request", args...)
	if !c.Writer.Written() {
		AbortWithProblem(c, NewProblem(http.StatusInternalServerError, internalDetail, nil), nil)
		return
	}
	c.Abort()
}
