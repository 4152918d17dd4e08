package flow_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/replicaflow/replicaflow/flow"
	"github.com/replicaflow/replicaflow/flowtest"
	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/service"
)

func observedApp() *flow.Flow {
	app := flow.New(flow.Logger(slogTo(nil)), flow.Info("Shop", "1.2.3", "a shop"))
	svc := app.Service(service.BaseRoute("/shop"), service.Name("shop"))
	flow.Endpoint(svc, "POST", "/items/{id}", func(ctx context.Context, in struct {
		ID   int    `path:"id"`
		Name string `json:"name" binding:"required"`
	}) (item, error) {
		return item{Name: in.Name, Count: in.ID}, nil
	})
	flow.Endpoint(svc, "GET", "/fail", func(ctx context.Context, _ none) (none, error) {
		return none{}, errors.New("down")
	})
	return app
}

func TestOpenAPIFollowsServices(t *testing.T) {
	app := observedApp()
	c := flowtest.New(t, app)
	load := func() *openapi3.T {
		t.Helper()
		res := c.Get("/openapi.json")
		if res.Status != 200 {
			t.Fatalf("openapi.json: %d %s", res.Status, res.Body)
		}
		doc, err := openapi3.NewLoader().LoadFromData(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		if err := doc.Validate(context.Background()); err != nil {
			t.Fatalf("invalid document: %v", err)
		}
		return doc
	}
	doc := load()
	if doc.Info.Title != "Shop" || doc.Info.Version != "1.2.3" || doc.Paths.Find("/shop/items/{id}") == nil {
		t.Fatalf("document: %+v paths %v", doc.Info, doc.Paths.InMatchingOrder())
	}
	extra := service.New(service.BaseRoute("/extra"))
	flow.Endpoint(extra, "GET", "/", func(ctx context.Context, _ none) (string, error) { return "x", nil })
	app.AddService(extra)
	if load().Paths.Find("/extra") == nil {
		t.Fatal("the document did not follow an added service")
	}
	flow.Endpoint(extra, "GET", "/more", func(ctx context.Context, _ none) (string, error) { return "y", nil })
	if load().Paths.Find("/extra/more") == nil {
		t.Fatal("the document did not follow an added endpoint")
	}
	if err := app.RemoveService(context.Background(), "extra"); err != nil {
		t.Fatal(err)
	}
	if load().Paths.Find("/extra") != nil {
		t.Fatal("the document still shows a removed service")
	}
}

func TestDocsUnderPrefix(t *testing.T) {
	app := observedApp()
	srv := httptest.NewServer(http.StripPrefix("/api", app.Handler()))
	defer srv.Close()
	client := &http.Client{}
	res, err := client.Get(srv.URL + "/api/docs")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(page), "swagger") {
		t.Fatalf("docs: %d %q", res.StatusCode, page)
	}
	base := res.Request.URL // after the redirect to index.html
	for _, m := range regexp.MustCompile(`(?:src|href)="([^"]+)"`).FindAllStringSubmatch(string(page), -1) {
		u, err := base.Parse(m[1])
		if err != nil || u.Host != base.Host {
			t.Fatalf("asset %q is not served here (no network): %v", m[1], err)
		}
		r, err := client.Get(u.String())
		if err != nil || r.StatusCode != 200 {
			t.Fatalf("asset %s: %v %v", u, r.Status, err)
		}
		r.Body.Close()
	}
	r, err := client.Get(srv.URL + "/api/openapi.json")
	if err != nil || r.StatusCode != 200 {
		t.Fatalf("spec under the prefix: %v %v", r, err)
	}
	r.Body.Close()
}

func TestMetricsCountRequests(t *testing.T) {
	c := flowtest.New(t, observedApp())
	c.Post("/shop/items/1", map[string]string{"name": "a"})
	c.Post("/shop/items/2", map[string]string{"name": "b"})
	c.Post("/shop/items/3", map[string]string{})
	c.Get("/shop/fail")
	text := c.Get("/metrics").Text()
	for _, want := range []string{
		`replicaflow_http_requests_total{endpoint="/shop/items/:id",method="POST",service="shop",status="200"} 2`,
		`replicaflow_http_requests_total{endpoint="/shop/items/:id",method="POST",service="shop",status="422"} 1`,
		`replicaflow_http_requests_total{endpoint="/shop/fail",method="GET",service="shop",status="500"} 1`,
		`replicaflow_http_request_duration_seconds_count{endpoint="/shop/items/:id",method="POST",service="shop"} 3`,
		`replicaflow_http_requests_in_flight{service="shop"} 0`,
		`replicaflow_replicas{service="shop",state="running"} 1`,
		`replicaflow_pool_requests_queued{service="shop"} 0`,
	} {
		if !strings.Contains(text, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if t.Failed() {
		t.Log(text)
	}
}

func TestMetricsAndDocsCanBeTurnedOff(t *testing.T) {
	app := flow.New(flow.Metrics(""), flow.Docs("", ""), flow.Logger(slogTo(nil)))
	c := flowtest.New(t, app)
	for _, p := range []string{"/metrics", "/openapi.json", "/docs"} {
		if res := c.Get(p); res.Status != 404 {
			t.Errorf("%s: %d, want 404", p, res.Status)
		}
	}
}

func TestHealth(t *testing.T) {
	app := observedApp()
	other := app.Service(service.BaseRoute("/later"), service.ManualStart())
	c := flowtest.New(t, app)
	if res := c.Get("/healthz"); res.Status != 200 {
		t.Fatalf("healthz %d", res.Status)
	}
	res := c.Get("/readyz")
	if res.Status != 503 || !strings.Contains(res.Problem().Detail, "later: initialized") {
		t.Fatalf("readyz with a service not started: %d %s", res.Status, res.Body)
	}
	if err := other.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	// The replica becomes ready after Start returns.
	testutil.WaitFor(t, "/readyz 200", 10*time.Second, func() bool { res = c.Get("/readyz"); return res.Status == 200 })
	var body map[string]string
	json.Unmarshal(res.Body, &body)
	if res.Status != 200 || body["status"] != "ready" {
		t.Fatalf("readyz: %d %s", res.Status, res.Body)
	}
}

// TestHealthRoutes checks that the health checks answer GET and HEAD at
// their own path only, and problem details otherwise.
func TestHealthRoutes(t *testing.T) {
	c := flowtest.New(t, flow.New(flow.Logger(slogTo(nil))))
	for _, path := range []string{"/healthz", "/readyz"} {
		tests := []struct {
			method, path string
			status       int
		}{
			{"GET", path, 200},
			{"HEAD", path, 200},
			{"POST", path, 405},
			{"DELETE", path, 405},
			{"GET", path + "/more", 404},
		}
		for _, tt := range tests {
			res := c.Request(tt.method, tt.path, nil)
			if res.Status != tt.status {
				t.Errorf("%s %s: %d, want %d", tt.method, tt.path, res.Status, tt.status)
				continue
			}
			if tt.status >= 400 {
				if p := res.Problem(); p.Status != tt.status {
					t.Errorf("%s %s: problem %+v", tt.method, tt.path, p)
				}
			}
			if tt.status == 405 && res.Header.Get("Allow") != "GET, HEAD" {
				t.Errorf("%s %s: Allow %q", tt.method, tt.path, res.Header.Get("Allow"))
			}
		}
	}
}
