package flow_test

import (
	"bytes"
	"context"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/requests"
	"github.com/replicaflow/replicaflow/service"
)

type item struct {
	Name  string `json:"name" binding:"required"`
	Count int    `json:"count" binding:"min=0"`
}

type everything struct {
	ID      int64         `path:"id"`
	Q       string        `query:"q" binding:"required"`
	Tags    []string      `query:"tag"`
	Limit   *int          `query:"limit"`
	When    time.Time     `query:"when"`
	Wait    time.Duration `query:"wait"`
	Key     string        `header:"X-Key"`
	Session string        `cookie:"sid"`
	Items   []item        `json:"items" binding:"dive"`
	Meta    map[string]int
	Ignored string `json:"-"`
}

type formIn struct {
	Title string                 `form:"title" binding:"required"`
	Score float64                `form:"score"`
	Doc   *requests.UploadFile   `file:"doc"`
	Extra []*requests.UploadFile `file:"extra"`
}

type formOut struct {
	Title  string   `json:"title"`
	Score  float64  `json:"score"`
	Doc    string   `json:"doc"`
	Extras []string `json:"extras"`
}

func bindingApp() *flow.Flow {
	app := flow.New()
	svc := app.Service(service.BaseRoute("/b"))
	flow.Endpoint(svc, "PUT", "/all/{id}", func(ctx context.Context, in everything) (everything, error) {
		return in, nil
	})
	flow.Endpoint(svc, "POST", "/form", func(ctx context.Context, in formIn) (formOut, error) {
		out := formOut{Title: in.Title, Score: in.Score}
		if in.Doc != nil {
			data, err := in.Doc.ReadAll()
			if err != nil {
				return out, err
			}
			out.Doc = in.Doc.Filename + ":" + string(data)
		}
		for _, f := range in.Extra {
			out.Extras = append(out.Extras, f.Filename)
		}
		return out, nil
	})
	flow.Endpoint(svc, "POST", "/list", func(ctx context.Context, in []int) (int, error) {
		sum := 0
		for _, v := range in {
			sum += v
		}
		return sum, nil
	})
	flow.Endpoint(svc, "POST", "/raw", func(ctx context.Context, r requests.Request) (string, error) {
		return r.Method + " " + r.Header.Get("Content-Type"), nil
	})
	flow.Endpoint(svc, "POST", "/small", func(ctx context.Context, in map[string]string) (int, error) {
		return len(in), nil
	}, endpoint.BodyLimit(16))
	return app
}

func multipartBody(t *testing.T, fields map[string]string, files map[string][]string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		w.WriteField(k, v)
	}
	for k, names := range files {
		for _, name := range names {
			fw, _ := w.CreateFormFile(k, name)
			fw.Write([]byte("content of " + name))
		}
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func TestBinding(t *testing.T) {
	c := flowtest.New(t, bindingApp())

	t.Run("every parameter kind and a JSON body", func(t *testing.T) {
		req := httptest.NewRequest("PUT", "/b/all/42?q=find&tag=a&tag=b&limit=7&when=2026-01-02T03:04:05Z&wait=1500ms",
			strings.NewReader(`{"items":[{"name":"x","count":2}],"Meta":{"k":1},"Ignored":"no","ID":9}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("x-key", "secret")
		req.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
		res := c.Do(req)
		if res.Status != 200 {
			t.Fatalf("status %d: %s", res.Status, res.Body)
		}
		var got everything
		res.Decode(&got)
		if got.ID != 42 || got.Q != "find" || len(got.Tags) != 2 || got.Tags[1] != "b" || got.Limit == nil || *got.Limit != 7 ||
			!got.When.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || got.Wait != 1500*time.Millisecond ||
			got.Key != "secret" || got.Session != "s1" || len(got.Items) != 1 || got.Items[0].Name != "x" ||
			got.Meta["k"] != 1 || got.Ignored != "" {
			t.Fatalf("bound %+v", got)
		}
	})

	t.Run("form and files", func(t *testing.T) {
		body, ct := multipartBody(t, map[string]string{"title": "report", "score": "9.5"},
			map[string][]string{"doc": {"a.txt"}, "extra": {"b.txt", "c.txt"}})
		req := httptest.NewRequest("POST", "/b/form", body)
		req.Header.Set("Content-Type", ct)
		res := c.Do(req)
		var got formOut
		res.Decode(&got)
		if res.Status != 200 || got.Title != "report" || got.Score != 9.5 || got.Doc != "a.txt:content of a.txt" || len(got.Extras) != 2 {
			t.Fatalf("status %d, bound %+v", res.Status, got)
		}
	})

	t.Run("urlencoded form", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/b/form", strings.NewReader("title=t&score=1"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		res := c.Do(req)
		var got formOut
		res.Decode(&got)
		if res.Status != 200 || got.Title != "t" || got.Score != 1 {
			t.Fatalf("status %d, bound %+v", res.Status, got)
		}
	})

	t.Run("whole body is a slice", func(t *testing.T) {
		var sum int
		sum = flowtest.Call[int](c, "POST", "/b/list", []int{1, 2, 3})
		if sum != 6 {
			t.Fatalf("sum %d", sum)
		}
	})

	t.Run("raw request is not read or validated", func(t *testing.T) {
		req := httptest.NewRequest("POST", "/b/raw", strings.NewReader("{not json"))
		req.Header.Set("Content-Type", "text/csv")
		res := c.Do(req)
		if res.Status != 200 || res.Text() != `"POST text/csv"` {
			t.Fatalf("%d %s", res.Status, res.Body)
		}
	})
}

func TestBindingErrors(t *testing.T) {
	c := flowtest.New(t, bindingApp())
	tests := []struct {
		name      string
		method    string
		path      string
		ct        string
		body      string
		status    int
		locations []string
	}{
		{"malformed JSON", "PUT", "/b/all/1?q=x", "application/json", `{"items": [`, 400, nil},
		{"syntax error", "PUT", "/b/all/1?q=x", "application/json", `{"items": nope}`, 400, nil},
		{"trailing data", "PUT", "/b/all/1?q=x", "application/json", `{} {}`, 400, nil},
		{"wrong JSON type", "PUT", "/b/all/1?q=x", "application/json", `{"items": [{"name": 5}]}`, 422, []string{"body.items.name"}},
		{"every failing field", "PUT", "/b/all/x?limit=big&when=yesterday", "application/json", `{"items": [{"count": -1}]}`, 422,
			[]string{"path.id", "query.limit", "query.when", "query.q", "body.items[0].name", "body.items[0].count"}},
		{"unsupported media type", "PUT", "/b/all/1?q=x", "text/plain", `{}`, 415, nil},
		{"form wants a form", "POST", "/b/form", "application/json", `{}`, 415, nil},
		{"missing form field", "POST", "/b/form", "application/x-www-form-urlencoded", `score=abc`, 422, []string{"form.score", "form.title"}},
		{"body too large", "POST", "/b/small", "application/json", `{"a":"0123456789abcdef"}`, 413, nil},
		{"missing whole body", "POST", "/b/list", "application/json", ``, 422, []string{"body"}},
		{"unknown path", "GET", "/nowhere", "", ``, 404, nil},
		{"unknown route in a service", "GET", "/b/nowhere", "", ``, 404, nil},
		{"wrong method", "GET", "/b/form", "", ``, 405, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, tt.path, strings.NewReader(tt.body))
			if tt.ct != "" {
				req.Header.Set("Content-Type", tt.ct)
			}
			res := c.Do(req)
			if res.Status != tt.status {
				t.Fatalf("status %d, want %d: %s", res.Status, tt.status, res.Body)
			}
			p := res.Problem()
			if p.Status != tt.status || p.Title == "" || p.Detail == "" {
				t.Fatalf("problem %+v", p)
			}
			var got []string
			for _, f := range p.Errors {
				got = append(got, f.Location)
			}
			if strings.Join(got, ",") != strings.Join(tt.locations, ",") {
				t.Fatalf("locations %v, want %v (%s)", got, tt.locations, res.Body)
			}
		})
	}
	t.Run("405 says what is allowed", func(t *testing.T) {
		res := c.Get("/b/form")
		if res.Header.Get("Allow") != "POST" {
			t.Fatalf("Allow %q", res.Header.Get("Allow"))
		}
	})
}

func TestAnonymousRequestTypeLocations(t *testing.T) {
	app := flow.New(flow.Logger(slogTo(nil)))
	flow.Endpoint(app.Service(), "POST", "/a/{id}", func(ctx context.Context, in struct {
		ID   int    `path:"id" binding:"min=1"`
		Name string `json:"name" binding:"required"`
	}) (int, error) {
		return in.ID, nil
	})
	c := flowtest.New(t, app)
	res := c.Post("/a/0", map[string]any{})
	p := res.Problem()
	if res.Status != 422 || len(p.Errors) != 2 || p.Errors[0].Location != "path.id" || p.Errors[1].Location != "body.name" {
		t.Fatalf("%d %+v", res.Status, p.Errors)
	}
}

func TestBodyLimitWithoutContentLength(t *testing.T) {
	c := flowtest.New(t, bindingApp())
	req := httptest.NewRequest("POST", "/b/small", strings.NewReader(`{"a":"0123456789abcdef"}`))
	req.ContentLength = -1 // chunked: the size is only known by reading
	req.Header.Set("Content-Type", "application/json")
	if res := c.Do(req); res.Status != 413 || res.Problem().Status != 413 {
		t.Fatalf("status %d: %s", res.Status, res.Body)
	}
}
