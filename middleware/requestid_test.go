package middleware_test

import (
	"context"
	"encoding/json"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/middleware"
	"github.com/replicaflow/replicaflow/responses"
)

var generatedID = regexp.MustCompile(`^[0-9a-f]{32}$`)

func TestRequestID(t *testing.T) {
	tests := []struct {
		name     string
		incoming []string // X-Request-ID values sent
		keep     bool     // the first incoming value is kept
	}{
		{name: "missing"},
		{name: "uuid kept", incoming: []string{"0f8fad5b-d9cb-469f-a165-70867728950e"}, keep: true},
		{name: "safe characters kept", incoming: []string{"Root=1-5759e988:bd86.2e3f_e1be+46/a9"}, keep: true},
		{name: "longest kept", incoming: []string{strings.Repeat("a", middleware.MaxRequestIDLen)}, keep: true},
		{name: "too long replaced", incoming: []string{strings.Repeat("a", middleware.MaxRequestIDLen+1)}},
		{name: "empty replaced", incoming: []string{""}},
		{name: "space replaced", incoming: []string{"a b"}},
		{name: "markup replaced", incoming: []string{"<script>"}},
		{name: "quote replaced", incoming: []string{`a"b`}},
		{name: "non-ASCII replaced", incoming: []string{"é"}},
		{name: "first of two kept", incoming: []string{"one", "two"}, keep: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fromCtx, fromDerived, fromKey string
			e := newEngine(middleware.RequestID())
			e.GET("/", func(c *gin.Context) {
				fromCtx = middleware.RequestIDFrom(c)
				ctx, cancel := context.WithCancel(c)
				defer cancel()
				fromDerived = middleware.RequestIDFrom(ctx)
				fromKey, _ = ctx.Value(middleware.RequestIDKey).(string)
			})
			w := serve(e, "GET", "/", http.Header{responses.RequestIDHeader: tt.incoming})
			got := w.Header().Values(responses.RequestIDHeader)
			if len(got) != 1 {
				t.Fatalf("response has %d X-Request-ID headers, want 1", len(got))
			}
			id := got[0]
			if tt.keep && id != tt.incoming[0] {
				t.Errorf("ID = %q, want the incoming %q", id, tt.incoming[0])
			}
			if !tt.keep && !generatedID.MatchString(id) {
				t.Errorf("ID = %q, want 32 new hex digits", id)
			}
			if fromCtx != id || fromDerived != id || fromKey != id {
				t.Errorf("handler saw %q (ctx), %q (derived ctx), %q (ctx.Value); the answer has %q", fromCtx, fromDerived, fromKey, id)
			}
		})
	}
}

func TestRequestIDUnique(t *testing.T) {
	e := newEngine(middleware.RequestID())
	e.GET("/", func(*gin.Context) {})
	seen := map[string]bool{}
	for range 1000 {
		id := serve(e, "GET", "/", nil).Header().Get(responses.RequestIDHeader)
		if seen[id] {
			t.Fatalf("ID %q made twice", id)
		}
		seen[id] = true
	}
}

func TestRequestIDInProblem(t *testing.T) {
	e := newEngine(middleware.RequestID())
	e.GET("/", func(c *gin.Context) {
		responses.AbortWithProblem(c, responses.NewProblem(http.StatusTeapot, "no coffee", nil), nil)
	})
	w := serve(e, "GET", "/", http.Header{responses.RequestIDHeader: {"req-42"}})
	var p responses.Problem
	if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.RequestID != "req-42" {
		t.Fatalf("problem %+v (%v), want request_id req-42", p, err)
	}
}

func TestRequestIDFromElsewhere(t *testing.T) {
	if id := middleware.RequestIDFrom(context.Background()); id != "" {
		t.Errorf("RequestIDFrom(background) = %q, want empty", id)
	}
	//lint:ignore SA1012 a nil ctx is tested on purpose: RequestIDFrom returns "" for it.
	if id := middleware.RequestIDFrom(nil); id != "" {
		t.Errorf("RequestIDFrom(nil) = %q, want empty", id)
	}
	var got = "unset"
	e := newEngine()
	e.GET("/", func(c *gin.Context) { got = middleware.RequestIDFrom(c) })
	serve(e, "GET", "/", http.Header{responses.RequestIDHeader: {"abc"}})
	if got != "" {
		t.Errorf("without the middleware RequestIDFrom = %q, want empty", got)
	}
}

// nopWriter is a ResponseWriter that keeps headers only, so the benchmark
// measures the middleware rather than a recorder.
type nopWriter struct{ h http.Header }

func (w *nopWriter) Header() http.Header         { return w.h }
func (w *nopWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *nopWriter) WriteHeader(int)             {}

func BenchmarkRequestID(b *testing.B) {
	for _, bc := range []struct {
		name     string
		mw       []gin.HandlerFunc
		incoming string
	}{
		{name: "none"},
		{name: "generated", mw: []gin.HandlerFunc{middleware.RequestID()}},
		{name: "kept", mw: []gin.HandlerFunc{middleware.RequestID()}, incoming: "0f8fad5b-d9cb-469f-a165-70867728950e"},
	} {
		b.Run(bc.name, func(b *testing.B) {
			e := newEngine(bc.mw...)
			e.GET("/", func(*gin.Context) {})
			r, _ := http.NewRequest("GET", "/", nil)
			if bc.incoming != "" {
				r.Header.Set(responses.RequestIDHeader, bc.incoming)
			}
			w := &nopWriter{h: http.Header{}}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.h)
				e.ServeHTTP(w, r)
			}
		})
	}
}
