package flowtest

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

func init() { gin.SetMode(gin.TestMode) }

type none struct{}

type user struct {
	Name string `json:"name"`
	Age  int    `json:"age"`
}

type whoIn struct {
	Session string `cookie:"session"`
	Trace   string `header:"X-Trace"`
}

type nameIn struct {
	ID   int    `path:"id"`
	Name string `json:"name"`
}

type formIn struct {
	Name string `form:"name"`
}

type uploadIn struct {
	Title string                 `form:"title"`
	Doc   *requests.UploadFile   `file:"doc"`
	Extra []*requests.UploadFile `file:"extra"`
}

// testApp has endpoints for each kind of request the client sends.
func testApp(t *testing.T) *flow.Flow {
	app := flow.New(flow.Logger(Logger(t)))
	svc := app.Service(service.Name("users"), service.BaseRoute("/users"))
	flow.Endpoint(svc, "POST", "/login", func(context.Context, none) (responses.JSON, error) {
		h := http.Header{}
		h.Add("Set-Cookie", (&http.Cookie{Name: "session", Value: "s1", Path: "/"}).String())
		return responses.JSON{Header: h, Body: user{Name: "ada"}}, nil
	})
	flow.Endpoint(svc, "GET", "/me", func(_ context.Context, in whoIn) (string, error) {
		return in.Session + "|" + in.Trace, nil
	})
	flow.Endpoint(svc, "PUT", "/{id}", func(_ context.Context, in nameIn) (user, error) {
		return user{Name: "put " + in.Name, Age: in.ID}, nil
	})
	flow.Endpoint(svc, "PATCH", "/{id}", func(_ context.Context, in nameIn) (user, error) {
		return user{Name: "patch " + in.Name, Age: in.ID}, nil
	})
	flow.Endpoint(svc, "DELETE", "/{id}", func(context.Context, nameIn) (*user, error) {
		return nil, nil
	}, endpoint.Status(http.StatusNoContent))
	flow.Endpoint(svc, "POST", "/form", func(_ context.Context, in formIn) (user, error) {
		return user{Name: in.Name}, nil
	})
	flow.Endpoint(svc, "POST", "/upload", func(_ context.Context, in uploadIn) (user, error) {
		return user{Name: in.Title + ":" + in.Doc.Filename + ":" + in.Doc.ContentType, Age: int(in.Doc.Size) + len(in.Extra)}, nil
	})
	flow.Endpoint(svc, "GET", "/missing", func(context.Context, none) (user, error) {
		return user{}, responses.Error(http.StatusNotFound, "no such user")
	}, endpoint.Errors(http.StatusNotFound))
	flow.Endpoint(svc, "GET", "/teapot", func(context.Context, none) (user, error) {
		return user{}, responses.Error(http.StatusTeapot, "short and stout")
	})
	flow.Endpoint(svc, "GET", "/picture", func(context.Context, none) (responses.Streaming, error) {
		return responses.Stream("text/plain", slices.Values([][]byte{[]byte("not a png")})), nil
	}, endpoint.ContentType("image/png"))
	flow.Endpoint(svc, "GET", "/old", func(context.Context, none) (responses.Redirect, error) {
		return responses.Redirect{URL: "/users/me"}, nil
	}, endpoint.Status(http.StatusMovedPermanently))
	flow.Endpoint(svc, "GET", "/elsewhere", func(context.Context, none) (responses.Redirect, error) {
		return responses.Redirect{URL: "/users/me"}, nil
	})
	flow.Endpoint(svc, "GET", "/moved", func(context.Context, none) (responses.Redirect, error) {
		return responses.Redirect{URL: "/users/me", Status: http.StatusMovedPermanently}, nil
	})
	return app
}

func TestMethodsHeadersCookies(t *testing.T) {
	c := New(t, testApp(t))
	if res := c.Get("/users/me"); res.Text() != `"|"` {
		t.Errorf("before login: %s", res.Body)
	}
	if res := c.Post("/users/login", nil); res.Status != 200 {
		t.Fatalf("login: %d %s", res.Status, res.Body)
	}
	tests := []struct {
		name string
		res  func() *Response
		want string
	}{
		{"cookie kept, header per request", func() *Response { return c.Get("/users/me", Header("X-Trace", "t1")) }, `"s1|t1"`},
		{"the header was for one request", func() *Response { return c.Get("/users/me") }, `"s1|"`},
		{"explicit cookie", func() *Response {
			return c.Get("/users/me", Cookie(&http.Cookie{Name: "session", Value: "other"}))
		}, `"other|"`},
		{"put", func() *Response { return c.Put("/users/3", map[string]string{"name": "x"}) }, `{"name":"put x","age":3}`},
		{"patch", func() *Response { return c.Patch("/users/4", map[string]string{"name": "y"}) }, `{"name":"patch y","age":4}`},
		{"form", func() *Response { return c.Post("/users/form", url.Values{"name": {"z"}}) }, `{"name":"z","age":0}`},
		{"delete", func() *Response { return c.Delete("/users/5") }, ``},
		{"multipart", func() *Response {
			return c.Post("/users/upload", Multipart{
				Fields: url.Values{"title": {"notes"}},
				Files: []File{
					{Field: "doc", Name: "a.txt", ContentType: "text/plain", Data: []byte("hello")},
					{Field: "extra", Name: "b.bin", Data: []byte{1}},
					{Field: "extra", Name: "c.bin", Data: []byte{2}},
				},
			})
		}, `{"name":"notes:a.txt:text/plain","age":7}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res()
			if got := strings.TrimSpace(res.Text()); got != tt.want {
				t.Errorf("body %s (status %d), want %s", got, res.Status, tt.want)
			}
		})
	}
	if got := Call[*user](c, "DELETE", "/users/5", nil); got != nil {
		t.Errorf("Call on a 204: %+v", got)
	}
	if got := Call[user](c, "PUT", "/users/6", map[string]string{"name": "w"}); got.Age != 6 {
		t.Errorf("Call: %+v", got)
	}
}

// recorder keeps the errors a check reports instead of failing the test,
// to test the check itself.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func TestAssertConforms(t *testing.T) {
	c := New(t, testApp(t))
	tests := []struct {
		name string
		res  func() *Response
		want string // a substring of the error; "" for none
	}{
		{"json", func() *Response { return c.Put("/users/3", map[string]string{"name": "x"}) }, ""},
		{"no content", func() *Response { return c.Delete("/users/3") }, ""},
		{"multipart upload", func() *Response {
			return c.Post("/users/upload", Multipart{
				Fields: url.Values{"title": {"t"}},
				Files:  []File{{Field: "doc", Name: "a.txt", Data: []byte("x")}},
			})
		}, ""},
		{"form", func() *Response { return c.Post("/users/form", url.Values{"name": {"z"}}) }, ""},
		{"declared error", func() *Response { return c.Get("/users/missing") }, ""},
		{"framework error", func() *Response { return c.Put("/users/x", map[string]string{"name": "x"}) }, ""},
		{"redirect with the endpoint's status", func() *Response { return c.Get("/users/old") }, ""},
		{"redirect with the default status", func() *Response { return c.Get("/users/elsewhere") }, ""},
		{"redirect with its own status, undeclared", func() *Response { return c.Get("/users/moved") }, "status 301 is not documented"},
		{"head", func() *Response { return c.Head("/users/me") }, ""},
		{"head on a POST route", func() *Response { return c.Head("/users/login") }, "not in the document"},
		{"undeclared status", func() *Response { return c.Get("/users/teapot") }, "status 418 is not documented"},
		{"wrong media type", func() *Response { return c.Get("/users/picture") }, `Content-Type "text/plain"`},
		{"not in the document", func() *Response { return c.Get("/nowhere") }, "not in the document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := tt.res()
			rec := &recorder{TB: t}
			c.t = rec
			defer func() { c.t = t }()
			c.AssertConforms(res)
			switch {
			case tt.want == "" && len(rec.errs) > 0:
				t.Errorf("status %d: unexpected mismatch: %v", res.Status, rec.errs)
			case tt.want != "" && (len(rec.errs) != 1 || !strings.Contains(rec.errs[0], tt.want)):
				t.Errorf("status %d: errors %q, want one with %q", res.Status, rec.errs, tt.want)
			}
		})
	}
}
