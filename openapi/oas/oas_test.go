package oas_test

import (
	"encoding/json"
	"testing"

	"github.com/replicaflow/replicaflow/openapi/oas"
)

// The JSON forms OpenAPI 3.0 gives a meaning to beyond encoding/json's
// defaults.
func TestJSON(t *testing.T) {
	one := uint64(1)
	tests := []struct {
		name string
		v    any
		want string
	}{
		{"a reference stands alone", &oas.Schema{Ref: "#/components/schemas/User", Type: "object", Nullable: true},
			`{"$ref":"#/components/schemas/User"}`},
		{"also when not a pointer", oas.Schema{Ref: "#/components/schemas/User", Type: "object"},
			`{"$ref":"#/components/schemas/User"}`},
		{"a schema with no rule allows anything", &oas.Schema{}, `{}`},
		{"no other properties", &oas.Schema{Type: "object", AdditionalProperties: &oas.Additional{None: true}},
			`{"type":"object","additionalProperties":false}`},
		{"other properties of a schema", &oas.Schema{Type: "object", AdditionalProperties: &oas.Additional{Schema: &oas.Schema{Type: "integer"}}},
			`{"type":"object","additionalProperties":{"type":"integer"}}`},
		{"any other property", &oas.Schema{Type: "object", AdditionalProperties: &oas.Additional{}},
			`{"type":"object","additionalProperties":true}`},
		{"zero bounds are left out, set ones kept", &oas.Schema{Type: "array", MinItems: 0, MaxItems: &one},
			`{"type":"array","maxItems":1}`},
		{"the document's requirement applies", &oas.Operation{Responses: map[string]*oas.Response{}},
			`{"responses":{}}`},
		{"no credentials needed", &oas.Operation{Responses: map[string]*oas.Response{}, Security: []oas.SecurityRequirement{}},
			`{"responses":{},"security":[]}`},
		{"a required scheme", &oas.Operation{Responses: map[string]*oas.Response{}, Security: []oas.SecurityRequirement{{"bearer": {}}}},
			`{"responses":{},"security":[{"bearer":[]}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := json.Marshal(tt.v)
			if err != nil {
				t.Fatal(err)
			}
			if string(got) != tt.want {
				t.Errorf("got  %s\nwant %s", got, tt.want)
			}
		})
	}
}

func TestPathItemOperations(t *testing.T) {
	var item oas.PathItem
	get := &oas.Operation{OperationID: "get"}
	if !item.SetOperation("GET", get) || item.Get != get || item.Operation("GET") != get {
		t.Fatal("GET did not land in its slot")
	}
	if item.SetOperation("CONNECT", &oas.Operation{}) || item.Operation("CONNECT") != nil {
		t.Fatal("CONNECT has no slot in OpenAPI 3.0")
	}
	if item.Operation("POST") != nil {
		t.Fatal("an empty slot gave an operation")
	}
	var none *oas.PathItem
	if none.Operation("GET") != nil {
		t.Fatal("a missing path item gave an operation")
	}
}
