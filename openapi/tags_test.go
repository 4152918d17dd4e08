package openapi_test

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/requests"
)

// Tagged documents its parameters and fields with doc, example and
// default tags.
type Tagged struct {
	Page   int      `query:"page" default:"1" doc:"the page, from 1" example:"3" binding:"min=1"`
	Tags   []string `query:"tag" default:"all" example:"news"`
	Lang   string   `header:"Accept-Language" default:"en" doc:"the answer's language"`
	Name   string   `json:"name" binding:"required" doc:"who to greet" example:"ada"`
	Age    int      `json:"age" doc:"in years" example:"36"`
	Home   Address  `json:"home" doc:"where they live"`
	Plain  string   `json:"plain"`
	NoDocs *int     `json:"no_docs"`
}

// TaggedForm documents a form's fields.
type TaggedForm struct {
	Title string               `form:"title" default:"untitled" doc:"the title" example:"Notes"`
	Doc   *requests.UploadFile `file:"doc" doc:"the document"`
}

func TestDocExampleDefaultTags(t *testing.T) {
	ops := func() []openapi.Operation {
		return []openapi.Operation{
			{Service: "tagged", Method: "POST", Path: "/tagged", Request: reflect.TypeFor[Tagged](), Response: reflect.TypeFor[string]()},
			{Service: "tagged", Method: "POST", Path: "/form", Request: reflect.TypeFor[TaggedForm](), Response: reflect.TypeFor[string]()},
		}
	}
	doc, _ := load(t, openapi.NewSpec(openapi.Info{Title: "t", Version: "1"}, ops)) // validates, examples and defaults too

	asJSON := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	op := doc.Paths.Find("/tagged").Post
	params := map[string]string{}
	for _, p := range op.Parameters {
		v := p.Value
		params[v.Name] = asJSON(map[string]any{"description": v.Description, "example": v.Example, "default": v.Schema.Value.Default, "min": v.Schema.Value.Min})
	}
	body := op.RequestBody.Value.Content.Get("application/json").Schema.Value
	form := doc.Paths.Find("/form").Post.RequestBody.Value.Content.Get("multipart/form-data").Schema.Value
	tests := []struct{ name, got, want string }{
		{"query with doc, example, default and a rule", params["page"], `{"default":1,"description":"the page, from 1","example":3,"min":1}`},
		{"query list", params["tag"], `{"default":["all"],"description":"","example":["news"],"min":null}`},
		{"header", params["Accept-Language"], `{"default":"en","description":"the answer's language","example":null,"min":null}`},
		{"body string", asJSON(body.Properties["name"].Value), `{"description":"who to greet","example":"ada","type":"string"}`},
		{"body integer", asJSON(body.Properties["age"].Value), `{"description":"in years","example":36,"format":"int64","type":"integer"}`},
		{"body component", asJSON(body.Properties["home"]), `{"allOf":[{"$ref":"#/components/schemas/Address"}],"description":"where they live"}`},
		{"body without tags", asJSON(body.Properties["plain"]), `{"type":"string"}`},
		{"required body field", asJSON(body.Required), `["name"]`},
		{"form field", asJSON(form.Properties["title"].Value), `{"default":"untitled","description":"the title","example":"Notes","type":"string"}`},
		{"file field", asJSON(form.Properties["doc"].Value), `{"description":"the document","format":"binary","type":"string"}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Fatalf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}
}
