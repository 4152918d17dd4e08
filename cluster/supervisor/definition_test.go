package supervisor

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/service"
)

// workerDocument is the OpenAPI document of a worker app with a
// document-wide bearer requirement, one public endpoint and one that asks
// for an API key instead.
func workerDocument(t *testing.T, name string) map[string]any {
	t.Helper()
	app := flow.New(
		flow.Security("bearer", openapi.BearerAuth("JWT")),
		flow.SecurityScheme("key", openapi.APIKeyHeader("X-Key")),
		flow.Servers("https://worker.internal/api"),
	)
	svc := app.Service(service.Name(name), service.BaseRoute("/"))
	type Out struct {
		OK bool `json:"ok"`
	}
	h := func(context.Context, struct{}) (Out, error) { return Out{OK: true}, nil }
	flow.Endpoint(svc, "GET", "/private", h)
	flow.Endpoint(svc, "GET", "/public", h, endpoint.Security())
	flow.Endpoint(svc, "GET", "/keyed", h, endpoint.Security("key"))
	b, err := app.Spec().JSON()
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// TestMergeKeepsSecurity checks that the combined document still says which
// operations need which credentials, under the renamed schemes, that it
// drops the workers' servers, and that kin-openapi accepts it.
func TestMergeKeepsSecurity(t *testing.T) {
	paths, components := map[string]any{}, map[string]any{}
	for _, n := range []string{"alpha", "beta"} {
		mergeDocument(n, workerDocument(t, n), paths, components)
	}
	combined := map[string]any{
		"openapi": "3.0.3", "info": map[string]any{"title": "t", "version": "1"},
		"paths": paths, "components": components,
	}
	b, _ := json.Marshal(combined)
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("combined document invalid: %v\n%s", err, b)
	}
	schemes := doc.Components.SecuritySchemes
	if schemes["alpha_bearer"] == nil || schemes["beta_key"] == nil {
		t.Fatalf("schemes %v", schemes)
	}
	tests := []struct {
		path string
		want []string // the scheme names required, one requirement each; empty: public
	}{
		{"/alpha/private", []string{"alpha_bearer"}},
		{"/beta/private", []string{"beta_bearer"}},
		{"/alpha/public", nil},
		{"/beta/keyed", []string{"beta_key"}},
	}
	for _, tt := range tests {
		op := doc.Paths.Find(tt.path).Get
		if op == nil || op.Security == nil {
			t.Errorf("%s: no security requirement kept", tt.path)
			continue
		}
		var got []string
		for _, req := range *op.Security {
			for name := range req {
				if schemes[name] == nil {
					t.Errorf("%s: requirement names undeclared scheme %q", tt.path, name)
				}
				got = append(got, name)
			}
		}
		if len(got) != len(tt.want) || (len(got) == 1 && got[0] != tt.want[0]) {
			t.Errorf("%s: security %v, want %v", tt.path, got, tt.want)
		}
		if op.Servers != nil || len(doc.Paths.Find(tt.path).Servers) > 0 {
			t.Errorf("%s: a worker's servers were kept", tt.path)
		}
	}
}
