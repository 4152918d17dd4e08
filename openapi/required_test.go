package openapi_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/replicaflow/replicaflow/openapi"
)

// Base is embedded by value (its fields are always written) and Extra by
// pointer (skipped when nil). Base is also a field of Sent, so it is a
// component on both sides.
type Base struct {
	Created string `json:"created"`
}

type Extra struct {
	Note string `json:"note"`
}

// Sent has a field of every kind of presence on the wire.
type Sent struct {
	Base
	*Extra
	Plain     string            `json:"plain"`
	Untagged  int               // no json tag: written as "Untagged"
	Ptr       *int              `json:"ptr"`  // written as null
	List      []string          `json:"list"` // written as null when nil
	Map       map[string]string `json:"map"`
	Empty     string            `json:"empty,omitempty"`
	Zero      int               `json:"zero,omitzero"`
	EmptyPtr  *int              `json:"empty_ptr,omitempty"`
	EmptyList []string          `json:"empty_list,omitempty"`
	Inner     Base              `json:"inner,omitempty"` // a struct is never empty
	Pair      [2]int            `json:"pair,omitempty"`  // nor is an array with items
	NoItems   [0]int            `json:"no_items,omitempty"`
	ZeroInner Base              `json:"zero_inner,omitzero"`
	AsString  int               `json:"as_string,string"`
	Hidden    string            `json:"-"`
	Anon      struct {
		A string `json:"a"`
		B string `json:"b,omitempty"`
	} `json:"anon"`
}

// Same says the same on both sides: its required fields are sent and the
// others may be left out.
type Same struct {
	ID   int    `json:"id" binding:"required"`
	Note string `json:"note,omitempty"`
}

// Differs requires less of a request than its answers always have.
type Differs struct {
	ID   int    `json:"id"`
	Name string `json:"name" binding:"required"`
	Tag  string `json:"tag,omitempty" binding:"required"`
}

// Wraps says the same on both sides itself, but holds a type that does not.
type Wraps struct {
	Item Differs `json:"item" binding:"required"`
}

// HoldsSame holds only a type that says the same on both sides.
type HoldsSame struct {
	Item Same `json:"item" binding:"required"`
}

// Partial has its body next to a parameter: the body is an object of its
// own, which refers to components on the request side.
type Partial struct {
	ID   int     `path:"id"`
	Body Differs `json:"body"`
}

func TestResponseRequired(t *testing.T) {
	op := func(method, path string, req, resp reflect.Type) openapi.Operation {
		return openapi.Operation{Method: method, Path: path, Request: req, Response: resp}
	}
	ops := []openapi.Operation{
		op("GET", "/sent", nil, reflect.TypeFor[Sent]()),
		op("POST", "/sent", reflect.TypeFor[Sent](), reflect.TypeFor[string]()),
		op("POST", "/same", reflect.TypeFor[Same](), reflect.TypeFor[Same]()),
		op("POST", "/differs", reflect.TypeFor[Differs](), reflect.TypeFor[*Differs]()),
		op("POST", "/wraps", reflect.TypeFor[Wraps](), reflect.TypeFor[[]Wraps]()),
		op("POST", "/holds", reflect.TypeFor[HoldsSame](), reflect.TypeFor[HoldsSame]()),
		op("PUT", "/partial/:id", reflect.TypeFor[Partial](), reflect.TypeFor[map[string]Differs]()),
	}
	doc, _ := load(t, openapi.NewSpec(openapi.Info{Title: "t", Version: "1"}, func() []openapi.Operation { return ops }))
	comps := doc.Components.Schemas
	schema := func(name string) *openapi3.Schema {
		t.Helper()
		if comps[name] == nil {
			t.Fatalf("no component %q", name)
		}
		return comps[name].Value
	}
	body := func(path, method string) *openapi3.SchemaRef {
		return doc.Paths.Find(path).GetOperation(method).RequestBody.Value.Content.Get("application/json").Schema
	}
	answer := func(path, method, status string) *openapi3.SchemaRef {
		return doc.Paths.Find(path).GetOperation(method).Responses.Value(status).Value.Content.Get("application/json").Schema
	}
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"every field a response always writes", schema("Sent").Required,
			[]string{"created", "plain", "Untagged", "ptr", "list", "map", "inner", "pair", "as_string", "anon"}},
		{"an anonymous struct in a response", schema("Sent").Properties["anon"].Value.Required, []string{"a"}},
		{"a request requires what binding says", schema("SentInput").Required, nil},
		{"an anonymous struct in a request", schema("SentInput").Properties["anon"].Value.Required, nil},
		{"one component when both sides agree", schema("Same").Required, []string{"id"}},
		{"a response of a type of two components", schema("Differs").Required, []string{"id", "name"}},
		{"a request of a type of two components", schema("DiffersInput").Required, []string{"name", "tag"}},
		{"a type holding a split type is split", schema("Wraps").Required, []string{"item"}},
		{"its request side too", schema("WrapsInput").Required, []string{"item"}},
		{"a type holding an agreeing type is one", schema("HoldsSame").Required, []string{"item"}},
		{"components", slices.Sorted(func(yield func(string) bool) {
			for n := range comps {
				if !yield(n) {
					return
				}
			}
		}), []string{"Base", "BaseInput", "Differs", "DiffersInput", "FieldError", "HoldsSame", "Problem", "Same", "Sent", "SentInput", "Wraps", "WrapsInput"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !slices.Equal(tt.got, tt.want) {
				t.Errorf("required %q, want %q", tt.got, tt.want)
			}
		})
	}

	refs := []struct {
		name string
		ref  string
		want string
	}{
		{"request body", body("/differs", "POST").Ref, "DiffersInput"},
		{"response body", answer("/differs", "POST", "200").Value.AllOf[0].Ref, "Differs"},
		{"request field", schema("WrapsInput").Properties["item"].Ref, "DiffersInput"},
		{"response field", schema("Wraps").Properties["item"].Ref, "Differs"},
		{"response items", answer("/wraps", "POST", "200").Value.Items.Ref, "Wraps"},
		{"request and response of one component", body("/same", "POST").Ref, "Same"},
		{"field of one component", schema("HoldsSame").Properties["item"].Ref, "Same"},
		{"a partial body's field", body("/partial/{id}", "PUT").Value.Properties["body"].Ref, "DiffersInput"},
		{"map values in a response", answer("/partial/{id}", "PUT", "200").Value.AdditionalProperties.Schema.Ref, "Differs"},
		{"the framework's problem", doc.Paths.Find("/same").Post.Responses.Value("422").Value.Content.Get("application/problem+json").Schema.Ref, "Problem"},
	}
	for _, tt := range refs {
		t.Run(tt.name, func(t *testing.T) {
			if want := "#/components/schemas/" + tt.want; tt.ref != want {
				t.Errorf("$ref %q, want %q", tt.ref, want)
			}
		})
	}
	if got := schema("Problem").Required; !slices.Equal(got, []string{"type", "title", "status"}) {
		t.Errorf("Problem requires %q", got)
	}

	// What encoding/json writes matches the response side, and what binding
	// accepts matches the request side.
	one := 1
	values := []struct {
		name   string
		schema string
		json   any
		ok     bool
	}{
		{"a zero response", "Sent", Sent{List: []string{}, Map: map[string]string{}}, true},
		{"a full response", "Sent", Sent{Extra: &Extra{"n"}, Ptr: &one, List: []string{"a"}, Map: map[string]string{"a": "b"},
			Empty: "e", Zero: 1, EmptyPtr: &one, EmptyList: []string{"b"}}, true},
		{"a response without a field it always has", "Differs", map[string]any{"name": "a"}, false},
		{"a request with only what binding requires", "DiffersInput", map[string]any{"name": "a", "tag": "b"}, true},
		{"a request without a required field", "DiffersInput", map[string]any{"name": "a"}, false},
		{"an empty request where binding requires nothing", "SentInput", map[string]any{}, true},
	}
	for _, tt := range values {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.json)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			json.Unmarshal(b, &v)
			err = schema(tt.schema).VisitJSON(v)
			if (err == nil) != tt.ok {
				t.Errorf("%s: %s: valid %v, want %v: %v", tt.schema, b, err == nil, tt.ok, err)
			}
		})
	}
}
