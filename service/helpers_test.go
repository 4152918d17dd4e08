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

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/scaling"
	"github.com/replicaflow/replicaflow/service"
)

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

// fast shortens the pool's control loop so scaling happens within a test.
func fast(down time.Duration) service.Option {
	return service.Pool(func(c *scaling.Config) {
		c.Tick = 10 * time.Millisecond
		c.LookBack = 30 * time.Millisecond
		c.UpscaleDelay = 30 * time.Millisecond
		c.DownscaleDelay = down
	})
}

// noQueue turns the pool's queue off: a request that finds no free slot is
// refused at once. (Options.Check refuses a negative MaxQueuedRequests and
// zero means the pool's default, so the pool's own setting is the way.)
func noQueue() service.Option {
	return service.Pool(func(c *scaling.Config) { c.MaxQueuedRequests = -1 })
}

// harness is an app with one service, served over real HTTP.
type harness struct {
	app *flow.Flow
	svc *service.Service
	url string
}

// serve builds an app with one service made from opts, lets declare add
// endpoints and dependencies, starts the services, waits for the initial
// replicas and serves the app from an httptest server. Everything stops
// when the test ends.
func serve(t *testing.T, log io.Writer, opts []service.Option, declare func(*service.Service)) *harness {
	t.Helper()
	app := flow.New(flow.Logger(logger(log)))
	svc := app.Service(opts...)
	declare(svc)
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatalf("start services: %v", err)
	}
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	waitFor(t, "the initial replicas", 5*time.Second, func() bool { return svc.Ready() == nil })
	return &harness{app: app, svc: svc, url: srv.URL}
}

// waitFor polls cond until it holds, failing the test after timeout.
func waitFor(t testing.TB, what string, timeout time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", timeout, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// result is one HTTP answer, or the error that kept it from coming.
type result struct {
	status int
	header http.Header
	body   string
	err    error
}

func (r result) String() string {
	if r.err != nil {
		return r.err.Error()
	}
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

// get sends a GET with ctx and reads the whole answer.
func get(ctx context.Context, url string) result {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return result{err: err}
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return result{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return result{status: res.StatusCode, header: res.Header, body: string(b), err: err}
}

// goGet sends a GET in the background; its result arrives on the channel.
func goGet(ctx context.Context, url string) <-chan result {
	ch := make(chan result, 1)
	go func() { ch <- get(ctx, url) }()
	return ch
}

// gates hold requests by ID until the test opens them.
type gates struct {
	mu      sync.Mutex
	m       map[string]chan struct{}
	entered chan string
}

func newGates() *gates {
	return &gates{m: map[string]chan struct{}{}, entered: make(chan string, 64)}
}

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
	ch := g.gate(id)
	g.entered <- id
	select {
	case <-ch:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (g *gates) open(id string) { close(g.gate(id)) }

// httptestServer serves app over HTTP until the test ends, and returns its
// URL. The app's services are shut down at the end.
func httptestServer(t *testing.T, app *flow.Flow) string {
	t.Helper()
	srv := httptest.NewServer(app.Handler())
	t.Cleanup(func() {
		srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		if err := app.Shutdown(ctx); err != nil {
			t.Errorf("shutdown: %v", err)
		}
	})
	return srv.URL
}
