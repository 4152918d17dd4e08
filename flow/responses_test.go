package flow_test

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
	"time"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/responses"
)

type none struct{}

func responsesApp(t *testing.T, logs io.Writer) *flow.Flow {
	dir := t.TempDir()
	file := filepath.Join(dir, "report.txt")
	os.WriteFile(file, []byte("file body"), 0o644)
	app := flow.New(flow.Logger(slogTo(logs)))
	svc := app.Service()
	flow.Endpoint(svc, "GET", "/json", func(ctx context.Context, _ none) (responses.JSON, error) {
		return responses.JSON{Status: 202, Header: http.Header{"X-A": {"1"}}, Body: map[string]int{"a": 1}}, nil
	})
	flow.Endpoint(svc, "GET", "/value", func(ctx context.Context, _ none) (map[string]string, error) {
		return map[string]string{"k": "v"}, nil
	})
	flow.Endpoint(svc, "POST", "/created", func(ctx context.Context, _ none) (string, error) {
		return "new", nil
	}, endpoint.Status(http.StatusCreated))
	flow.Endpoint(svc, "DELETE", "/gone", func(ctx context.Context, _ none) (any, error) {
		return nil, nil
	}, endpoint.Status(http.StatusNoContent))
	flow.Endpoint(svc, "GET", "/html", func(ctx context.Context, _ none) (responses.HTML, error) {
		return responses.HTML{Body: "<h1>hi</h1>"}, nil
	})
	flow.Endpoint(svc, "GET", "/text", func(ctx context.Context, _ none) (responses.PlainText, error) {
		return responses.PlainText{Body: "plain"}, nil
	})
	flow.Endpoint(svc, "GET", "/file", func(ctx context.Context, _ none) (responses.File, error) {
		return responses.File{Path: file}, nil
	})
	flow.Endpoint(svc, "GET", "/download", func(ctx context.Context, _ none) (responses.File, error) {
		return responses.File{Path: file, Name: "r.txt"}, nil
	})
	flow.Endpoint(svc, "GET", "/redirect", func(ctx context.Context, _ none) (responses.Redirect, error) {
		return responses.Redirect{URL: "/text"}, nil
	})
	flow.Endpoint(svc, "GET", "/stream", func(ctx context.Context, _ none) (responses.Streaming, error) {
		return responses.Stream("text/plain", func(yield func([]byte) bool) {
			for i := range 3 {
				if !yield(fmt.Appendf(nil, "chunk%d;", i)) {
					return
				}
			}
		}), nil
	})
	flow.Endpoint(svc, "GET", "/events", func(ctx context.Context, _ none) (responses.EventStream, error) {
		return responses.EventStream{Events: func(yield func(responses.Event) bool) {
			yield(responses.Event{Event: "tick", ID: "1", Data: map[string]int{"n": 1}})
			yield(responses.Event{Data: "bye"})
		}}, nil
	})
	flow.Endpoint(svc, "GET", "/error", func(ctx context.Context, _ none) (none, error) {
		return none{}, fmt.Errorf("loading: %w", responses.Error(http.StatusConflict, "already there"))
	})
	flow.Endpoint(svc, "GET", "/internal", func(ctx context.Context, _ none) (none, error) {
		return none{}, errors.New("db password is hunter2")
	})
	flow.Endpoint(svc, "GET", "/panic", func(ctx context.Context, _ none) (none, error) {
		panic("boom")
	})
	return app
}

func TestResponses(t *testing.T) {
	var logs bytes.Buffer
	c := flowtest.New(t, responsesApp(t, &logs))
	tests := []struct {
		path   string
		method string
		status int
		ct     string
		body   string
		header string // "Key: value" that must be present
	}{
		{"/json", "GET", 202, "application/json; charset=utf-8", `{"a":1}`, "X-A: 1"},
		{"/value", "GET", 200, "application/json; charset=utf-8", `{"k":"v"}`, ""},
		{"/created", "POST", 201, "application/json; charset=utf-8", `"new"`, ""},
		{"/gone", "DELETE", 204, "", ``, ""},
		{"/html", "GET", 200, "text/html; charset=utf-8", `<h1>hi</h1>`, ""},
		{"/text", "GET", 200, "text/plain; charset=utf-8", `plain`, ""},
		{"/file", "GET", 200, "text/plain; charset=utf-8", `file body`, ""},
		{"/download", "GET", 200, "text/plain; charset=utf-8", `file body`, `Content-Disposition: attachment; filename="r.txt"`},
		{"/redirect", "GET", 307, "text/html; charset=utf-8", `<a href="/text">Temporary Redirect</a>.`, "Location: /text"},
		{"/stream", "GET", 200, "text/plain", `chunk0;chunk1;chunk2;`, ""},
		{"/events", "GET", 200, "text/event-stream", "id:1\nevent:tick\ndata:{\"n\":1}\n\ndata:bye\n\n", "Cache-Control: no-cache"},
		{"/error", "GET", 409, responses.ProblemContentType, `already there`, ""},
		{"/internal", "GET", 500, responses.ProblemContentType, `the server failed to handle the request`, ""},
		{"/panic", "GET", 500, responses.ProblemContentType, `the server failed to handle the request`, ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			res := c.Request(tt.method, tt.path, nil)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			if ct := res.Header.Get("Content-Type"); ct != tt.ct {
				t.Fatalf("Content-Type %q, want %q", ct, tt.ct)
			}
			if tt.ct == responses.ProblemContentType {
				if p := res.Problem(); p.Detail != tt.body {
					t.Fatalf("detail %q, want %q", p.Detail, tt.body)
				}
			} else if got := strings.TrimSpace(res.Text()); got != strings.TrimSpace(tt.body) {
				t.Fatalf("body %q, want %q", got, tt.body)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if res.Header.Get(k) != v {
					t.Fatalf("%s: %q, want %q", k, res.Header.Get(k), v)
				}
			}
		})
	}
	if strings.Contains(logs.String(), "hunter2") == false || !strings.Contains(logs.String(), "boom") {
		t.Fatalf("internal errors and panics must be logged: %s", logs.String())
	}
	t.Run("the server keeps serving after a panic", func(t *testing.T) {
		if res := c.Get("/text"); res.Status != 200 {
			t.Fatalf("status %d", res.Status)
		}
	})
}

func TestStreamingStopsWhenClientGoesAway(t *testing.T) {
	pulled := make(chan int, 100)
	app := flow.New()
	flow.Endpoint(app.Service(), "GET", "/forever", func(ctx context.Context, _ none) (responses.Streaming, error) {
		var chunks iter.Seq[[]byte] = func(yield func([]byte) bool) {
			for i := 0; ; i++ {
				pulled <- i
				if !yield([]byte("x")) {
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}
		return responses.Streaming{Chunks: chunks}, nil
	})
	srv := httptest.NewServer(app.Handler())
	defer srv.Close()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", srv.URL+"/forever", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 1)
	if _, err := io.ReadFull(res.Body, buf); err != nil {
		t.Fatalf("first chunk: %v", err)
	}
	cancel()
	res.Body.Close()
	deadline := time.After(10 * time.Second)
	last := -1
	for {
		select {
		case i := <-pulled:
			last = i
		case <-time.After(500 * time.Millisecond):
			return // the producer stopped
		case <-deadline:
			t.Fatalf("the stream kept pulling chunks after the client left (last %d)", last)
		}
	}
}
