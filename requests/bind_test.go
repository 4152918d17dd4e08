package requests_test

import (
	"bytes"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/requests"
)

func init() { gin.SetMode(gin.TestMode) }

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

// bind routes req on a gin engine to route and binds it into a T with T's
// plan and the body limit, as an endpoint does.
func bind[T any](t *testing.T, route string, req *http.Request, limit int64) (T, error) {
	t.Helper()
	plan, err := requests.NewPlan(reflect.TypeFor[T]())
	if err != nil {
		t.Fatal(err)
	}
	return bindPlanLimit[T](t, plan, route, req, limit)
}

// bindPlan is bind with a given plan and the default body limit.
func bindPlan[T any](t *testing.T, plan *requests.Plan, route string, req *http.Request) (T, error) {
	t.Helper()
	return bindPlanLimit[T](t, plan, route, req, 0)
}

func bindPlanLimit[T any](t *testing.T, plan *requests.Plan, route string, req *http.Request, limit int64) (T, error) {
	t.Helper()
	var (
		got     T
		bindErr error
		served  bool
	)
	e := gin.New()
	e.Handle(req.Method, route, func(c *gin.Context) {
		served = true
		bindErr = plan.Bind(c, &got, limit)
	})
	e.ServeHTTP(httptest.NewRecorder(), req)
	if !served {
		t.Fatalf("%s %s does not match the route %s", req.Method, req.URL, route)
	}
	return got, bindErr
}

func request(method, target, contentType, body string) *http.Request {
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	return req
}

func multipartBody(t *testing.T, fields map[string]string, files map[string][]string) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, names := range files {
		for _, name := range names {
			fw, err := w.CreateFormFile(k, name)
			if err != nil {
				t.Fatal(err)
			}
			fw.Write([]byte("content of " + name))
		}
	}
	w.Close()
	return &buf, w.FormDataContentType()
}

func TestBindEveryParameterKindAndJSONBody(t *testing.T) {
	req := request("PUT", "/all/42?q=find&tag=a&tag=b&limit=7&when=2026-01-02T03:04:05Z&wait=1500ms", "application/json",
		`{"items":[{"name":"x","count":2}],"Meta":{"k":1},"Ignored":"no","ID":9}`)
	req.Header.Set("x-key", "secret")
	req.AddCookie(&http.Cookie{Name: "sid", Value: "s1"})
	got, err := bind[everything](t, "/all/:id", req, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != 42 || got.Q != "find" || len(got.Tags) != 2 || got.Tags[1] != "b" || got.Limit == nil || *got.Limit != 7 ||
		!got.When.Equal(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)) || got.Wait != 1500*time.Millisecond ||
		got.Key != "secret" || got.Session != "s1" || len(got.Items) != 1 || got.Items[0].Name != "x" ||
		got.Meta["k"] != 1 || got.Ignored != "" {
		t.Fatalf("bound %+v", got)
	}
}

func TestBindForms(t *testing.T) {
	body, ct := multipartBody(t, map[string]string{"title": "report", "score": "9.5"},
		map[string][]string{"doc": {"a.txt"}, "extra": {"b.txt", "c.txt"}})
	tests := []struct {
		name      string
		req       *http.Request
		title     string
		score     float64
		doc       string // name:content
		extras    int
		wantFiles bool
	}{
		{"multipart with files", request("POST", "/form", ct, body.String()), "report", 9.5, "a.txt:content of a.txt", 2, true},
		{"urlencoded", request("POST", "/form", "application/x-www-form-urlencoded", "title=t&score=1"), "t", 1, "", 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bind[formIn](t, "/form", tt.req, 0)
			if err != nil {
				t.Fatal(err)
			}
			if got.Title != tt.title || got.Score != tt.score || len(got.Extra) != tt.extras || (got.Doc != nil) != tt.wantFiles {
				t.Fatalf("bound %+v", got)
			}
			if got.Doc != nil {
				data, err := got.Doc.ReadAll()
				if err != nil || got.Doc.Filename+":"+string(data) != tt.doc {
					t.Fatalf("doc %s %q %v, want %s", got.Doc.Filename, data, err, tt.doc)
				}
			}
		})
	}
}

func TestBindWholeBodyAndRawRequest(t *testing.T) {
	list, err := bind[[]int](t, "/list", request("POST", "/list", "application/json", `[1,2,3]`), 0)
	if err != nil || len(list) != 3 || list[2] != 3 {
		t.Fatalf("whole body: %v %v", list, err)
	}
	// The raw request is neither read nor validated.
	raw, err := bind[requests.Request](t, "/raw", request("POST", "/raw", "text/csv", "{not json"), 0)
	if err != nil || raw.Method != "POST" || raw.Header.Get("Content-Type") != "text/csv" {
		t.Fatalf("raw request: %+v %v", raw.Request, err)
	}
}

func TestBindErrors(t *testing.T) {
	// Each target binds the request on its own route, with its own type.
	targets := map[string]func(*testing.T, *http.Request) error{
		"all": func(t *testing.T, r *http.Request) error { _, err := bind[everything](t, "/all/:id", r, 0); return err },
		"form": func(t *testing.T, r *http.Request) error {
			_, err := bind[formIn](t, "/form", r, 0)
			return err
		},
		"list": func(t *testing.T, r *http.Request) error { _, err := bind[[]int](t, "/list", r, 0); return err },
		"small": func(t *testing.T, r *http.Request) error {
			_, err := bind[map[string]string](t, "/small", r, 16)
			return err
		},
		"anonymous": func(t *testing.T, r *http.Request) error {
			_, err := bind[struct {
				ID   int    `path:"id" binding:"min=1"`
				Name string `json:"name" binding:"required"`
			}](t, "/a/:id", r, 0)
			return err
		},
	}
	tests := []struct {
		name      string
		target    string
		req       *http.Request
		status    int
		locations []string
	}{
		{"malformed JSON", "all", request("PUT", "/all/1?q=x", "application/json", `{"items": [`), 400, nil},
		{"syntax error", "all", request("PUT", "/all/1?q=x", "application/json", `{"items": nope}`), 400, nil},
		{"trailing data", "all", request("PUT", "/all/1?q=x", "application/json", `{} {}`), 400, nil},
		{"wrong JSON type", "all", request("PUT", "/all/1?q=x", "application/json", `{"items": [{"name": 5}]}`), 422, []string{"body.items.name"}},
		{"every failing field", "all", request("PUT", "/all/x?limit=big&when=yesterday", "application/json", `{"items": [{"count": -1}]}`), 422,
			[]string{"path.id", "query.limit", "query.when", "query.q", "body.items[0].name", "body.items[0].count"}},
		{"unsupported media type", "all", request("PUT", "/all/1?q=x", "text/plain", `{}`), 415, nil},
		{"form wants a form", "form", request("POST", "/form", "application/json", `{}`), 415, nil},
		{"missing form field", "form", request("POST", "/form", "application/x-www-form-urlencoded", `score=abc`), 422, []string{"form.score", "form.title"}},
		{"body too large", "small", request("POST", "/small", "application/json", `{"a":"0123456789abcdef"}`), 413, nil},
		{"body too large, no Content-Length", "small", func() *http.Request {
			r := request("POST", "/small", "application/json", `{"a":"0123456789abcdef"}`)
			r.ContentLength = -1 // chunked: the size is only known by reading
			return r
		}(), 413, nil},
		{"missing whole body", "list", request("POST", "/list", "application/json", ``), 422, []string{"body"}},
		{"anonymous type's locations", "anonymous", request("POST", "/a/0", "application/json", `{}`), 422, []string{"path.id", "body.name"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := targets[tt.target](t, tt.req)
			var re *requests.Error
			if !errors.As(err, &re) {
				t.Fatalf("error %v, want a *requests.Error", err)
			}
			if re.Status != tt.status || re.StatusCode() != tt.status || re.Detail == "" {
				t.Fatalf("error %+v, want status %d", re, tt.status)
			}
			var got []string
			for _, f := range re.Fields {
				got = append(got, f.Location)
			}
			if strings.Join(got, ",") != strings.Join(tt.locations, ",") {
				t.Fatalf("locations %v, want %v (%v)", got, tt.locations, err)
			}
		})
	}
}
