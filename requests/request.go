package requests

import (
	"context"
	"net/http"

	"github.com/gin-gonic/gin"
)

// Request is the raw HTTP request. An endpoint whose request type is Request
// gets it as it came: nothing is read, bound or validated. Its body is still
// capped at the endpoint's body limit (requests.DefaultBodyLimit unless
// endpoint.BodyLimit says otherwise): a Content-Length over it is answered
// 413 before the handler runs, and reading a chunked body past it fails with
// an *http.MaxBytesError, which the endpoint answers 413 when the handler
// returns it.
type Request struct {
	*http.Request
}

// GinContext returns the gin context of the request a handler is serving, or
// nil when ctx does not come from a request. Handlers receive a ctx that
// carries it; use it for what the typed API does not cover. As with gin, the
// gin context must not be used after the handler returns.
func GinContext(ctx context.Context) *gin.Context {
	if ctx == nil {
		return nil
	}
	if c, ok := ctx.(*gin.Context); ok {
		return c
	}
	c, _ := ctx.Value(gin.ContextKey).(*gin.Context)
	return c
}
