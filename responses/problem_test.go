package responses_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

func init() { gin.SetMode(gin.TestMode) }

// conflict is a user's error type that chooses its status.
type conflict struct{ name string }

func (e conflict) Error() string   { return "replicaflow: " + e.name + " already exists" }
func (e conflict) StatusCode() int { return http.StatusConflict }

// overloaded says when to come back, as the replica pool's errors do.
type overloaded struct{ wait time.Duration }

func (e overloaded) Error() string             { return "replicaflow: service overloaded: queue full" }
func (e overloaded) RetryAfter() time.Duration { return e.wait }

// rateLimited chooses its status and says when to come back.
type rateLimited struct{}

func (rateLimited) Error() string             { return "slow down" }
func (rateLimited) StatusCode() int           { return http.StatusTooManyRequests }
func (rateLimited) RetryAfter() time.Duration { return 1500 * time.Millisecond }

func TestProblemFor(t *testing.T) {
	fields := []requests.FieldError{{Location: "query.q", Message: "is required", Rule: "required"}}
	tests := []struct {
		name       string
		err        error
		status     int
		detail     string
		retryAfter string
		header     string // "Key: value" that must be among the headers
		fields     int
		internal   bool
	}{
		{"HTTPError", responses.Error(http.StatusNotFound, "no order 7"), 404, "no order 7", "", "", 0, false},
		{"wrapped HTTPError", fmt.Errorf("loading: %w", responses.Error(http.StatusConflict, "already there")), 409, "already there", "", "", 0, false},
		{"HTTPError with headers", &responses.HTTPError{Status: 401, Detail: "who are you", Header: http.Header{"Www-Authenticate": {"Bearer"}}},
			401, "who are you", "", "Www-Authenticate: Bearer", 0, false},
		{"Errorf keeps the formatted text", responses.Errorf(http.StatusBadGateway, "upstream: %w", errors.New("refused")), 502, "upstream: refused", "", "", 0, true},
		{"HTTPError with a success status", responses.Error(http.StatusOK, "secret internals"), 500, "the server failed to handle the request", "", "", 0, true},
		{"HTTPError with an informational status", responses.Error(http.StatusContinue, "secret"), 500, "the server failed to handle the request", "", "", 0, true},
		{"requests.Error", &requests.Error{Status: 422, Detail: "the request did not validate", Fields: fields}, 422, "the request did not validate", "", "", 1, false},
		{"a user's StatusError, without the module prefix", fmt.Errorf("saving: %w", conflict{"ada"}), 409, "saving: ada already exists", "", "", 0, false},
		{"RetryAfterError, rounded up", overloaded{1500 * time.Millisecond}, 503, "service overloaded: queue full", "2", "", 0, false},
		{"RetryAfterError under a second", overloaded{time.Millisecond}, 503, "service overloaded: queue full", "1", "", 0, false},
		{"StatusError that says when", rateLimited{}, 429, "slow down", "2", "", 0, false},
		{"deadline", fmt.Errorf("query: %w", context.DeadlineExceeded), 504, "the request took too long", "", "", 0, true},
		{"client gone", context.Canceled, 499, "the client closed the request", "", "", 0, false},
		{"unknown error", errors.New("connection refused by the database"), 500, "the server failed to handle the request", "", "", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, h, internal := responses.ProblemFor(tt.err)
			if p.Status != tt.status || p.Detail != tt.detail || internal != tt.internal || len(p.Errors) != tt.fields {
				t.Fatalf("ProblemFor = %+v internal=%v, want %d %q internal=%v", p, internal, tt.status, tt.detail, tt.internal)
			}
			if p.Type != "about:blank" || p.Title == "" {
				t.Fatalf("type %q title %q", p.Type, p.Title)
			}
			if got := h.Get("Retry-After"); got != tt.retryAfter {
				t.Fatalf("Retry-After %q, want %q", got, tt.retryAfter)
			}
			if tt.header != "" {
				k, v, _ := strings.Cut(tt.header, ": ")
				if h.Get(k) != v {
					t.Fatalf("%s: %q, want %q", k, h.Get(k), v)
				}
			}
		})
	}
}

func TestRetryAfter(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{-time.Second, "1"},
		{0, "1"},
		{time.Millisecond, "1"},
		{time.Second, "1"},
		{1001 * time.Millisecond, "2"},
		{1500 * time.Millisecond, "2"},
		{5 * time.Second, "5"},
		{90 * time.Second, "90"},
	}
	for _, tt := range tests {
		if got := responses.RetryAfter(tt.d).Get("Retry-After"); got != tt.want {
			t.Errorf("RetryAfter(%s) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestNewProblemTitles(t *testing.T) {
	tests := []struct {
		status int
		title  string
	}{
		{404, "Not Found"},
		{503, "Service Unavailable"},
		{499, "Client Closed Request"},
		{599, "Status 599"},
	}
	for _, tt := range tests {
		if p := responses.NewProblem(tt.status, "d", nil); p.Title != tt.title || p.Status != tt.status || p.Detail != "d" {
			t.Errorf("NewProblem(%d) = %+v, want title %q", tt.status, p, tt.title)
		}
	}
}

func decodeProblem(t *testing.T, body []byte) responses.Problem {
	t.Helper()
	var p responses.Problem
	if err := json.Unmarshal(body, &p); err != nil {
		t.Fatalf("not problem details: %v: %s", err, body)
	}
	return p
}

func TestWriteProblem(t *testing.T) {
	tests := []struct {
		name     string
		req      *http.Request
		before   http.Header // already on the answer
		problem  responses.Problem
		extra    http.Header
		headers  map[string]string
		instance string
		reqID    string
	}{
		{
			name:    "an error",
			req:     httptest.NewRequest("GET", "/orders/7?x=1", nil),
			before:  http.Header{"X-Request-Id": {"r-1"}, "Cache-Control": {"public"}},
			problem: responses.NewProblem(404, "no order 7", nil),
			headers: map[string]string{"Content-Type": responses.ProblemContentType, "X-Content-Type-Options": "nosniff",
				"Cache-Control": "no-store"},
			instance: "/orders/7", reqID: "r-1",
		},
		{
			name:     "extra headers replace",
			req:      httptest.NewRequest("GET", "/busy", nil),
			before:   http.Header{"Retry-After": {"100"}},
			problem:  responses.NewProblem(503, "busy", nil),
			extra:    responses.RetryAfter(2 * time.Second),
			headers:  map[string]string{"Retry-After": "2", "Cache-Control": "no-store"},
			instance: "/busy",
		},
		{
			name:     "a given instance and ID stay",
			req:      httptest.NewRequest("GET", "/x", nil),
			before:   http.Header{"X-Request-Id": {"r-2"}},
			problem:  responses.Problem{Type: "about:blank", Title: "Conflict", Status: 409, Instance: "/orders/7", RequestID: "mine"},
			headers:  map[string]string{"Content-Type": responses.ProblemContentType},
			instance: "/orders/7", reqID: "mine",
		},
		{
			name:    "no request",
			problem: responses.NewProblem(502, "bad gateway", nil),
			headers: map[string]string{"Content-Type": responses.ProblemContentType},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := httptest.NewRecorder()
			for k, vs := range tt.before {
				w.Header()[k] = vs
			}
			responses.WriteProblem(w, tt.req, tt.problem, tt.extra)
			if w.Code != tt.problem.Status {
				t.Fatalf("status %d, want %d", w.Code, tt.problem.Status)
			}
			for k, v := range tt.headers {
				if got := w.Header().Values(k); len(got) != 1 || got[0] != v {
					t.Fatalf("%s: %q, want only %q", k, got, v)
				}
			}
			p := decodeProblem(t, w.Body.Bytes())
			if p.Status != tt.problem.Status || p.Detail != tt.problem.Detail || p.Instance != tt.instance || p.RequestID != tt.reqID {
				t.Fatalf("problem %+v, want instance %q and request ID %q", p, tt.instance, tt.reqID)
			}
		})
	}
}

func TestAbortWithProblemStopsTheChain(t *testing.T) {
	e := gin.New()
	reached := false
	e.GET("/", func(c *gin.Context) {
		responses.AbortWithProblem(c, responses.NewProblem(http.StatusForbidden, "not you", nil), nil)
	}, func(c *gin.Context) { reached = true })
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	if w.Code != 403 || reached || decodeProblem(t, w.Body.Bytes()).Detail != "not you" {
		t.Fatalf("%d reached=%v %s", w.Code, reached, w.Body)
	}
}

func TestRecover(t *testing.T) {
	var logs bytes.Buffer
	e := gin.New()
	e.Use(func(c *gin.Context) { c.Header(responses.RequestIDHeader, "r-9"); c.Next() })
	e.Use(responses.Recover(slog.New(slog.NewTextHandler(&logs, nil))))
	e.GET("/boom", func(*gin.Context) { panic("middleware bug") })
	e.GET("/late", func(c *gin.Context) {
		c.String(http.StatusAccepted, "half")
		panic("after the answer")
	})
	e.GET("/ok", func(c *gin.Context) { c.String(http.StatusOK, "ok") })
	tests := []struct {
		path   string
		status int
		body   string
		logged string
	}{
		{"/boom", 500, "the server failed to handle the request", "middleware bug"},
		{"/late", 202, "half", "after the answer"},
		{"/ok", 200, "ok", ""},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			logs.Reset()
			w := httptest.NewRecorder()
			e.ServeHTTP(w, httptest.NewRequest("GET", tt.path, nil))
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			body := w.Body.String()
			if w.Header().Get("Content-Type") == responses.ProblemContentType {
				p := decodeProblem(t, w.Body.Bytes())
				body = p.Detail
				if p.RequestID != "r-9" || p.Instance != tt.path {
					t.Fatalf("problem %+v", p)
				}
			}
			if body != tt.body {
				t.Fatalf("body %q, want %q", body, tt.body)
			}
			if tt.logged == "" {
				if logs.Len() != 0 {
					t.Fatalf("logged %s", logs.String())
				}
				return
			}
			if log := logs.String(); !strings.Contains(log, tt.logged) || !strings.Contains(log, "request_id=r-9") || !strings.Contains(log, "stack=") {
				t.Fatalf("log %s, want the panic, the request ID and the stack", log)
			}
		})
	}
}

func TestHandlePanicLeavesAbortHandler(t *testing.T) {
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = httptest.NewRequest("GET", "/", nil)
	defer func() {
		if p := recover(); p != http.ErrAbortHandler {
			t.Fatalf("recovered %v, want http.ErrAbortHandler panicking on", p)
		}
	}()
	responses.HandlePanic(c, slog.New(slog.DiscardHandler), http.ErrAbortHandler)
}

func TestStatusErrorContract(t *testing.T) {
	var (
		_ responses.StatusError     = (*responses.HTTPError)(nil)
		_ responses.StatusError     = (*requests.Error)(nil)
		_ responses.RetryAfterError = overloaded{}
	)
	err := responses.Error(http.StatusTeapot, "no coffee")
	var se responses.StatusError
	if !errors.As(fmt.Errorf("brewing: %w", err), &se) || se.StatusCode() != http.StatusTeapot {
		t.Fatalf("a wrapped HTTPError is not found as a StatusError: %v", se)
	}
	cause := errors.New("boiler")
	if !errors.Is(responses.Errorf(500, "brewing: %w", cause), cause) {
		t.Fatal("Errorf does not keep its cause")
	}
}

func TestInvalid(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want []requests.FieldError
	}{
		{"one field", responses.Invalid("file.image", "not a PNG"),
			[]requests.FieldError{{Location: "file.image", Message: "not a PNG"}}},
		{"several fields", fmt.Errorf("checking: %w", responses.Invalid("body.start", "must be before end", "body.end", "must be after start")),
			[]requests.FieldError{{Location: "body.start", Message: "must be before end"}, {Location: "body.end", Message: "must be after start"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, _, internal := responses.ProblemFor(tt.err)
			if p.Status != http.StatusUnprocessableEntity || internal || !reflect.DeepEqual(p.Errors, tt.want) {
				t.Fatalf("problem %+v (internal %v), want 422 with %+v", p, internal, tt.want)
			}
		})
	}
	testutil.MustPanic(t, "replicaflow: responses.Invalid wants location, message pairs", func() {
		//lint:ignore SA5012 the odd count is the point: it must panic
		_ = responses.Invalid("body.a", "bad", "body.b")
	})
}
