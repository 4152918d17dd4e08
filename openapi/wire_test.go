package openapi_test

import (
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/go-playground/validator/v10"

	"github.com/replicaflow/replicaflow/internal/conformance"
	"github.com/replicaflow/replicaflow/openapi"
)

// Shapes holds every way a nil slice or map reaches the wire.
type Shapes struct {
	List  []string            `json:"list"`
	Map   map[string]int      `json:"map"`
	Grid  [][]int             `json:"grid"`
	Index map[string][]string `json:"index"`
	Bytes []byte              `json:"bytes"`
	Raw   json.RawMessage     `json:"raw"`
	Any   any                 `json:"any"`
	Opt   []string            `json:"opt,omitempty"`
	Zero  map[string]int      `json:"zero,omitzero"`
	Must  []string            `json:"must" binding:"required"`
}

// TestNilSlicesAndMaps checks that the document says what encoding/json
// sends for nil slices and maps: null, so they are nullable, except where
// they cannot be null (left out when empty, or required to be sent). A nil
// interface or json.RawMessage is null too; its schema, {}, allows any
// value.
func TestNilSlicesAndMaps(t *testing.T) {
	doc, err := build(openapi.Info{}, []openapi.Operation{
		{Method: "GET", Path: "/shapes", Response: reflect.TypeFor[Shapes]()},
		{Method: "GET", Path: "/list", Response: reflect.TypeFor[[]Shapes]()},
		{Method: "GET", Path: "/map", Response: reflect.TypeFor[map[string]Shapes]()},
		{Method: "POST", Path: "/shapes", Request: reflect.TypeFor[struct {
			Tags []string `json:"tags"`
			Must []string `json:"must" binding:"required"`
			Opt  []string `json:"opt,omitempty"`
		}]()},
	})
	if err != nil {
		t.Fatal(err)
	}
	shapes := doc.Components.Schemas["Shapes"].Value
	body := doc.Paths.Find("/shapes").Post.RequestBody.Value.Content.Get("application/json").Schema.Value
	tests := []struct {
		name string
		sc   *openapi3.Schema
		want bool
	}{
		{"field slice", shapes.Properties["list"].Value, true},
		{"field map", shapes.Properties["map"].Value, true},
		{"field slice of slices", shapes.Properties["grid"].Value, true},
		{"inner slice", shapes.Properties["grid"].Value.Items.Value, true},
		{"map of slices", shapes.Properties["index"].Value, true},
		{"map value slice", shapes.Properties["index"].Value.AdditionalProperties.Schema.Value, true},
		{"bytes", shapes.Properties["bytes"].Value, true},
		{"raw JSON: any value, no type to widen", shapes.Properties["raw"].Value, false},
		{"interface: any value, no type to widen", shapes.Properties["any"].Value, false},
		{"omitempty", shapes.Properties["opt"].Value, false},
		{"omitzero", shapes.Properties["zero"].Value, false},
		{"required", shapes.Properties["must"].Value, false},
		{"top-level slice", doc.Paths.Find("/list").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value, true},
		{"top-level map", doc.Paths.Find("/map").Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value, true},
		{"request field", body.Properties["tags"].Value, true},
		{"request field required", body.Properties["must"].Value, false},
		{"request field omitempty", body.Properties["opt"].Value, false},
	}
	for _, tt := range tests {
		if tt.sc.Nullable != tt.want {
			t.Errorf("%s: nullable %v, want %v", tt.name, tt.sc.Nullable, tt.want)
		}
	}

	// The wire: zero values, as encoding/json writes them, match the
	// document, as kin-openapi's response validator judges it. A required
	// field is sent with a value: its nil would be the handler's bug. The
	// document is already the JSON loaded back (see build).
	loaded := doc
	conformance.UntypedPermitsNull(loaded) // as the specification reads {}
	zero := Shapes{Must: []string{}}
	answers := []struct {
		path string
		v    any
	}{
		{"/shapes", zero},
		{"/shapes", Shapes{Must: []string{}, Grid: [][]int{nil}, Index: map[string][]string{"a": nil}}},
		{"/list", []Shapes(nil)},
		{"/list", []Shapes{zero}},
		{"/map", map[string]Shapes(nil)},
	}
	for _, a := range answers {
		wire, err := json.Marshal(a.v)
		if err != nil {
			t.Fatal(err)
		}
		var v any
		if err := json.Unmarshal(wire, &v); err != nil {
			t.Fatal(err)
		}
		sc := loaded.Paths.Find(a.path).Get.Responses.Status(200).Value.Content.Get("application/json").Schema.Value
		if err := sc.VisitJSON(v, openapi3.VisitAsResponse(), openapi3.MultiErrors()); err != nil {
			t.Errorf("GET %s answers %s, which the document refuses: %v", a.path, wire, err)
		}
	}
}

// TestDurationPattern checks that a duration parameter's pattern accepts
// exactly the text time.ParseDuration reads, so that the document refuses
// what the server refuses.
func TestDurationPattern(t *testing.T) {
	doc, err := build(openapi.Info{}, []openapi.Operation{{Method: "GET", Path: "/wait", Request: reflect.TypeFor[struct {
		For time.Duration `query:"for"`
	}]()}})
	if err != nil {
		t.Fatal(err)
	}
	p := doc.Paths.Find("/wait").Get.Parameters.GetByInAndName("query", "for")
	re := regexp.MustCompile(p.Schema.Value.Pattern)
	for _, s := range []string{
		"1.5s", "300ms", "2h45m", "0", "-0", "+0", "-1s", "+2us", "1µs", "1μs", ".5s", "5.s", "1h2m3.5s", "0s",
		"", "1", "1.5", "s", ".s", "1d", "1h 2m", "1e3s", "bogus", "--1s", "1s-", "1.2.3s",
	} {
		_, err := time.ParseDuration(s)
		if re.MatchString(s) != (err == nil) {
			t.Errorf("%q: pattern matches %v, time.ParseDuration error %v", s, re.MatchString(s), err)
		}
	}
}

// TestCharacterRules checks that the patterns of the validator's character
// rules accept what the validator accepts.
func TestCharacterRules(t *testing.T) {
	type In struct {
		Alpha    string `json:"alpha" binding:"alpha"`
		Alphanum string `json:"alphanum" binding:"alphanum"`
		Numeric  string `json:"numeric" binding:"numeric"`
		Number   string `json:"number" binding:"number"`
		Hex      string `json:"hex" binding:"hexadecimal"`
	}
	doc, err := build(openapi.Info{}, []openapi.Operation{{Method: "POST", Path: "/in", Request: reflect.TypeFor[In]()}})
	if err != nil {
		t.Fatal(err)
	}
	props := doc.Paths.Find("/in").Post.RequestBody.Value.Content.Get("application/json").Schema.Value.Properties
	v := validator.New()
	rules := map[string]string{"alpha": "alpha", "alphanum": "alphanum", "numeric": "numeric", "number": "number", "hex": "hexadecimal"}
	for field, rule := range rules {
		re := regexp.MustCompile(props[field].Value.Pattern)
		for _, s := range []string{"", "abc", "ABC9", "a b", "é", "12", "-1.5", "+3", "1.", "0x1F", "ff", "g", "1e3"} {
			if got, want := re.MatchString(s), v.Var(s, rule) == nil; got != want {
				t.Errorf("%s %q: pattern matches %v, validator accepts %v", rule, s, got, want)
			}
		}
	}
}

// Strict is a request type that refuses unknown fields.
type Strict struct {
	Name string `json:"name" binding:"required"`
}

func (Strict) RefuseUnknownFields() {}

// TestStrictBody checks that a body that refuses unknown fields says so,
// without changing the component that other endpoints share.
func TestStrictBody(t *testing.T) {
	doc, err := build(openapi.Info{}, []openapi.Operation{
		{Method: "POST", Path: "/strict", Request: reflect.TypeFor[Strict]()},
		{Method: "GET", Path: "/strict", Response: reflect.TypeFor[Strict]()},
	})
	if err != nil {
		t.Fatal(err)
	}
	body := doc.Paths.Find("/strict").Post.RequestBody.Value.Content.Get("application/json").Schema
	if body.Ref != "" || body.Value.AdditionalProperties.Has == nil || *body.Value.AdditionalProperties.Has ||
		body.Value.Properties["name"] == nil || len(body.Value.Required) != 1 {
		t.Errorf("strict body: %s", schemaJSON(t, body))
	}
	if c := doc.Components.Schemas["Strict"]; c == nil || c.Value.AdditionalProperties.Has != nil {
		t.Errorf("the component changed: %v", c)
	}
}
