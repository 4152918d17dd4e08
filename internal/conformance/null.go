package conformance

import "github.com/getkin/kin-openapi/openapi3"

// UntypedPermitsNull marks nullable every schema of doc that constrains
// nothing about its value's type (no type, allOf, anyOf, oneOf or not), such
// as the schema of an interface or a json.RawMessage. Such a schema allows
// any value, null included, in JSON Schema and in OpenAPI 3.0.3 (whose
// nullable only widens an explicit type); kin-openapi refuses null wherever
// nullable is not set, and linters refuse nullable without a type, so the
// judge reads the document as the specification does.
func UntypedPermitsNull(doc *openapi3.T) {
	seen := map[*openapi3.Schema]bool{}
	var walk func(*openapi3.SchemaRef)
	walk = func(ref *openapi3.SchemaRef) {
		if ref == nil || ref.Value == nil || seen[ref.Value] {
			return
		}
		sc := ref.Value
		seen[sc] = true
		if sc.Type == nil && len(sc.AllOf) == 0 && len(sc.AnyOf) == 0 && len(sc.OneOf) == 0 && sc.Not == nil {
			sc.Nullable = true
		}
		for _, p := range sc.Properties {
			walk(p)
		}
		for _, list := range []openapi3.SchemaRefs{sc.AllOf, sc.AnyOf, sc.OneOf} {
			for _, r := range list {
				walk(r)
			}
		}
		walk(sc.Items)
		walk(sc.Not)
		walk(sc.AdditionalProperties.Schema)
	}
	content := func(c openapi3.Content) {
		for _, mt := range c {
			walk(mt.Schema)
		}
	}
	if doc.Components != nil {
		for _, sc := range doc.Components.Schemas {
			walk(sc)
		}
	}
	for _, item := range doc.Paths.Map() {
		for _, op := range item.Operations() {
			for _, p := range append(item.Parameters, op.Parameters...) {
				walk(p.Value.Schema)
			}
			if op.RequestBody != nil && op.RequestBody.Value != nil {
				content(op.RequestBody.Value.Content)
			}
			for _, r := range op.Responses.Map() {
				if r.Value != nil {
					content(r.Value.Content)
					for _, h := range r.Value.Headers {
						walk(h.Value.Schema)
					}
				}
			}
		}
	}
}
