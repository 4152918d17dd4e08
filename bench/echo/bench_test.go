package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// discard is a ResponseWriter that keeps nothing, so that the benchmarks
// measure the server side only.
type discard struct {
	h    http.Header
	code int
}

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(p []byte) (int, error) { return len(p), nil }
func (d *discard) WriteHeader(code int)        { d.code = code }

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// reportCPU reports the process CPU time (user and system, every thread:
// the garbage collector's too) per iteration since start, as cpu-ns/op: on a
// busy machine it moves less than the wall time per iteration.
func reportCPU(b *testing.B, start time.Duration) {
	b.ReportMetric(float64(processCPU()-start)/float64(b.N), "cpu-ns/op")
}

// handlers returns every variant's handler, started, by name.
func handlers(b *testing.B) map[string]http.Handler {
	hs := map[string]http.Handler{}
	for _, v := range variants {
		if v.opts == nil {
			hs[v.name] = ginEngine()
			continue
		}
		app := newApp(v.opts...)
		if err := app.StartServices(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { app.Shutdown(context.Background()) })
		hs[v.name] = app.Handler()
	}
	return hs
}

// BenchmarkQuery is GET /query?count=42 (one query parameter bound into a
// struct, a JSON answer) through each variant in the same run.
func BenchmarkQuery(b *testing.B) {
	hs := handlers(b)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h := hs[v.name]
			req := httptest.NewRequest("GET", queryURL, nil)
			w := &discard{h: http.Header{}}
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			reportCPU(b, cpu)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}

// BenchmarkEcho is POST /echo (a JSON body decoded, validated and encoded
// back) through each variant in the same run.
func BenchmarkEcho(b *testing.B) {
	hs := handlers(b)
	for _, v := range variants {
		b.Run(v.name, func(b *testing.B) {
			h := hs[v.name]
			req := httptest.NewRequest("POST", echoPath, nil)
			req.Header.Set("Content-Type", "application/json")
			w := &discard{h: http.Header{}}
			body := bytes.NewReader(echoBody)
			b.ReportAllocs()
			cpu := processCPU()
			for b.Loop() {
				body.Reset(echoBody)
				req.Body = readCloser{body}
				clear(w.h)
				h.ServeHTTP(w, req)
			}
			reportCPU(b, cpu)
			if w.code != http.StatusOK {
				b.Fatalf("status %d", w.code)
			}
		})
	}
}
