package endpoint_test

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/replicaflow/replicaflow/endpoint"
)

type echo struct {
	Name  string   `json:"name" binding:"required"`
	Count int      `json:"count"`
	Tags  []string `json:"tags"`
}

// discard is a ResponseWriter that forgets what it is given, so that the
// benchmark measures the server side only.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(int)             {}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// BenchmarkEcho is the adapter's share of the JSON echo: take the body's
// share of the budget, bind, enter a slot, call, render, leave.
func BenchmarkEcho(b *testing.B) {
	body := []byte(`{"name":"replicaflow","count":42,"tags":["a","b","c"]}`)
	host := newTestHost(1, nil)
	host.budget = endpoint.NewBudget(32 << 20) // as a service's default
	e := serve(host, endpoint.New("POST", "/echo", func(ctx context.Context, in echo) (echo, error) { return in, nil }))
	req := httptest.NewRequest("POST", "/echo", nil)
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = int64(len(body))
	w := &discard{h: http.Header{}}
	r := bytes.NewReader(body)
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(body)
		req.Body = readCloser{r}
		clear(w.h)
		e.ServeHTTP(w, req)
	}
}
