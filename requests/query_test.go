package requests

import (
	"net/http/httptest"
	"net/url"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/gin-gonic/gin"
	"github.com/go-playground/validator/v10"
)

// bindRequest binds a request made of method, target and body into a new T.
func bindRequest[T any](t *testing.T, method, target, body string) (T, error) {
	t.Helper()
	plan, err := NewPlan(reflect.TypeFor[T]())
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest(method, target, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	c, _ := gin.CreateTestContext(httptest.NewRecorder())
	c.Request = req
	var v T
	err = plan.Bind(c, &v, 0)
	return v, err
}

type queryOnly struct {
	N int    `query:"n"`
	S string `query:"s"`
	P *int   `query:"p"`
	L []int  `query:"l"`
}

func ptr[T any](v T) *T { return &v }

func TestBindQuery(t *testing.T) {
	long := "n=9" + strings.Repeat("&x=1", maxQueryScan+10) + "&l=4"
	for _, tc := range []struct {
		query   string
		want    queryOnly
		invalid string // the failing location, if binding fails
	}{
		{query: "", want: queryOnly{}},
		{query: "n=7", want: queryOnly{N: 7}},
		{query: "n=7&n=8", want: queryOnly{N: 7}},
		{query: "s=a+b%21", want: queryOnly{S: "a b!"}},
		{query: "%73=escaped+key", want: queryOnly{S: "escaped key"}},
		{query: "s=%zz&s=ok", want: queryOnly{S: "ok"}},
		{query: "n=1;x=2&n=3", want: queryOnly{N: 3}},
		{query: "&&n=4&", want: queryOnly{N: 4}},
		{query: "p=5", want: queryOnly{P: ptr(5)}},
		{query: "l=1&x=0&l=2&l=3", want: queryOnly{L: []int{1, 2, 3}}},
		{query: long, want: queryOnly{N: 9, L: []int{4}}},
		{query: "n=x", invalid: "query.n"},
		{query: "n", invalid: "query.n"},
		{query: "l=1&l=y", invalid: "query.l"},
		{query: "p=", invalid: "query.p"},
	} {
		t.Run(tc.query, func(t *testing.T) {
			got, err := bindRequest[queryOnly](t, "GET", "/?"+tc.query, "")
			if tc.invalid != "" {
				e, ok := err.(*Error)
				if !ok || e.Status != 422 || len(e.Fields) != 1 || e.Fields[0].Location != tc.invalid {
					t.Fatalf("error %v, want a 422 on %s", err, tc.invalid)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("bound %+v, want %+v", got, tc.want)
			}
		})
	}
}

// FuzzQueryScan checks that scanning a raw query finds what url.ParseQuery
// (gin's c.QueryArray) finds, for any query and key.
func FuzzQueryScan(f *testing.F) {
	for _, s := range []string{"a=1&a=2", "a=%zz&a=ok", "a;b=1&a=3", "%61=x&a+b=y", "a", "=a&a=", "a=1&&a=%2B"} {
		f.Add(s, "a")
	}
	f.Add("a+b=y", "a b")
	f.Fuzz(func(t *testing.T, query, key string) {
		if !queryScan(query) {
			return
		}
		m, _ := url.ParseQuery(query)
		want := m[key]
		if got := queryValues(query, key); !slices.Equal(got, want) {
			t.Fatalf("queryValues(%q, %q) = %q, want %q", query, key, got, want)
		}
		v, ok := queryValue(query, key)
		if ok != (len(want) > 0) || (ok && v != want[0]) {
			t.Fatalf("queryValue(%q, %q) = %q, %v; want %q", query, key, v, ok, want)
		}
	})
}

type (
	plain struct{ A, B int }
	leaf  struct {
		N int `binding:"min=1"`
	}
	viaPtr struct{ L *leaf }
	viaMap struct{ M map[string][]leaf }
	node   struct {
		Next *node
		V    int
	}
	ruledNode struct {
		Next *ruledNode
		V    int `binding:"max=3"`
	}
)

func TestHasRules(t *testing.T) {
	for _, tc := range []struct {
		typ  reflect.Type
		want bool
	}{
		{reflect.TypeFor[plain](), false},
		{reflect.TypeFor[queryOnly](), false},
		{reflect.TypeFor[leaf](), true},
		{reflect.TypeFor[viaPtr](), true},
		{reflect.TypeFor[viaMap](), true},
		{reflect.TypeFor[node](), false},
		{reflect.TypeFor[ruledNode](), true},
		{reflect.TypeFor[struct{ T []struct{ X string } }](), false},
		{reflect.TypeFor[struct {
			T []struct {
				X string `binding:"required"`
			}
		}](), true},
	} {
		if got := hasRules(tc.typ); got != tc.want {
			t.Errorf("hasRules(%v) = %v, want %v", tc.typ, got, tc.want)
		}
	}
}

func TestNestedRulesValidate(t *testing.T) {
	type page struct {
		Size int `json:"size" binding:"min=1"`
	}
	type req struct {
		Q    string `query:"q"`
		Page page   `json:"page"`
	}
	_, err := bindRequest[req](t, "POST", "/?q=x", `{"page":{"size":0}}`)
	e, ok := err.(*Error)
	if !ok || e.Status != 422 || len(e.Fields) != 1 || e.Fields[0].Location != "body.page.size" {
		t.Fatalf("error %v, want a 422 on body.page.size", err)
	}
}

func TestNewPlanBadRule(t *testing.T) {
	type bad struct {
		N int `query:"n" binding:"nosuchrule"`
	}
	if _, err := NewPlan(reflect.TypeFor[bad]()); err == nil || !strings.Contains(err.Error(), "bad binding tag") {
		t.Fatalf("NewPlan error %v, want one about the bad binding tag", err)
	}
	if _, err := NewPlan(reflect.TypeFor[*bad]()); err == nil {
		t.Fatal("NewPlan of a pointer type accepted the bad binding tag")
	}
}

// A struct-level validation registered through Validator applies to a type
// with no `binding` tag.
func TestStructLevelValidation(t *testing.T) {
	type window struct {
		From int `query:"from"`
		To   int `query:"to"`
	}
	Validator().RegisterStructValidation(func(sl validator.StructLevel) {
		if w := sl.Current().Interface().(window); w.From > w.To {
			sl.ReportError(w.To, "To", "To", "gtefield", "From")
		}
	}, window{})
	if _, err := bindRequest[window](t, "GET", "/?from=1&to=2", ""); err != nil {
		t.Fatal(err)
	}
	_, err := bindRequest[window](t, "GET", "/?from=3&to=2", "")
	e, ok := err.(*Error)
	if !ok || e.Status != 422 || len(e.Fields) != 1 || e.Fields[0].Location != "query.to" {
		t.Fatalf("error %v, want a 422 on query.to", err)
	}
}
