package openapi_test

import (
	"context"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/responses"
)

type framingOut struct {
	Name string `json:"name"`
}

// framingDoc builds and validates a document with servers, security and
// error declarations.
func framingDoc(t *testing.T) *openapi3.T {
	t.Helper()
	out := reflect.TypeFor[framingOut]()
	info := openapi.Info{
		Title:   "shop",
		Servers: []string{"."},
		SecuritySchemes: map[string]openapi.SecurityScheme{
			"bearer":  openapi.BearerAuth("JWT"),
			"session": openapi.APIKeyCookie("session"),
			"key":     openapi.APIKeyHeader("X-API-Key"),
		},
		Security: []string{"bearer"},
	}
	ops := []openapi.Operation{
		{Method: "GET", Path: "/users/:id", Response: out, Errors: []int{404, 401}},
		{Method: "POST", Path: "/users", Response: out, Summary: "Create a user", Security: []string{"session", "key"}},
		{Method: "GET", Path: "/", Response: out, Security: []string{}},
		{Method: "GET", Path: "/old", Response: reflect.TypeFor[responses.Redirect](), Status: http.StatusMovedPermanently},
		{Method: "GET", Path: "/go", Response: reflect.TypeFor[responses.Redirect]()},
		{Method: "GET", Path: "/report", Response: reflect.TypeFor[responses.File](), ContentType: "application/pdf"},
	}
	// What a client reads: the document as JSON, loaded (build) and
	// validated.
	doc, err := build(info, ops)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	return doc
}

func TestServersAndSummaries(t *testing.T) {
	doc := framingDoc(t)
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "." {
		t.Errorf("servers %v, want [.]", doc.Servers)
	}
	tests := []struct{ method, path, summary string }{
		{"GET", "/users/{id}", "Get users by id"},
		{"POST", "/users", "Create a user"},
		{"GET", "/", "Get root"},
		{"GET", "/old", "Get old"},
	}
	for _, tt := range tests {
		if got := doc.Paths.Find(tt.path).GetOperation(tt.method).Summary; got != tt.summary {
			t.Errorf("%s %s: summary %q, want %q", tt.method, tt.path, got, tt.summary)
		}
	}
}

func TestSecurity(t *testing.T) {
	doc := framingDoc(t)
	schemes := doc.Components.SecuritySchemes
	if s := schemes["bearer"].Value; s.Type != "http" || s.Scheme != "bearer" || s.BearerFormat != "JWT" {
		t.Errorf("bearer: %+v", s)
	}
	if s := schemes["session"].Value; s.Type != "apiKey" || s.In != "cookie" || s.Name != "session" {
		t.Errorf("session: %+v", s)
	}
	names := func(reqs openapi3.SecurityRequirements) []string {
		var out []string
		for _, r := range reqs {
			for name := range r {
				out = append(out, name)
			}
		}
		slices.Sort(out)
		return out
	}
	if got := names(doc.Security); !slices.Equal(got, []string{"bearer"}) {
		t.Errorf("default security %v, want [bearer]", got)
	}
	tests := []struct {
		method, path string
		want         []string // nil: the default (no security on the operation)
		public       bool
	}{
		{"GET", "/users/{id}", nil, false},
		{"POST", "/users", []string{"key", "session"}, false},
		{"GET", "/", nil, true},
	}
	for _, tt := range tests {
		op := doc.Paths.Find(tt.path).GetOperation(tt.method)
		switch {
		case tt.public:
			if op.Security == nil || len(*op.Security) != 0 {
				t.Errorf("%s %s: security %v, want [] (public)", tt.method, tt.path, op.Security)
			}
		case tt.want == nil:
			if op.Security != nil {
				t.Errorf("%s %s: security %v, want the default", tt.method, tt.path, *op.Security)
			}
		default:
			if op.Security == nil || !slices.Equal(names(*op.Security), tt.want) {
				t.Errorf("%s %s: security %v, want %v", tt.method, tt.path, op.Security, tt.want)
			}
		}
	}
}

// TestPublicOperations checks that an operation that requires nothing
// says so, with or without security schemes declared.
func TestPublicOperations(t *testing.T) {
	ops := []openapi.Operation{
		{Method: "GET", Path: "/open", Response: reflect.TypeFor[string]()},
		{Method: "GET", Path: "/key", Response: reflect.TypeFor[string](), Security: []string{"key"}},
	}
	tests := []struct {
		name   string
		info   openapi.Info
		ops    []openapi.Operation
		public []string // the paths that say security: []
		keyed  []string // the paths that require "key"
	}{
		{"no schemes", openapi.Info{}, ops[:1], []string{"/open"}, nil},
		{"schemes, no default", openapi.Info{SecuritySchemes: map[string]openapi.SecurityScheme{"key": openapi.APIKeyHeader("X-Key")}},
			ops, []string{"/open"}, []string{"/key"}},
		{"a default", openapi.Info{SecuritySchemes: map[string]openapi.SecurityScheme{"key": openapi.APIKeyHeader("X-Key")}, Security: []string{"key"}},
			ops, nil, []string{"/key"}}, // /open inherits the document's requirement
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := build(tt.info, tt.ops)
			if err != nil {
				t.Fatal(err)
			}
			for _, op := range tt.ops {
				sec := doc.Paths.Find(op.Path).Get.Security
				switch {
				case slices.Contains(tt.public, op.Path):
					if sec == nil || len(*sec) != 0 {
						t.Errorf("%s: security %v, want []", op.Path, sec)
					}
				case slices.Contains(tt.keyed, op.Path):
					if sec == nil || len(*sec) != 1 || (*sec)[0]["key"] == nil {
						t.Errorf("%s: security %v, want [{key: []}]", op.Path, sec)
					}
				default:
					if sec != nil {
						t.Errorf("%s: security %v, want the document's", op.Path, *sec)
					}
				}
			}
			if err := doc.Validate(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
	}
}

func TestFramingErrors(t *testing.T) {
	schemes := map[string]openapi.SecurityScheme{"bearer": openapi.BearerAuth("")}
	tests := []struct {
		name string
		info openapi.Info
		op   openapi.Operation
		want string
	}{
		{"undeclared default", openapi.Info{Security: []string{"nope"}}, openapi.Operation{Method: "GET", Path: "/"}, `"nope" is not declared`},
		{"undeclared on an operation", openapi.Info{SecuritySchemes: schemes}, openapi.Operation{Method: "GET", Path: "/", Security: []string{"nope"}}, `"nope" is not declared`},
		{"bad scheme", openapi.Info{SecuritySchemes: map[string]openapi.SecurityScheme{"x": {Type: "apiKey"}}}, openapi.Operation{Method: "GET", Path: "/"}, `security scheme "x"`},
		{"error status not an error", openapi.Info{}, openapi.Operation{Method: "GET", Path: "/", Errors: []int{302}}, "302 is not a 4xx or 5xx"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := build(tt.info, []openapi.Operation{tt.op})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want one with %q", err, tt.want)
			}
		})
	}
}

func TestDeclaredResponses(t *testing.T) {
	doc := framingDoc(t)
	tests := []struct {
		method, path, status, contentType string
	}{
		{"GET", "/users/{id}", "404", responses.ProblemContentType},
		{"GET", "/users/{id}", "401", responses.ProblemContentType},
		{"GET", "/old", "301", ""},
		{"GET", "/go", "307", ""},
		{"GET", "/report", "200", "application/pdf"},
	}
	for _, tt := range tests {
		op := doc.Paths.Find(tt.path).GetOperation(tt.method)
		r := op.Responses.Value(tt.status)
		if r == nil {
			t.Errorf("%s %s: no %s answer", tt.method, tt.path, tt.status)
			continue
		}
		if tt.contentType == "" {
			if r.Value.Headers["Location"] == nil {
				t.Errorf("%s %s: %s without Location", tt.method, tt.path, tt.status)
			}
			continue
		}
		if r.Value.Content.Get(tt.contentType) == nil {
			t.Errorf("%s %s %s: no %s content", tt.method, tt.path, tt.status, tt.contentType)
		}
	}
	if op := doc.Paths.Find("/old").GetOperation("GET"); op.Responses.Value("307") != nil {
		t.Error("/old documents 307 beside its 301")
	}
}
