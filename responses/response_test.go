package responses_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"iter"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/responses"
)

// render serves r as an endpoint whose success status is status does.
func render(r responses.Response, status int, target string) *httptest.ResponseRecorder {
	e := gin.New()
	e.GET("/*any", func(c *gin.Context) { r.Render(c, status) })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", target, nil))
	return w
}

func TestRender(t *testing.T) {
	file := filepath.Join(t.TempDir(), "report.txt")
	if err := os.WriteFile(file, []byte("file body"), 0o644); err != nil {
		t.Fatal(err)
	}
	chunks := func(yield func([]byte) bool) {
		for i := range 3 {
			if !yield(fmt.Appendf(nil, "chunk%d;", i)) {
				return
			}
		}
	}
	events := func(yield func(responses.Event) bool) {
		if yield(responses.Event{Event: "tick", ID: "1", Retry: 500, Data: map[string]int{"n": 1}}) {
			yield(responses.Event{Data: "bye"})
		}
	}
	tests := []struct {
		name   string
		r      responses.Response
		status int // the endpoint's
		code   int
		ct     string
		body   string
		header string // "Key: value" that must be present
	}{
		{"JSON with its own status", responses.JSON{Status: 202, Header: http.Header{"X-A": {"1"}}, Body: map[string]int{"a": 1}}, 200,
			202, "application/json; charset=utf-8", `{"a":1}`, "X-A: 1"},
		{"JSON with the endpoint's status", responses.JSON{Body: []int{1}}, 201, 201, "application/json; charset=utf-8", `[1]`, ""},
		{"HTML", responses.HTML{Body: "<h1>hi</h1>", Header: http.Header{"X-B": {"2"}}}, 200, 200, "text/html; charset=utf-8", `<h1>hi</h1>`, "X-B: 2"},
		{"PlainText", responses.PlainText{Status: 418, Body: "plain"}, 200, 418, "text/plain; charset=utf-8", `plain`, ""},
		{"File", responses.File{Path: file}, 200, 200, "text/plain; charset=utf-8", `file body`, ""},
		{"File as an attachment", responses.File{Path: file, Name: "r.txt"}, 200, 200, "text/plain; charset=utf-8", `file body`,
			`Content-Disposition: attachment; filename="r.txt"`},
		{"missing File", responses.File{Path: filepath.Join(t.TempDir(), "nope")}, 200, 404, "application/problem+json",
			`{"type":"about:blank","title":"Not Found","status":404,"detail":"no such file","instance":"/x"}`, ""},
		{"a directory as File", responses.File{Path: t.TempDir()}, 200, 404, "application/problem+json",
			`{"type":"about:blank","title":"Not Found","status":404,"detail":"no such file","instance":"/x"}`, ""},
		{"Reply with the endpoint's status", responses.Reply[[]int]{Header: http.Header{"Location": {"/l/1"}}, Body: []int{1}}, 201,
			201, "application/json; charset=utf-8", `[1]`, "Location: /l/1"},
		{"Reply with its own status", responses.Reply[map[string]int]{Status: 202, Body: map[string]int{"a": 1}}, 200,
			202, "application/json; charset=utf-8", `{"a":1}`, ""},
		{"File from bytes, typed", responses.File{Reader: bytes.NewReader([]byte("a,b\n")), ContentType: "text/csv"}, 200, 200,
			"text/csv", "a,b", "Accept-Ranges: bytes"},
		{"File from bytes, typed by its name", responses.File{Reader: bytes.NewReader([]byte("x")), Name: "r.txt"}, 200, 200,
			"text/plain; charset=utf-8", "x", `Content-Disposition: attachment; filename=r.txt`},
		{"File from a plain reader", responses.File{Reader: strings.NewReader("stream")}, 200, 200,
			"text/plain; charset=utf-8", "stream", ""},
		{"File from a plain reader, untyped", responses.File{Reader: io.MultiReader(strings.NewReader("raw"))}, 201, 201,
			"application/octet-stream", "raw", ""},
		{"File from a plain reader, typed by its name", responses.File{Reader: io.MultiReader(strings.NewReader("{}")), Name: "d.json"}, 200, 200,
			"application/json", "{}", `Content-Disposition: attachment; filename=d.json`},
		{"Redirect keeps the method", responses.Redirect{URL: "/text"}, 200, 307, "text/html; charset=utf-8", `<a href="/text">Temporary Redirect</a>.`,
			"Location: /text"},
		{"Redirect with a status", responses.Redirect{URL: "/new", Status: 301}, 200, 301, "text/html; charset=utf-8", `<a href="/new">Moved Permanently</a>.`,
			"Location: /new"},
		{"Stream", responses.Stream("text/plain", chunks), 200, 200, "text/plain", `chunk0;chunk1;chunk2;`, ""},
		{"Streaming's default type", responses.Streaming{Chunks: chunks, Header: http.Header{"X-C": {"3"}}}, 200, 200, "application/octet-stream",
			`chunk0;chunk1;chunk2;`, "X-C: 3"},
		{"EventStream", responses.EventStream{Events: events}, 200, 200, "text/event-stream",
			"id:1\nevent:tick\nretry:500\ndata:{\"n\":1}\n\ndata:bye\n\n", "Cache-Control: no-cache"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := render(tt.r, tt.status, "/x")
			if w.Code != tt.code {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.code, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.ct {
				t.Fatalf("Content-Type %q, want %q", ct, tt.ct)
			}
			if got := strings.TrimSpace(w.Body.String()); got != strings.TrimSpace(tt.body) {
				t.Fatalf("body %q, want %q", got, tt.body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if w.Header().Get(k) != v {
					t.Fatalf("%s: %q, want %q", k, w.Header().Get(k), v)
				}
			}
		})
	}
}

// A File from a reader that can seek answers ranges; one from a reader
// that fails midway is recorded as the render's error.
func TestFileFromReader(t *testing.T) {
	e := gin.New()
	e.GET("/r", func(c *gin.Context) {
		responses.File{Reader: bytes.NewReader([]byte("0123456789")), ContentType: "text/plain"}.Render(c, 200)
	})
	var renderErr error
	e.GET("/broken", func(c *gin.Context) {
		responses.File{Reader: io.MultiReader(strings.NewReader("part"), iotest.ErrReader(errors.New("disk gone")))}.Render(c, 200)
		renderErr = c.Errors.Last()
	})
	req := httptest.NewRequest("GET", "/r", nil)
	req.Header.Set("Range", "bytes=2-4")
	w := httptest.NewRecorder()
	e.ServeHTTP(w, req)
	if w.Code != http.StatusPartialContent || w.Body.String() != "234" {
		t.Fatalf("range: %d %q, want 206 \"234\"", w.Code, w.Body)
	}
	w = httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/broken", nil))
	if renderErr == nil || !strings.Contains(renderErr.Error(), "disk gone") {
		t.Fatalf("a failing reader's error was not recorded: %v", renderErr)
	}
}

// TestStreamsStopWhenClientGoesAway checks that a stream that would never
// end stops pulling as soon as its client leaves.
func TestStreamsStopWhenClientGoesAway(t *testing.T) {
	forever := func(yield func([]byte) bool) {
		for yield([]byte("x")) {
			time.Sleep(time.Millisecond) // pace the producer
		}
	}
	tests := []struct {
		name string
		r    responses.Response
	}{
		{"Streaming", responses.Streaming{Chunks: iter.Seq[[]byte](forever)}},
		{"EventStream", responses.EventStream{Events: func(yield func(responses.Event) bool) {
			for c := range forever {
				if !yield(responses.Event{Data: string(c)}) {
					return
				}
			}
		}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			returned := make(chan struct{})
			e := gin.New()
			e.GET("/", func(c *gin.Context) {
				defer close(returned)
				tt.r.Render(c, http.StatusOK)
			})
			srv := httptest.NewServer(e)
			defer srv.Close()
			ctx, cancel := context.WithCancel(context.Background())
			req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL, nil)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := io.ReadFull(res.Body, make([]byte, 1)); err != nil {
				t.Fatalf("first chunk: %v", err)
			}
			cancel()
			res.Body.Close()
			select {
			case <-returned:
			case <-time.After(10 * time.Second):
				t.Fatal("the stream kept going after its client left")
			}
		})
	}
}
