package service_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/replicaflow/replicaflow/responses"
	"github.com/replicaflow/replicaflow/service"
)

type greeting struct {
	Hello string `json:"hello"`
}

type nameIn struct {
	Name string `path:"name"`
}

// routesServer serves a started service with GET, POST and catch-all routes
// over a loopback listener, so that HEAD gets the real server's semantics.
func routesServer(t *testing.T) *httptest.Server {
	t.Helper()
	svc := newService(nil, []service.Option{service.Name("r"), service.BaseRoute("/api")}, func(s *service.Service) {
		service.Handle(s, "GET", "/hello/:name", func(_ context.Context, in nameIn) (greeting, error) {
			return greeting{Hello: in.Name}, nil
		})
		service.Handle(s, "POST", "/items", func(context.Context, none) (greeting, error) { return greeting{}, nil })
		service.Handle(s, "GET", "/files/*path", func(context.Context, none) (responses.PlainText, error) {
			return responses.PlainText{Body: "file"}, nil
		})
		service.Handle(s, "GET", "/dir/", func(context.Context, none) (greeting, error) { return greeting{Hello: "dir"}, nil })
	})
	start(t, svc)
	srv := httptest.NewServer(svc)
	t.Cleanup(srv.Close)
	return srv
}

func TestRoutesHTTPSemantics(t *testing.T) {
	srv := routesServer(t)
	tests := []struct {
		name, method, path string
		status             int
		contentType        string
		body               string // a substring; "" for an empty body
		allow              string
	}{
		{"GET", "GET", "/api/hello/ada", 200, "application/json", `{"hello":"ada"}`, ""},
		{"HEAD on a GET route", "HEAD", "/api/hello/ada", 200, "application/json", "", ""},
		{"HEAD on a catch-all", "HEAD", "/api/files/a/b", 200, "text/plain", "", ""},
		{"HEAD on a POST route", "HEAD", "/api/items", 405, responses.ProblemContentType, "", "POST"},
		{"extra trailing slash", "GET", "/api/hello/ada/", 404, responses.ProblemContentType, "the route is /api/hello/:name", ""},
		{"extra trailing slash on POST", "POST", "/api/items/", 404, responses.ProblemContentType, "the route is /api/items", ""},
		{"missing trailing slash", "GET", "/api/dir", 404, responses.ProblemContentType, "the route is /api/dir/", ""},
		{"catch-all without its slash", "GET", "/api/files", 404, responses.ProblemContentType, "the route is /api/files/*path", ""},
		{"wrong case", "GET", "/api/HELLO/ada", 404, responses.ProblemContentType, "no endpoint at /api/HELLO/ada", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, err := http.NewRequest(tt.method, srv.URL+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			res, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != tt.status {
				t.Fatalf("status %d, want %d: %s", res.StatusCode, tt.status, b)
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, tt.contentType) {
				t.Errorf("Content-Type %q, want %q", ct, tt.contentType)
			}
			if tt.method == "HEAD" && len(b) != 0 {
				t.Errorf("HEAD answered a body: %q", b)
			}
			if tt.method != "HEAD" && !strings.Contains(string(b), tt.body) {
				t.Errorf("body %q does not contain %q", b, tt.body)
			}
			if tt.allow != "" && res.Header.Get("Allow") != tt.allow {
				t.Errorf("Allow %q, want %q", res.Header.Get("Allow"), tt.allow)
			}
		})
	}
}

// TestHeadMatchesGet checks that HEAD answers what GET does, headers and
// all, without the body.
func TestHeadMatchesGet(t *testing.T) {
	srv := routesServer(t)
	get, err := http.Get(srv.URL + "/api/hello/ada")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(get.Body)
	get.Body.Close()
	head, err := http.Head(srv.URL + "/api/hello/ada")
	if err != nil {
		t.Fatal(err)
	}
	head.Body.Close()
	if head.StatusCode != get.StatusCode {
		t.Fatalf("HEAD %d, GET %d", head.StatusCode, get.StatusCode)
	}
	for _, h := range []string{"Content-Type", "Content-Length"} {
		if head.Header.Get(h) != get.Header.Get(h) {
			t.Errorf("%s: HEAD %q, GET %q", h, head.Header.Get(h), get.Header.Get(h))
		}
	}
	if get.Header.Get("Content-Length") == "" || len(body) == 0 {
		t.Errorf("GET sent no Content-Length or no body: %q", body)
	}
}
