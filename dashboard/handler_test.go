package dashboard_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/replicaflow/replicaflow/dashboard"
	"github.com/replicaflow/replicaflow/service"
)

// list is a Source over fixed services.
type list []*service.Service

func (l list) Services() []*service.Service { return l }

func newBoard(token string) *dashboard.Dashboard {
	svc := service.New(service.Name("api"), service.BaseRoute("/api"), service.Replicas(1, 4))
	return dashboard.New(list{svc}, dashboard.Token(token), dashboard.Admin("/ops"))
}

func TestHandler(t *testing.T) {
	const loop, remote = "127.0.0.1:40000", "192.0.2.7:40000"
	tests := []struct {
		name, token, method, path, peer, auth string
		want                                  int
		wantType                              string
	}{
		{"page", "", "GET", "/dashboard/", loop, "", 200, "text/html"},
		{"script", "", "GET", "/dashboard/assets/app.js", loop, "", 200, "text/javascript"},
		{"style", "", "GET", "/dashboard/assets/app.css", loop, "", 200, "text/css"},
		{"status", "", "GET", "/dashboard/api/status", loop, "", 200, "application/json"},
		{"head of the page", "", "HEAD", "/dashboard/", loop, "", 200, "text/html"},
		{"bare path redirects", "", "GET", "/dashboard", loop, "", 301, ""},
		{"unknown page", "", "GET", "/dashboard/nope", loop, "", 404, "application/problem+json"},
		{"asset directory", "", "GET", "/dashboard/assets/", loop, "", 404, "application/problem+json"},
		{"unknown asset", "", "GET", "/dashboard/assets/x.js", loop, "", 404, ""},
		{"other prefix", "", "GET", "/dashboardx", loop, "", 404, "application/problem+json"},
		{"read-only", "", "POST", "/dashboard/api/status", loop, "", 405, "application/problem+json"},
		{"bad since", "", "GET", "/dashboard/api/status?since=x", loop, "", 400, "application/problem+json"},
		{"no token: remote page refused", "", "GET", "/dashboard/", remote, "", 403, "application/problem+json"},
		{"no token: remote status refused", "", "GET", "/dashboard/api/status", remote, "", 403, "application/problem+json"},
		{"token: page is public", "s3cret", "GET", "/dashboard/", remote, "", 200, "text/html"},
		{"token: status needs it", "s3cret", "GET", "/dashboard/api/status", remote, "", 401, "application/problem+json"},
		{"token: loopback needs it too", "s3cret", "GET", "/dashboard/api/status", loop, "", 401, "application/problem+json"},
		{"token: wrong one", "s3cret", "GET", "/dashboard/api/status", remote, "Bearer nope", 401, "application/problem+json"},
		{"token: right one", "s3cret", "GET", "/dashboard/api/status", remote, "Bearer s3cret", 200, "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newBoard(tt.token).Handler()
			r := httptest.NewRequest(tt.method, "http://localhost"+tt.path, nil)
			r.RemoteAddr = tt.peer
			if tt.auth != "" {
				r.Header.Set("Authorization", tt.auth)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Fatalf("status %d, want %d: %s", w.Code, tt.want, w.Body)
			}
			if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, tt.wantType) {
				t.Errorf("content type %q, want %q", ct, tt.wantType)
			}
			if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self'") {
				t.Errorf("content security policy %q", csp)
			}
		})
	}
}

func TestStatusDocument(t *testing.T) {
	w := httptest.NewRecorder()
	r := httptest.NewRequest("GET", "http://localhost/dashboard/api/status", nil)
	r.RemoteAddr = "[::1]:4000"
	newBoard("").Handler().ServeHTTP(w, r)
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["admin"] != "/ops" || doc["metrics"] != false {
		t.Errorf("admin %v, metrics %v; want /ops, false", doc["admin"], doc["metrics"])
	}
	svcs := doc["services"].([]any)
	svc := svcs[0].(map[string]any)
	reps := svc["replicas"].(map[string]any)
	if svc["name"] != "api" || svc["state"] != "initialized" || reps["min"] != 1.0 || reps["max"] != 4.0 {
		t.Errorf("service %v", svc)
	}
	for _, k := range []string{"traffic", "last_decision", "decisions", "history", "base_route", "service_id"} {
		if _, ok := svc[k]; !ok {
			t.Errorf("service lacks %q: %v", k, svc)
		}
	}
}

func TestStartClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	d := newBoard("")
	d.Close() // not started: nothing to do
	d.Start()
	d.Start() // once
	if s := d.Status(); s.Seq != 1 {
		t.Errorf("Start samples at once: seq %d, want 1", s.Seq)
	}
	d.Close()
	d.Close()
	d.Start() // again after Close
	d.Close()
}

func TestOptionsPanic(t *testing.T) {
	tests := map[string]func(){
		"nil source": func() { dashboard.New(nil) },
		"root path":  func() { dashboard.Path("/") },
		"slash":      func() { dashboard.Path("/dash/") },
		"admin":      func() { dashboard.Admin("admin") },
		"interval":   func() { dashboard.Interval(0) },
		"history":    func() { dashboard.History(-time.Second) },
		"window":     func() { dashboard.Window(0) },
	}
	for name, fn := range tests {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if r := recover(); r == nil || !strings.HasPrefix(r.(string), "replicaflow: ") {
					t.Errorf("panic %v, want one starting with replicaflow: ", r)
				}
			}()
			fn()
		})
	}
}

func TestCustomPath(t *testing.T) {
	svc := service.New(service.Name("api"), service.BaseRoute("/api"))
	d := dashboard.New(list{svc}, dashboard.Path("/ops/board"), dashboard.Token(""))
	if d.Path() != "/ops/board" {
		t.Fatalf("path %q", d.Path())
	}
	r := httptest.NewRequest("GET", "http://localhost/ops/board/api/status", nil)
	r.RemoteAddr = "127.0.0.1:1"
	w := httptest.NewRecorder()
	d.Handler().ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
}
