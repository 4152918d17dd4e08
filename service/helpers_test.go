package service_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/hub"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

func init() { gin.SetMode(gin.TestMode) }

// none is an endpoint input with nothing to bind.
type none struct{}

// idQuery names a request, so a test can hold and release it.
type idQuery struct {
	ID string `query:"id"`
}

// logBuf collects logs, safe for concurrent use.
type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func logger(w io.Writer) *slog.Logger {
	if w == nil {
		w = io.Discard
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newService makes a service from opts, lets declare add its endpoints and
// dependencies, and attaches it the way a flow does, logging to log (nil:
// nowhere). It is not started.
func newService(log io.Writer, opts []service.Option, declare func(*service.Service)) *service.Service {
	svc := service.New(opts...)
	if declare != nil {
		declare(svc)
	}
	hub.AttachService(svc, hub.Attachment{Logger: logger(log)})
	return svc
}

// start starts svc and stops it when the test ends. It does not wait for
// the replicas: inside a synctest bubble, synctest.Wait does.
func start(t *testing.T, svc *service.Service) {
	t.Helper()
	if err := svc.Start(context.Background()); err != nil {
		t.Fatalf("start: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := svc.Stop(ctx); err != nil && svc.State() != service.Stopped {
			t.Errorf("stop: %v", err)
		}
	})
}

// result is one HTTP answer.
type result struct {
	status int
	header http.Header
	body   string
}

func (r result) String() string {
	return http.StatusText(r.status) + " " + strings.TrimSpace(r.body)
}

// problem decodes r as problem details, failing the test when it is not.
func (r result) problem(t *testing.T) responses.Problem {
	t.Helper()
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, responses.ProblemContentType) {
		t.Fatalf("want problem details, got %s: %s", ct, r)
	}
	var p responses.Problem
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("decode problem %q: %v", r.body, err)
	}
	return p
}

// get serves a GET of target with ctx through h, in memory.
func get(ctx context.Context, h http.Handler, target string) result {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequestWithContext(ctx, "GET", target, nil))
	return result{status: rec.Code, header: rec.Header(), body: rec.Body.String()}
}

// goGet serves a GET in the background; its result arrives on the channel.
func goGet(ctx context.Context, h http.Handler, target string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- get(ctx, h, target) }()
	return ch
}

// gates hold requests by ID until the test opens them.
type gates struct {
	mu sync.Mutex
	m  map[string]chan struct{}
}

func newGates() *gates { return &gates{m: map[string]chan struct{}{}} }

func (g *gates) gate(id string) chan struct{} {
	g.mu.Lock()
	defer g.mu.Unlock()
	ch, ok := g.m[id]
	if !ok {
		ch = make(chan struct{})
		g.m[id] = ch
	}
	return ch
}

// wait blocks a handler until its gate opens or its request ends.
func (g *gates) wait(ctx context.Context, id string) error {
	select {
	case <-g.gate(id):
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gates) open(id string) { close(g.gate(id)) }
