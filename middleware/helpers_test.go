package middleware_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
)

func init() { gin.SetMode(gin.TestMode) }

// newEngine returns a gin engine set up as replicaflow's services are: the
// *gin.Context is the handler's ctx, and its context falls back to the
// request's.
func newEngine(mw ...gin.HandlerFunc) *gin.Engine {
	e := gin.New()
	e.ContextWithFallback = true
	e.HandleMethodNotAllowed = true
	e.Use(mw...)
	return e
}

// serve runs one request through h.
func serve(h http.Handler, method, target string, header http.Header) *httptest.ResponseRecorder {
	r := httptest.NewRequest(method, target, nil)
	for k, vs := range header {
		for _, v := range vs {
			r.Header.Add(k, v)
		}
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// mustPanic runs f and fails unless it panics with a message that starts with
// "replicaflow: " and contains want.
func mustPanic(t *testing.T, want string, f func()) {
	t.Helper()
	defer func() {
		t.Helper()
		v := recover()
		msg, ok := v.(string)
		if !ok {
			t.Fatalf("panic value = %#v, want a string containing %q", v, want)
		}
		if !strings.HasPrefix(msg, "replicaflow: ") || !strings.Contains(msg, want) {
			t.Fatalf("panic %q, want a \"replicaflow: \" message containing %q", msg, want)
		}
	}()
	f()
}
