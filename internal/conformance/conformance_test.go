package conformance_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/conformance"
	"github.com/replicaflow/replicaflow/responses"
)

type In struct {
	N int `json:"n" binding:"required"`
}

type Out struct {
	Items []string          `json:"items"`
	Tags  map[string]string `json:"tags"`
}

// app has endpoints that keep to their document and some that break it.
func app(t *testing.T) *conformance.Suite {
	t.Helper()
	a := flow.New(flow.Logger(flowtest.Logger(t)))
	svc := a.Service()
	flow.Endpoint(svc, "POST", "/echo", func(_ context.Context, in In) (In, error) { return in, nil })
	flow.Endpoint(svc, "GET", "/nil", func(context.Context, struct{}) (Out, error) { return Out{}, nil })
	flow.Endpoint(svc, "GET", "/gone", func(context.Context, struct{}) (Out, error) {
		return Out{}, responses.Error(http.StatusGone, "gone") // not declared
	})
	flow.Endpoint(svc, "GET", "/declared", func(context.Context, struct{}) (Out, error) {
		return Out{}, responses.Error(http.StatusGone, "gone")
	}, endpoint.Errors(http.StatusGone))
	flow.Endpoint(svc, "GET", "/moved", func(context.Context, struct{}) (responses.Redirect, error) {
		return responses.Redirect{URL: "/nil", Status: http.StatusFound}, nil // documented 307
	})
	flow.Endpoint(svc, "GET", "/wrong", func(context.Context, struct{}) (responses.JSON, error) {
		return responses.JSON{Status: http.StatusAccepted, Body: 1}, nil // documented 200
	})
	flow.Endpoint(svc, "GET", "/strict", func(context.Context, struct {
		Q int `query:"q"`
	}) (int, error) {
		return 0, &responses.HTTPError{Status: http.StatusUnprocessableEntity, Detail: "no"} // refuses all
	})
	flowtest.New(t, a)
	return conformance.ForFlow(t, a)
}

// TestCheck checks that the harness passes answers that keep to the
// document and names each way an answer breaks it.
func TestCheck(t *testing.T) {
	s := app(t)
	json := http.Header{"Content-Type": {"application/json"}}
	tests := []struct {
		c        conformance.Case
		accepted bool
		problem  string // "" for none
	}{
		{conformance.Case{Method: "POST", Target: "/echo", Header: json, Body: []byte(`{"n":0}`)}, true, ""},
		{conformance.Case{Method: "POST", Target: "/echo", Header: json, Body: []byte(`{}`)}, false, ""},
		{conformance.Case{Method: "POST", Target: "/echo", Header: json, Body: []byte(`{"n":1} x`)}, false, ""},
		{conformance.Case{Method: "POST", Target: "/echo", Header: json, Body: []byte(`{"n":1}`), Status: 201}, true, "status 200, want 201"},
		{conformance.Case{Method: "POST", Target: "/echo", Header: json, Body: []byte(`{"n":1}`), TooLarge: true}, false, "want 413"},
		{conformance.Case{Method: "GET", Target: "/nil"}, true, ""},
		{conformance.Case{Method: "HEAD", Target: "/nil"}, true, ""},
		{conformance.Case{Method: "GET", Target: "/gone"}, true, "status 410 is not documented"},
		{conformance.Case{Method: "GET", Target: "/declared"}, true, ""},
		{conformance.Case{Method: "GET", Target: "/moved"}, true, "status 302 is not documented"},
		{conformance.Case{Method: "GET", Target: "/wrong"}, true, "status 202 is not documented"},
		{conformance.Case{Method: "GET", Target: "/strict?q=1"}, true, "the document accepts the request, but the app refused it with 422"},
		{conformance.Case{Method: "GET", Target: "/strict?q=1", Unstated: "a test"}, true, ""},
		{conformance.Case{Method: "GET", Target: "/strict?q=x"}, false, ""},
		{conformance.Case{Method: "GET", Target: "/nope"}, false, ""},
		{conformance.Case{Method: "DELETE", Target: "/nil"}, false, ""},
		{conformance.Case{Method: "GET", Target: "/nil/"}, false, ""},
	}
	for _, tt := range tests {
		r := s.Check(tt.c)
		name := tt.c.Method + " " + tt.c.Target
		if r.Accepted != tt.accepted {
			t.Errorf("%s: accepted %v, want %v (%v)", name, r.Accepted, tt.accepted, r.Refusal)
		}
		switch {
		case tt.problem == "" && len(r.Problems) > 0:
			t.Errorf("%s: problems %q, want none", name, r.Problems)
		case tt.problem != "" && !strings.Contains(strings.Join(r.Problems, "\n"), tt.problem):
			t.Errorf("%s: problems %q, want one with %q", name, r.Problems, tt.problem)
		}
	}
}

// TestGenerate checks that the cases made from the document reach every
// operation with a good request and bad variants, and that a flow that
// keeps to its document passes them.
func TestGenerate(t *testing.T) {
	s := app(t)
	names := map[string]bool{}
	for _, c := range s.Generate() {
		names[c.Name] = true
	}
	for _, want := range []string{
		"POST /echo good, required inputs",
		"POST /echo body n missing",
		"POST /echo body n not an integer",
		"POST /echo body malformed",
		"POST /echo body trailing data",
		"POST /echo body wrong media type",
		"POST /echo body empty",
		"GET /strict good, required inputs",
		"GET /strict good, all inputs",
		"GET /strict query q not an integer",
		"HEAD /nil",
		"PUT /nil unknown method",
		"GET unknown path",
	} {
		if !names[want] {
			t.Errorf("no case %q", want)
		}
	}

	// The endpoints that break their document fail; the others pass.
	broken := []string{"/gone", "/moved", "/wrong", "/strict"}
	caught := map[string]bool{}
	for _, c := range s.Generate() {
		r := s.Check(c)
		bad := ""
		for _, b := range broken {
			if strings.HasPrefix(c.Target, b) {
				bad = b
			}
		}
		switch {
		case bad == "" && len(r.Problems) > 0:
			t.Errorf("%s: %q on an endpoint that keeps to its document", c.Name, r.Problems)
		case bad != "" && len(r.Problems) > 0:
			caught[bad] = true
		}
	}
	for _, b := range broken {
		if !caught[b] {
			t.Errorf("no generated case caught %s breaking its document", b)
		}
	}
}
