package flow_test

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/responses"
)

// panicky is a field type whose JSON decoding panics, as a user's buggy
// UnmarshalJSON might on some input.
type panicky struct{}

func (*panicky) UnmarshalJSON([]byte) error { panic("bad decoder") }

type withPanicky struct {
	V panicky `json:"v"`
}

// TestAdapterEdgeCases checks answers the adapter once got wrong: a pointer
// request type skipped validation, a value JSON cannot encode gave an empty
// 200, and a panic while binding dropped the connection instead of a 500.
func TestAdapterEdgeCases(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)), flow.Metrics(""))
	svc := app.Service()
	flow.Endpoint(svc, "POST", "/ptr", func(ctx context.Context, in *item) (string, error) {
		if in == nil {
			return "null", nil
		}
		return in.Name, nil
	})
	flow.Endpoint(svc, "GET", "/nan", func(ctx context.Context, _ struct{}) (float64, error) { return math.NaN(), nil })
	flow.Endpoint(svc, "GET", "/nan-json", func(ctx context.Context, _ struct{}) (responses.JSON, error) {
		return responses.JSON{Body: math.Inf(1)}, nil
	})
	flow.Endpoint(svc, "POST", "/panicky", func(ctx context.Context, in withPanicky) (string, error) { return "ok", nil })
	c := flowtest.New(t, app)
	tests := []struct {
		name, method, path, body string
		status                   int
		location                 string
	}{
		{"pointer request is validated", "POST", "/ptr", `{"count": 1}`, 422, "body.name"},
		{"pointer request, valid", "POST", "/ptr", `{"name": "ada"}`, 200, ""},
		{"pointer request, null", "POST", "/ptr", `null`, 200, ""},
		{"unencodable value", "GET", "/nan", ``, 500, ""},
		{"unencodable responses.JSON", "GET", "/nan-json", ``, 500, ""},
		{"panic while binding", "POST", "/panicky", `{"v": 1}`, 500, ""},
		{"still serving", "POST", "/ptr", `{"name": "ada"}`, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			req.Header.Set("Content-Type", "application/json")
			res := c.Do(req)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			if tt.status < 400 {
				return
			}
			p := res.Problem()
			if p.Status != tt.status {
				t.Fatalf("problem %+v", p)
			}
			if tt.location != "" && (len(p.Errors) != 1 || p.Errors[0].Location != tt.location) {
				t.Fatalf("errors %+v, want one at %s", p.Errors, tt.location)
			}
		})
	}
}

func TestMiddlewarePanicIsProblem(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	svc := app.Service()
	svc.Use(func(c *gin.Context) {
		if c.Query("boom") != "" {
			panic("middleware bug")
		}
		c.Next()
	})
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "ok", nil })
	c := flowtest.New(t, app)
	if res := c.Get("/?boom=1"); res.Status != 500 || res.Problem().Detail != "the server failed to handle the request" {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
	if res := c.Get("/"); res.Status != 200 {
		t.Fatalf("after the panic: %d", res.Status)
	}
}

func TestBadBindingTagPanicsAtRegistration(t *testing.T) {
	mustPanic(t, "bad binding tag", func() {
		flow.Endpoint(flow.New().Service(), "POST", "/", func(ctx context.Context, in struct {
			Name string `json:"name" binding:"requird"`
		}) (none, error) {
			return none{}, nil
		})
	})
}

func TestNonErrorStatusIsGeneric500(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	flow.Endpoint(app.Service(), "GET", "/", func(ctx context.Context, _ none) (none, error) {
		return none{}, responses.Error(http.StatusOK, "secret internals")
	})
	res := flowtest.New(t, app).Get("/")
	if res.Status != 500 || strings.Contains(res.Text(), "secret") {
		t.Fatalf("%d %s", res.Status, res.Body)
	}
}
