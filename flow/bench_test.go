package flow_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
)

// echo is the JSON echo benchmark's payload.
type echo struct {
	Name  string   `json:"name" binding:"required"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

var echoBody = []byte(`{"name":"replicaflow","count":42,"tags":["a","b","c"]}`)

// discard is a ResponseWriter that forgets what it is given, so the
// benchmark measures the server side only.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

func benchHandler(b *testing.B, h http.Handler) {
	req := httptest.NewRequest("POST", "/echo", nil)
	req.Header.Set("Content-Type", "application/json")
	w := &discard{h: http.Header{}}
	body := bytes.NewReader(echoBody)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		body.Reset(echoBody)
		req.Body = readCloser{body}
		clear(w.h)
		h.ServeHTTP(w, req)
	}
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

func rawGin() http.Handler {
	e := gin.New()
	e.POST("/echo", func(c *gin.Context) {
		var in echo
		if err := c.ShouldBindJSON(&in); err != nil {
			c.JSON(http.StatusBadRequest, gin.H{"error": err.Error()})
			return
		}
		c.JSON(http.StatusOK, in)
	})
	return e
}

func typedEcho(opts ...flow.Option) *flow.Flow {
	app := flow.New(opts...)
	flow.Endpoint(app.Service(), "POST", "/echo", func(ctx context.Context, in echo) (echo, error) {
		return in, nil
	})
	return app
}

// BenchmarkEcho compares the typed JSON echo endpoint with a raw gin handler
// doing the same decode, validation and encode, in the same run.
func BenchmarkEcho(b *testing.B) {
	b.Run("gin", func(b *testing.B) { benchHandler(b, rawGin()) })
	for _, v := range []struct {
		name string
		opts []flow.Option
	}{
		{"replicaflow", []flow.Option{flow.Metrics("")}},
		{"replicaflow+metrics", nil},
	} {
		b.Run(v.name, func(b *testing.B) {
			app := typedEcho(append(v.opts, flow.Logger(slogTo(nil)))...)
			if err := app.StartServices(context.Background()); err != nil {
				b.Fatal(err)
			}
			defer app.Shutdown(context.Background())
			benchHandler(b, app)
		})
	}
}
