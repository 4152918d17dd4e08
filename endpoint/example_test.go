package endpoint_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/responses"
)

// gate is the smallest Host: one call at a time. A service is the Host of
// its endpoints; it admits calls onto its replicas.
type gate chan struct{}

func (g gate) Enter(c *gin.Context) (context.Context, error) {
	select {
	case g <- struct{}{}:
		return c, nil
	default:
		return nil, responses.Error(http.StatusServiceUnavailable, "busy")
	}
}

func (g gate) Leave(context.Context) { <-g }
func (g gate) Logger() *slog.Logger  { return slog.New(slog.DiscardHandler) }

type Greeting struct {
	Name  string `path:"name"`
	Times int    `query:"times" binding:"min=1,max=3"`
}

func ExampleNew() {
	ep := endpoint.New("GET", "/hello/{name}", func(ctx context.Context, in Greeting) (string, error) {
		return strings.Repeat("hello "+in.Name+"! ", in.Times), nil
	}, endpoint.Summary("Greets"))
	fmt.Println(ep)

	e := gin.New()
	e.Handle(ep.Method, ep.Route, ep.Handler(make(gate, 1)))
	for _, target := range []string{"/hello/ada?times=2", "/hello/ada?times=9"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
		fmt.Println(w.Code, strings.TrimSpace(w.Body.String()))
	}
	// Output:
	// GET /hello/:name
	// 200 "hello ada! hello ada! "
	// 422 {"type":"about:blank","title":"Unprocessable Entity","status":422,"detail":"the request did not validate","instance":"/hello/ada","errors":[{"location":"query.times","message":"must be at most 3","rule":"max"}]}
}

func ExampleNew_errors() {
	ep := endpoint.New("DELETE", "/orders/{id}", func(ctx context.Context, in struct {
		ID int `path:"id"`
	}) (any, error) {
		if in.ID != 7 {
			return nil, responses.Errorf(http.StatusNotFound, "no order %d", in.ID)
		}
		return nil, nil
	}, endpoint.Status(http.StatusNoContent))

	e := gin.New()
	e.Handle(ep.Method, ep.Route, ep.Handler(make(gate, 1)))
	for _, target := range []string{"/orders/7", "/orders/8"} {
		w := httptest.NewRecorder()
		e.ServeHTTP(w, httptest.NewRequest("DELETE", target, nil))
		fmt.Println(strings.TrimSpace(fmt.Sprint(w.Code, " ", w.Header().Get("Content-Type"), " ", w.Body.String())))
	}
	// Output:
	// 204
	// 404 application/problem+json {"type":"about:blank","title":"Not Found","status":404,"detail":"no order 8","instance":"/orders/8"}
}
