package endpoint_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
)

type none struct{}

type item struct {
	Name  string `json:"name" binding:"required"`
	Count int    `json:"count" binding:"min=0"`
}

// panicky is a field type whose JSON decoding panics, as a user's buggy
// UnmarshalJSON might on some input.
type panicky struct{}

func (*panicky) UnmarshalJSON([]byte) error { panic("bad decoder") }

type withPanicky struct {
	V panicky `json:"v"`
}

// adapterEndpoints covers every way the adapter answers.
func adapterEndpoints() []*endpoint.Endpoint {
	return []*endpoint.Endpoint{
		endpoint.New("GET", "/value", func(ctx context.Context, _ none) (map[string]string, error) {
			return map[string]string{"k": "v"}, nil
		}),
		endpoint.New("GET", "/json", func(ctx context.Context, _ none) (responses.JSON, error) {
			return responses.JSON{Status: 202, Header: http.Header{"X-A": {"1"}}, Body: map[string]int{"a": 1}}, nil
		}),
		endpoint.New("POST", "/created", func(ctx context.Context, _ none) (string, error) { return "new", nil },
			endpoint.Status(http.StatusCreated)),
		endpoint.New("DELETE", "/gone", func(ctx context.Context, _ none) (any, error) { return "ignored", nil },
			endpoint.Status(http.StatusNoContent)),
		endpoint.New("GET", "/items/{id}", func(ctx context.Context, in struct {
			ID int `path:"id"`
		}) (int, error) {
			return in.ID, nil
		}),
		endpoint.New("POST", "/ptr", func(ctx context.Context, in *item) (string, error) {
			if in == nil {
				return "null", nil
			}
			return in.Name, nil
		}),
		endpoint.New("GET", "/error", func(ctx context.Context, _ none) (none, error) {
			return none{}, fmt.Errorf("loading: %w", responses.Error(http.StatusConflict, "already there"))
		}),
		endpoint.New("GET", "/internal", func(ctx context.Context, _ none) (none, error) {
			return none{}, errors.New("db password is hunter2")
		}),
		endpoint.New("GET", "/success-status-error", func(ctx context.Context, _ none) (none, error) {
			return none{}, responses.Error(http.StatusOK, "secret internals")
		}),
		endpoint.New("GET", "/gone-client", func(ctx context.Context, _ none) (none, error) {
			return none{}, context.Canceled
		}),
		endpoint.New("GET", "/panic", func(ctx context.Context, _ none) (none, error) { panic("boom") }),
		endpoint.New("GET", "/nan", func(ctx context.Context, _ none) (float64, error) { return math.NaN(), nil }),
		endpoint.New("GET", "/nan-json", func(ctx context.Context, _ none) (responses.JSON, error) {
			return responses.JSON{Body: math.Inf(1)}, nil
		}),
		endpoint.New("POST", "/panicky", func(ctx context.Context, in withPanicky) (string, error) { return "ok", nil }),
		endpoint.New("POST", "/small", func(ctx context.Context, in map[string]string) (int, error) { return len(in), nil },
			endpoint.BodyLimit(16)),
		endpoint.New("POST", "/lenient", func(ctx context.Context, in item) (string, error) { return in.Name, nil }),
		endpoint.New("POST", "/strict", func(ctx context.Context, in item) (string, error) { return in.Name, nil },
			endpoint.RefuseUnknownFields()),
		endpoint.New("POST", "/invalid", func(ctx context.Context, _ none) (none, error) {
			return none{}, responses.Invalid("file.image", "not a PNG")
		}),
	}
}

// TestAdapter checks what a client gets from a typed function: its value,
// its chosen status, or problem details for its error, a bad input, a
// value JSON cannot encode, and a panic anywhere.
func TestAdapter(t *testing.T) {
	var logs bytes.Buffer
	host := newTestHost(1, &logs)
	e := serve(host, adapterEndpoints()...)
	tests := []struct {
		name, method, path, body string
		status                   int
		ct                       string
		want                     string // the body, or the problem's detail
		location                 string // the problem's only field error
		logged                   string
		freedFirst               bool // the slot was freed before the answer began
	}{
		{"a value is JSON", "GET", "/value", ``, 200, "application/json; charset=utf-8", `{"k":"v"}`, "", "", false},
		{"a response renders itself", "GET", "/json", ``, 202, "application/json; charset=utf-8", `{"a":1}`, "", "", false},
		{"the endpoint's status", "POST", "/created", ``, 201, "application/json; charset=utf-8", `"new"`, "", "", false},
		{"no content has no body", "DELETE", "/gone", ``, 204, "", ``, "", "", false},
		{"path parameter", "GET", "/items/7", ``, 200, "application/json; charset=utf-8", `7`, "", "", false},
		{"bad path parameter", "GET", "/items/x", ``, 422, responses.ProblemContentType, "the request did not validate", "path.id", "", false},
		{"pointer request is validated", "POST", "/ptr", `{"count": 1}`, 422, responses.ProblemContentType, "the request did not validate", "body.name", "", false},
		{"pointer request, valid", "POST", "/ptr", `{"name": "ada"}`, 200, "application/json; charset=utf-8", `"ada"`, "", "", false},
		{"a body of whitespace is no body", "POST", "/ptr", " \r\n\t", 422, responses.ProblemContentType, "the request did not validate", "body", "", false},
		{"pointer request, null", "POST", "/ptr", `null`, 200, "application/json; charset=utf-8", `"null"`, "", "", false},
		{"body over the limit", "POST", "/small", `{"a":"0123456789abcdef"}`, 413, responses.ProblemContentType, "", "", "", false},
		{"a chosen status", "GET", "/error", ``, 409, responses.ProblemContentType, "already there", "", "", false},
		{"an internal error leaks nothing", "GET", "/internal", ``, 500, responses.ProblemContentType,
			"the server failed to handle the request", "", "hunter2", false},
		{"a success status as an error is a 500", "GET", "/success-status-error", ``, 500, responses.ProblemContentType,
			"the server failed to handle the request", "", "secret internals", false},
		{"the client went away", "GET", "/gone-client", ``, 499, "", ``, "", "", false},
		{"a panic is a 500", "GET", "/panic", ``, 500, responses.ProblemContentType, "the server failed to handle the request", "", "boom", true},
		{"unencodable value", "GET", "/nan", ``, 500, responses.ProblemContentType, "the server failed to handle the request", "", "NaN", false},
		{"unencodable responses.JSON", "GET", "/nan-json", ``, 500, responses.ProblemContentType, "the server failed to handle the request", "", "+Inf", false},
		{"panic while binding", "POST", "/panicky", `{"v": 1}`, 500, responses.ProblemContentType, "the server failed to handle the request", "", "bad decoder", false},
		{"an unknown field is ignored", "POST", "/lenient", `{"name": "ada", "age": 36}`, 200, "application/json; charset=utf-8", `"ada"`, "", "", false},
		{"an unknown field is refused when asked", "POST", "/strict", `{"name": "ada", "age": 36}`, 422, responses.ProblemContentType, "the request did not validate", "body.age", "", false},
		{"a required zero value is a value", "POST", "/strict", `{"name": ""}`, 200, "application/json; charset=utf-8", `""`, "", "", false},
		{"a handler's field error", "POST", "/invalid", ``, 422, responses.ProblemContentType, "the request did not validate", "file.image", "", false},
		{"still serving", "POST", "/ptr", `{"name": "ada"}`, 200, "application/json; charset=utf-8", `"ada"`, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			logs.Reset()
			host.leftEarly = 0
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			w := httptest.NewRecorder()
			e.ServeHTTP(w, req)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.status, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); ct != tt.ct {
				t.Fatalf("Content-Type %q, want %q", ct, tt.ct)
			}
			if tt.ct == responses.ProblemContentType {
				var p responses.Problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.status || p.Instance != tt.path {
					t.Fatalf("problem %+v (%v)", p, err)
				}
				if tt.want != "" && p.Detail != tt.want {
					t.Fatalf("detail %q, want %q", p.Detail, tt.want)
				}
				if tt.location != "" && (len(p.Errors) != 1 || p.Errors[0].Location != tt.location) {
					t.Fatalf("errors %+v, want one at %s", p.Errors, tt.location)
				}
				if strings.Contains(w.Body.String(), "hunter2") || strings.Contains(w.Body.String(), "secret") {
					t.Fatalf("the answer leaks the error: %s", w.Body)
				}
			} else if got := strings.TrimSpace(w.Body.String()); got != tt.want {
				t.Fatalf("body %q, want %q", got, tt.want)
			}
			if tt.name == "a response renders itself" && w.Header().Get("X-A") != "1" {
				t.Fatalf("headers %v", w.Header())
			}
			if tt.logged != "" && !strings.Contains(logs.String(), tt.logged) {
				t.Fatalf("the log lacks %q: %s", tt.logged, logs.String())
			}
			if tt.logged == "" && logs.Len() != 0 {
				t.Fatalf("logged a client's error: %s", logs.String())
			}
			if host.inUse() != 0 {
				t.Fatal("the replica slot was not given back")
			}
			if tt.freedFirst && host.leftEarly != 1 {
				t.Fatal("the slot was given back after the answer began")
			}
		})
	}
}

func TestAdapterOverloaded(t *testing.T) {
	host := newTestHost(0, nil) // no slot ever free
	e := serve(host, endpoint.New("GET", "/", func(ctx context.Context, _ none) (string, error) { return "ran", nil }))
	w := httptest.NewRecorder()
	e.ServeHTTP(w, httptest.NewRequest("GET", "/", nil))
	var p responses.Problem
	json.Unmarshal(w.Body.Bytes(), &p)
	if w.Code != 503 || w.Header().Get("Retry-After") != "1" || p.Detail != "service overloaded: queue full" {
		t.Fatalf("%d Retry-After %q: %s", w.Code, w.Header().Get("Retry-After"), w.Body)
	}
}

func TestNewDescribes(t *testing.T) {
	ep := endpoint.New(" post ", "/users/{id}/files/{name}", func(ctx context.Context, in struct {
		ID   int    `path:"id"`
		Name string `path:"name"`
		Item item   `json:"item"`
	}) (item, error) {
		return in.Item, nil
	}, endpoint.Status(http.StatusCreated), endpoint.Summary("upload"), endpoint.Description("long"),
		endpoint.Tags("a", "b"), endpoint.OperationID("up"), endpoint.Deprecated(), endpoint.BodyLimit(-1))
	got := *ep
	if got.Method != "POST" || got.Route != "/users/:id/files/:name" || got.Status != 201 || got.Summary != "upload" ||
		got.Description != "long" || strings.Join(got.Tags, ",") != "a,b" || got.OperationID != "up" ||
		!got.Deprecated || got.BodyLimit != -1 || got.WebSocket {
		t.Fatalf("endpoint %+v", got)
	}
	if got.Response != reflect.TypeFor[item]() || got.Plan == nil || got.Plan.Type != got.Request || !got.Plan.HasBody {
		t.Fatalf("types %v %v, plan %+v", got.Request, got.Response, got.Plan)
	}
	if ep.String() != "POST /users/:id/files/:name" {
		t.Fatalf("String() = %q", ep.String())
	}
}

func TestNewPanics(t *testing.T) {
	type body struct {
		Name string `json:"name"`
	}
	type form struct {
		Name string `form:"name"`
	}
	type path struct {
		ID int `path:"id"`
	}
	ok := func(context.Context, none) (none, error) { return none{}, nil }
	ws := func(context.Context, none, *requests.WebSocket) error { return nil }
	tests := []struct {
		name string
		make func()
		want string
	}{
		{"nil handler", func() { endpoint.New[none, none]("GET", "/", nil) }, "nil handler"},
		{"method", func() { endpoint.New("G T", "/", ok) }, "must be an HTTP method"},
		{"relative route", func() { endpoint.New("GET", "items", ok) }, "must start with /"},
		{"missing path parameter", func() {
			endpoint.New("GET", "/", func(context.Context, path) (none, error) { return none{}, nil })
		}, `path parameter "id"`},
		{"request type that cannot bind", func() {
			endpoint.New("POST", "/", func(context.Context, struct {
				A string `json:"a"`
				B string `form:"b"`
			}) (none, error) {
				return none{}, nil
			})
		}, "mixes form/file fields with JSON body fields"},
		{"an option in a binding tag", func() {
			endpoint.New("GET", "/", func(ctx context.Context, in struct {
				Page int `query:"page,default=1"`
			}) (none, error) {
				return none{}, nil
			})
		}, `replicaflow: endpoint GET /: struct { Page int "query:\"page,default=1\"" }.Page: unknown option "default=1"`},
		{"bad binding tag", func() {
			endpoint.New("POST", "/", func(ctx context.Context, in struct {
				Name string `json:"name" binding:"requird"`
			}) (none, error) {
				return none{}, nil
			})
		}, "bad binding tag"},
		{"status", func() { endpoint.Status(99) }, "is not an HTTP status"},
		{"WebSocket option on an HTTP endpoint", func() { endpoint.New("GET", "/", ok, endpoint.ReadLimit(10)) }, "WebSocket endpoints only"},
		{"WebSocket: body field", func() {
			endpoint.NewWebSocket("/", func(context.Context, body, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"WebSocket: form field", func() {
			endpoint.NewWebSocket("/", func(context.Context, form, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"WebSocket: whole body", func() {
			endpoint.NewWebSocket("/", func(context.Context, string, *requests.WebSocket) error { return nil })
		}, "no body"},
		{"WebSocket: missing path parameter", func() {
			endpoint.NewWebSocket("/", func(context.Context, path, *requests.WebSocket) error { return nil })
		}, `path parameter "id"`},
		{"WebSocket: relative route", func() { endpoint.NewWebSocket("ws", ws) }, "must start with /"},
		{"WebSocket: nil handler", func() { endpoint.NewWebSocket[none]("/", nil) }, "nil handler"},
		{"WebSocket: bad origin pattern", func() { endpoint.NewWebSocket("/", ws, endpoint.AllowOrigins("[")) }, "bad pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { testutil.MustPanic(t, tt.want, tt.make) })
	}
}
