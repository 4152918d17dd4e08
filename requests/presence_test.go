package requests_test

import (
	"errors"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/replicaflow/replicaflow/requests"
)

// sent is a request type with a required field of every source, each of
// which accepts its zero value when it is sent.
type sent struct {
	ID     int    `path:"id" binding:"required"`
	N      int    `query:"n" binding:"required"`
	Flag   bool   `header:"X-Flag" binding:"required"`
	Sid    string `cookie:"sid" binding:"required"`
	Val    int    `json:"val" binding:"required"`
	On     bool   `json:"on" binding:"required"`
	Name   string `json:"name" binding:"required"`
	Ptr    *int   `json:"ptr" binding:"required"`
	Opt    int    `json:"opt" binding:"min=5"` // checked only when sent
	QMin   int    `query:"qmin" binding:"min=5"`
	Positv int    `query:"pos" binding:"required,min=1"`
}

// sentForm is sent for a form.
type sentForm struct {
	Title string               `form:"title" binding:"required"`
	Count int                  `form:"count" binding:"required"`
	Doc   *requests.UploadFile `file:"doc" binding:"required"`
}

// errorLocations returns the locations of a binding error's fields with
// their messages, "location: message".
func errorLocations(t *testing.T, err error) []string {
	t.Helper()
	if err == nil {
		return nil
	}
	var re *requests.Error
	if !errors.As(err, &re) {
		t.Fatalf("error %v is not a *requests.Error", err)
	}
	var out []string
	for _, f := range re.Fields {
		out = append(out, f.Location+": "+f.Message)
	}
	return out
}

func TestRequiredMeansSent(t *testing.T) {
	const all = `{"val":0,"on":false,"name":"","ptr":0}`
	withAll := func(target, body string, header http.Header) *http.Request {
		req := request("POST", target, "application/json", body)
		for k, vs := range header {
			req.Header[k] = vs
		}
		return req
	}
	zeroHeaders := http.Header{"X-Flag": {"false"}, "Cookie": {"sid="}}
	tests := []struct {
		name string
		req  *http.Request
		want []string // "location: message" in field order; none for success
	}{
		{"every zero value sent", withAll("/items/0?n=0&pos=1", all, zeroHeaders), nil},
		{"nothing sent", withAll("/items/0", `{}`, nil), []string{
			"query.n: is required", "header.X-Flag: is required", "cookie.sid: is required",
			"body.val: is required", "body.on: is required", "body.name: is required",
			"body.ptr: is required", "query.pos: is required",
		}},
		{"null is not a value", withAll("/items/0?n=0&pos=1", `{"val":null,"on":false,"name":"","ptr":null}`, zeroHeaders), []string{
			"body.val: is required", "body.ptr: is required",
		}},
		{"keys match as encoding/json matches them", withAll("/items/0?n=0&pos=1", `{"VAL":0,"On":false,"nAmE":"","ptr":0}`, zeroHeaders), nil},
		{"keys inside values do not count", withAll("/items/0?n=0&pos=1", `{"x":{"val":1},"y":["val"],"on":false,"name":"","ptr":0, "z": "val"}`, zeroHeaders), []string{
			"body.val: is required",
		}},
		{"a rule other than required checks a sent zero", withAll("/items/0?n=0&pos=0", all, zeroHeaders), []string{
			"query.pos: must be at least 1",
		}},
		{"an optional field with rules is checked only when sent", withAll("/items/0?n=0&pos=1&qmin=0", `{"val":0,"on":false,"name":"","ptr":0,"opt":0}`, zeroHeaders), []string{
			"body.opt: must be at least 5", "query.qmin: must be at least 5",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bind[sent](t, "/items/:id", tt.req, 0)
			locs := errorLocations(t, err)
			if strings.Join(locs, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(locs, "\n"), strings.Join(tt.want, "\n"))
			}
			if err == nil && (got.Ptr == nil || *got.Ptr != 0 || got.Val != 0 || got.Positv != 1) {
				t.Fatalf("bound %+v", got)
			}
		})
	}
}

func TestRequiredMeansSentForms(t *testing.T) {
	tests := []struct {
		name   string
		fields map[string]string
		files  map[string][]string
		want   []string
	}{
		{"zero values sent", map[string]string{"title": "", "count": "0"}, map[string][]string{"doc": {"a.txt"}}, nil},
		{"nothing sent", nil, nil, []string{"form.title: is required", "form.count: is required", "file.doc: is required"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body, ct := multipartBody(t, tt.fields, tt.files)
			_, err := bind[sentForm](t, "/", request("POST", "/", ct, body.String()), 0)
			if locs := errorLocations(t, err); strings.Join(locs, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("errors %q, want %q", locs, tt.want)
			}
		})
	}
}

func TestRequiredMeansSentWholeBody(t *testing.T) {
	type whole struct {
		Val int `json:"val" binding:"required"`
		Min int `json:"min" binding:"min=1"`
	}
	tests := []struct {
		name, body string
		want       []string
	}{
		{"zero sent", `{"val":0}`, nil},
		{"missing", `{}`, []string{"body.val: is required"}},
		{"min checked when sent", `{"val":1,"min":0}`, []string{"body.min: must be at least 1"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := bind[*whole](t, "/", request("POST", "/", "application/json", tt.body), 0)
			if locs := errorLocations(t, err); strings.Join(locs, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("bind: errors %q, want %q", locs, tt.want)
			}
			var v whole
			err = requests.DecodeJSON(strings.NewReader(tt.body), &v)
			if locs := errorLocations(t, err); strings.Join(locs, "\n") != strings.Join(tt.want, "\n") {
				t.Fatalf("DecodeJSON: errors %q, want %q", locs, tt.want)
			}
		})
	}
}

func TestDefaults(t *testing.T) {
	type paged struct {
		Page  int           `query:"page" default:"1"`
		Size  int           `query:"size" default:"20" binding:"max=100"`
		Lang  string        `header:"Accept-Language" default:"en"`
		Theme string        `cookie:"theme" default:"dark"`
		Wait  time.Duration `query:"wait" default:"1s"`
		Tags  []string      `query:"tag" default:"all"`
		Ptr   *int          `query:"ptr" default:"7"`
	}
	tests := []struct {
		name, target string
		want         paged
	}{
		{"absent: the defaults", "/", paged{Page: 1, Size: 20, Lang: "en", Theme: "dark", Wait: time.Second, Tags: []string{"all"}, Ptr: newInt(7)}},
		{"sent: the values, zero ones too", "/?page=0&size=5&wait=2s&tag=a&tag=b&ptr=0", paged{Page: 0, Size: 5, Lang: "en", Theme: "dark", Wait: 2 * time.Second, Tags: []string{"a", "b"}, Ptr: newInt(0)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := bind[paged](t, "/", request("GET", tt.target, "", ""), 0)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("bound %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestNewPlanRefusesBadTags(t *testing.T) {
	tests := []struct {
		name string
		typ  reflect.Type
		want string
	}{
		{"an option in a query tag", reflect.TypeFor[struct {
			Page int `query:"page,default=1"`
		}](), `Page: unknown option "default=1"`},
		{"an option in a form tag", reflect.TypeFor[struct {
			Name string `form:"name,omitempty"`
		}](), `Name: unknown option "omitempty"`},
		{"a default on a path field", reflect.TypeFor[struct {
			ID int `path:"id" default:"1"`
		}](), "ID: a `default` applies to query, header, cookie and form fields, not to a path field"},
		{"a default on a body field", reflect.TypeFor[struct {
			Val int `json:"val" default:"1"`
		}](), "not to a body field"},
		{"a default that does not parse", reflect.TypeFor[struct {
			N int `query:"n" default:"ten"`
		}](), `N: the default "ten": not an integer`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := requests.NewPlan(tt.typ)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error %v, want one containing %q", err, tt.want)
			}
		})
	}
}

// strictItem refuses unknown fields for every endpoint that binds it.
type strictItem struct {
	Name string `json:"name"`
}

func (strictItem) RefuseUnknownFields() {}

func TestUnknownJSONFields(t *testing.T) {
	type lenient struct {
		Name string `json:"name"`
	}
	body := `{"name":"a","colour":"red"}`
	t.Run("ignored by default", func(t *testing.T) {
		got, err := bind[lenient](t, "/", request("POST", "/", "application/json", body), 0)
		if err != nil || got.Name != "a" {
			t.Fatalf("got %+v, %v; want the name and no error", got, err)
		}
	})
	t.Run("refused by a StrictJSON type", func(t *testing.T) {
		_, err := bind[strictItem](t, "/", request("POST", "/", "application/json", body), 0)
		if locs := errorLocations(t, err); len(locs) != 1 || locs[0] != "body.colour: is not a field of this request" {
			t.Fatalf("errors %q", locs)
		}
	})
	t.Run("refused by the plan", func(t *testing.T) {
		plan, err := requests.NewPlan(reflect.TypeFor[lenient]())
		if err != nil {
			t.Fatal(err)
		}
		plan.RefuseUnknown = true
		_, err = bindPlan[lenient](t, plan, "/", request("POST", "/", "application/json", body))
		if locs := errorLocations(t, err); len(locs) != 1 || locs[0] != "body.colour: is not a field of this request" {
			t.Fatalf("errors %q", locs)
		}
	})
}

func TestParseErrorsInWords(t *testing.T) {
	type typed struct {
		When  time.Time     `query:"when"`
		N     int           `query:"n"`
		Small int8          `query:"small"`
		U     uint          `query:"u"`
		F     float64       `query:"f"`
		B     bool          `query:"b"`
		D     time.Duration `query:"d"`
		ID    uuid.UUID     `query:"id"`
	}
	tests := []struct{ query, want string }{
		{"when=yesterday", "query.when: not an RFC 3339 time (like 2006-01-02T15:04:05Z)"},
		{"n=one", "query.n: not an integer"},
		{"n=1.5", "query.n: not an integer"},
		{"small=300", "query.small: out of range for int8"},
		{"u=-1", "query.u: must not be negative"},
		{"f=x", "query.f: not a number"},
		{"b=yes", "query.b: not a boolean (true or false)"},
		{"d=5", "query.d: not a duration like 1m30s (units ns, us, ms, s, m, h)"},
		{"id=42", "query.id: not a UUID (like 123e4567-e89b-12d3-a456-426614174000)"},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			_, err := bind[typed](t, "/", request("GET", "/?"+tt.query, "", ""), 0)
			if locs := errorLocations(t, err); len(locs) != 1 || locs[0] != tt.want {
				t.Fatalf("errors %q, want %q", locs, tt.want)
			}
		})
	}
	got, err := bind[typed](t, "/", request("GET", "/?when=2026-11-30T10:00:00Z&id=123e4567-e89b-12d3-a456-426614174000", "", ""), 0)
	if err != nil || got.When.Hour() != 10 || got.ID.String() != "123e4567-e89b-12d3-a456-426614174000" {
		t.Fatalf("good values: %+v, %v", got, err)
	}
}

func newInt(n int) *int { return &n }

func TestTimeInBodyInWords(t *testing.T) {
	type withTime struct {
		When time.Time `json:"when"`
	}
	_, err := bind[withTime](t, "/", request("POST", "/", "application/json", `{"when":"yesterday"}`), 0)
	locs := errorLocations(t, err)
	if want := `body: has a time that is not an RFC 3339 time (like 2006-01-02T15:04:05Z): "yesterday"`; len(locs) != 1 || locs[0] != want {
		t.Fatalf("errors %q, want %q", locs, want)
	}
}
