package middleware_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/replicaflow/replicaflow/internal/testutil"
	"github.com/replicaflow/replicaflow/middleware"
	"github.com/replicaflow/replicaflow/responses"
)

func TestCORS(t *testing.T) {
	const app = "https://app.example.com"
	listed := middleware.CORSConfig{AllowOrigins: []string{app, "http://localhost:3000"}}
	withCreds := middleware.CORSConfig{AllowOrigins: []string{app}, AllowCredentials: true, MaxAge: time.Hour}
	wildcard := middleware.CORSConfig{AllowOrigins: []string{"*"}}
	byFunc := middleware.CORSConfig{AllowOriginFunc: func(o string) bool { return strings.HasSuffix(o, ".example.org") }}
	preflight := func(origin string) http.Header {
		return http.Header{"Origin": {origin}, "Access-Control-Request-Method": {"PUT"}, "Access-Control-Request-Headers": {"content-type"}}
	}
	tests := []struct {
		name        string
		cfg         middleware.CORSConfig
		method      string
		header      http.Header
		status      int
		reached     bool              // the handler ran
		want        map[string]string // headers expected ("" = absent)
		wantProblem bool
	}{
		{
			name: "preflight from a listed origin", cfg: listed, method: "OPTIONS", header: preflight(app),
			status: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      app,
				"Access-Control-Allow-Methods":     "GET,HEAD,POST,PUT,PATCH,DELETE",
				"Access-Control-Allow-Headers":     "Accept,Accept-Language,Content-Language,Content-Type,X-Request-Id",
				"Access-Control-Max-Age":           "600",
				"Access-Control-Allow-Credentials": "",
				"Vary":                             "Origin,Access-Control-Request-Method,Access-Control-Request-Headers",
			},
		},
		{
			name: "preflight from a refused origin", cfg: listed, method: "OPTIONS", header: preflight("https://evil.example.com"),
			status: 403, wantProblem: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Access-Control-Allow-Methods": ""},
		},
		{
			name: "simple request from a listed origin", cfg: listed, method: "GET", header: http.Header{"Origin": {"http://localhost:3000"}},
			status: 200, reached: true,
			want: map[string]string{
				"Access-Control-Allow-Origin":   "http://localhost:3000",
				"Access-Control-Expose-Headers": "X-Request-Id",
				"Access-Control-Allow-Methods":  "",
				"Vary":                          "Origin",
			},
		},
		{
			name: "simple request from a refused origin", cfg: listed, method: "POST", header: http.Header{"Origin": {"http://localhost:3001"}},
			status: 403, wantProblem: true,
			want: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "no Origin is not a CORS request", cfg: listed, method: "GET",
			status: 200, reached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "", "Vary": "Origin"},
		},
		{
			name: "own host is not a CORS request", cfg: listed, method: "GET", header: http.Header{"Origin": {"http://example.com"}},
			status: 200, reached: true,
			want: map[string]string{"Access-Control-Allow-Origin": ""},
		},
		{
			name: "credentials echo the origin", cfg: withCreds, method: "OPTIONS", header: preflight(app),
			status: 204,
			want: map[string]string{
				"Access-Control-Allow-Origin":      app,
				"Access-Control-Allow-Credentials": "true",
				"Access-Control-Max-Age":           "3600",
			},
		},
		{
			name: "credentials on a simple request", cfg: withCreds, method: "GET", header: http.Header{"Origin": {app}},
			status: 200, reached: true,
			want: map[string]string{"Access-Control-Allow-Origin": app, "Access-Control-Allow-Credentials": "true"},
		},
		{
			name: "wildcard preflight", cfg: wildcard, method: "OPTIONS", header: preflight("https://anyone.example.net"),
			status: 204,
			want:   map[string]string{"Access-Control-Allow-Origin": "*", "Access-Control-Allow-Methods": "GET,HEAD,POST,PUT,PATCH,DELETE"},
		},
		{
			name: "wildcard simple request", cfg: wildcard, method: "GET", header: http.Header{"Origin": {"https://anyone.example.net"}},
			status: 200, reached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "*", "Vary": ""},
		},
		{
			name: "origin func accepts", cfg: byFunc, method: "GET", header: http.Header{"Origin": {"https://a.example.org"}},
			status: 200, reached: true,
			want: map[string]string{"Access-Control-Allow-Origin": "https://a.example.org"},
		},
		{
			name: "origin func refuses", cfg: byFunc, method: "GET", header: http.Header{"Origin": {"https://a.example.com"}},
			status: 403, wantProblem: true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reached := false
			e := newEngine(middleware.CORS(tt.cfg))
			h := func(c *gin.Context) { reached = true; c.String(200, "ok") }
			e.GET("/r", h)
			e.POST("/r", h)
			w := serve(e, tt.method, "/r", tt.header)
			if w.Code != tt.status {
				t.Fatalf("status = %d, want %d (body %q)", w.Code, tt.status, w.Body)
			}
			if reached != tt.reached {
				t.Errorf("handler reached = %v, want %v", reached, tt.reached)
			}
			for k, v := range tt.want {
				if got := strings.Join(w.Header().Values(k), ","); got != v {
					t.Errorf("%s = %q, want %q", k, got, v)
				}
			}
			if tt.wantProblem {
				if ct := w.Header().Get("Content-Type"); ct != responses.ProblemContentType {
					t.Errorf("Content-Type = %q, want problem details", ct)
				}
				var p responses.Problem
				if err := json.Unmarshal(w.Body.Bytes(), &p); err != nil || p.Status != tt.status {
					t.Errorf("problem = %+v (%v), want status %d", p, err, tt.status)
				}
			}
		})
	}
}

func TestCORSConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		cfg  middleware.CORSConfig
		want string
	}{
		{"no origin", middleware.CORSConfig{}, "AllowOrigins is empty"},
		{"credentials with wildcard origin", middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowCredentials: true}, "AllowCredentials with AllowOrigins"},
		{"credentials with wildcard among origins", middleware.CORSConfig{AllowOrigins: []string{"https://a.com", "*"}, AllowCredentials: true}, "AllowCredentials with AllowOrigins"},
		{"credentials with wildcard headers", middleware.CORSConfig{AllowOrigins: []string{"https://a.com"}, AllowHeaders: []string{"*"}, AllowCredentials: true}, "AllowHeaders"},
		{"credentials with wildcard methods", middleware.CORSConfig{AllowOrigins: []string{"https://a.com"}, AllowMethods: []string{"*"}, AllowCredentials: true}, "AllowMethods"},
		{"credentials with wildcard expose", middleware.CORSConfig{AllowOrigins: []string{"https://a.com"}, ExposeHeaders: []string{"*"}, AllowCredentials: true}, "ExposeHeaders"},
		{"origin with a path", middleware.CORSConfig{AllowOrigins: []string{"https://a.com/"}}, "no path"},
		{"origin without scheme", middleware.CORSConfig{AllowOrigins: []string{"a.com"}}, "http://"},
		{"origin with another scheme", middleware.CORSConfig{AllowOrigins: []string{"ftp://a.com"}}, "http://"},
		{"origin func with wildcard", middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowOriginFunc: func(string) bool { return true }}, "AllowOriginFunc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			testutil.MustPanic(t, tt.want, func() { middleware.CORS(tt.cfg) })
			if h, err := middleware.NewCORS(tt.cfg); h != nil || err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCORS: %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestCORSWildcardHeadersWithoutCredentials(t *testing.T) {
	e := newEngine(middleware.CORS(middleware.CORSConfig{AllowOrigins: []string{"*"}, AllowHeaders: []string{"*"}}))
	e.GET("/r", func(c *gin.Context) {})
	w := serve(e, "OPTIONS", "/r", http.Header{"Origin": {"https://x.example"}, "Access-Control-Request-Method": {"GET"}})
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Headers") != "*" {
		t.Fatalf("status %d, Access-Control-Allow-Headers %q; want 204 and *", w.Code, w.Header().Get("Access-Control-Allow-Headers"))
	}
}
