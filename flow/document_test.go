package flow_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/replicaflow/replicaflow/endpoint"
	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/manage"
	"github.com/replicaflow/replicaflow/openapi"
	"github.com/replicaflow/replicaflow/service"
)

// documented is an app with a flow-wide bearer scheme, a public endpoint,
// one that takes a session cookie and declared errors.
func documented(opts ...flow.Option) *flow.Flow {
	opts = append([]flow.Option{
		flow.Logger(slogTo(nil)),
		flow.Security("bearer", openapi.BearerAuth("JWT")),
		flow.SecurityScheme("session", openapi.APIKeyCookie("session")),
	}, opts...)
	app := flow.New(opts...)
	svc := app.Service(service.BaseRoute("/users"), service.Name("users"))
	flow.Endpoint(svc, "GET", "/{id}", func(ctx context.Context, in struct {
		ID int `path:"id"`
	}) (item, error) {
		return item{Count: in.ID}, nil
	}, endpoint.Errors(http.StatusNotFound, http.StatusUnauthorized))
	flow.Endpoint(svc, "GET", "/", func(ctx context.Context, _ none) (item, error) {
		return item{Name: "all"}, nil
	}, endpoint.Security())
	flow.Endpoint(svc, "POST", "/", func(ctx context.Context, _ none) (item, error) {
		return item{}, nil
	}, endpoint.Security("session"), endpoint.Summary("Create a user"))
	return app
}

// serveDoc serves app on loopback under prefix (stripped, as a proxy
// would) and returns the server and the document read through it.
func serveDoc(t *testing.T, app *flow.Flow, prefix, specPath string) (*httptest.Server, *openapi3.T) {
	t.Helper()
	if err := app.StartServices(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { app.Shutdown(context.Background()) })
	var h http.Handler = app
	if prefix != "" {
		h = http.StripPrefix(prefix, app)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	res, err := http.Get(srv.URL + prefix + specPath)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("%s: %d %s", specPath, res.StatusCode, b)
	}
	doc, err := openapi3.NewLoader().LoadFromData(b)
	if err != nil {
		t.Fatal(err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("invalid document: %v", err)
	}
	return srv, doc
}

// TestServersUnderPrefix checks what Swagger UI and generated clients do:
// resolve the document's server against the URL the document was read
// from, then call an operation there.
func TestServersUnderPrefix(t *testing.T) {
	tests := []struct {
		name, prefix, specPath, server string
	}{
		{"root", "", "/openapi.json", "."},
		{"under a prefix", "/api", "/openapi.json", "."},
		{"nested spec path under a prefix", "/api/v1", "/meta/openapi.json", ".."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, doc := serveDoc(t, documented(flow.Docs("/docs", tt.specPath)), tt.prefix, tt.specPath)
			if len(doc.Servers) != 1 || doc.Servers[0].URL != tt.server {
				t.Fatalf("servers %v, want [%s]", doc.Servers, tt.server)
			}
			specURL, _ := url.Parse(srv.URL + tt.prefix + tt.specPath)
			base := specURL.ResolveReference(&url.URL{Path: doc.Servers[0].URL})
			target := strings.TrimSuffix(base.String(), "/") + "/users/7"
			res, err := http.Get(target)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Errorf("GET %s: %d", target, res.StatusCode)
			}
		})
	}
}

func TestDocumentFraming(t *testing.T) {
	_, doc := serveDoc(t, documented(flow.Servers("https://api.example.com")), "", "/openapi.json")
	if len(doc.Servers) != 1 || doc.Servers[0].URL != "https://api.example.com" {
		t.Errorf("servers %v", doc.Servers)
	}
	if doc.Info.Title == "replicaflow" || doc.Info.Title == "" {
		t.Errorf("title %q", doc.Info.Title)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearer"] == nil {
		t.Errorf("default security %v", doc.Security)
	}
	tests := []struct {
		method, path, summary string
		security              []string // nil: the default
		statuses              []string // that must be there
	}{
		{"GET", "/users/{id}", "Get users by id", nil, []string{"200", "401", "404", "422"}},
		{"GET", "/users", "Get users", []string{}, []string{"200"}},
		{"POST", "/users", "Create a user", []string{"session"}, []string{"200"}},
	}
	for _, tt := range tests {
		op := doc.Paths.Find(tt.path).GetOperation(tt.method)
		if op == nil {
			t.Errorf("%s %s: not documented", tt.method, tt.path)
			continue
		}
		if op.Summary != tt.summary {
			t.Errorf("%s %s: summary %q, want %q", tt.method, tt.path, op.Summary, tt.summary)
		}
		switch {
		case tt.security == nil && op.Security != nil:
			t.Errorf("%s %s: security %v, want the default", tt.method, tt.path, *op.Security)
		case tt.security != nil && (op.Security == nil || len(*op.Security) != len(tt.security)):
			t.Errorf("%s %s: security %v, want %v", tt.method, tt.path, op.Security, tt.security)
		}
		for _, code := range tt.statuses {
			if op.Responses.Value(code) == nil {
				t.Errorf("%s %s: %s not documented", tt.method, tt.path, code)
			}
		}
	}
	if doc.Paths.Find("/healthz") != nil || doc.Paths.Find("/admin") != nil {
		t.Error("the flow's own routes are documented without DocumentOwnRoutes")
	}
}

func TestDocumentOwnRoutes(t *testing.T) {
	tests := []struct {
		name     string
		token    string
		security string // the scheme admin operations require, "" for public
	}{
		{"loopback only", "", ""},
		{"with a token", "s3cret", "adminToken"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(manage.TokenEnv, "")
			_, doc := serveDoc(t, documented(flow.DocumentOwnRoutes(), flow.Management(manage.Options{Token: tt.token})), "", "/openapi.json")
			for _, p := range []string{"/healthz", "/readyz", "/admin", "/admin/services/{name}/start"} {
				if doc.Paths.Find(p) == nil {
					t.Errorf("%s not documented", p)
				}
			}
			op := doc.Paths.Find("/admin/services").GetOperation("GET")
			var got []string
			for _, req := range *op.Security {
				for name := range req {
					got = append(got, name)
				}
			}
			if want := slices.DeleteFunc([]string{tt.security}, func(s string) bool { return s == "" }); !slices.Equal(got, want) {
				t.Errorf("admin security %v, want %v", got, want)
			}
			if _, ok := doc.Components.SecuritySchemes["adminToken"]; ok != (tt.security != "") {
				t.Errorf("adminToken scheme declared: %v", ok)
			}
		})
	}
}

func TestSecurityOptionPanics(t *testing.T) {
	mustPanic(t, "declared twice", func() {
		flow.New(flow.Security("a", openapi.BearerAuth("")), flow.SecurityScheme("a", openapi.BasicAuth()))
	})
	mustPanic(t, "needs a name", func() { flow.New(flow.Security("", openapi.BasicAuth())) })
	mustPanic(t, "empty server URL", func() { flow.Servers("") })
}
